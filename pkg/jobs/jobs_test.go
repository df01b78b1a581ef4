package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/jobs"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

func client(t *testing.T, url string, d *devchain.Deployment) *chain.Client {
	c := chain.New(chain.Options{URLs: []string{url}, ChainID: d.ChainID})
	t.Cleanup(c.Close)
	return c
}

// The scan reads the seeded jobs window by window and hands each one over as its
// window arrives, in id order: with 5 ids a window, the first jobs are delivered
// before the later windows are read.
func TestScanStreamsInIDOrder(t *testing.T) {
	_, d := devchain.StartT(t)
	c := client(t, d.RPCURL, d)
	ctx := context.Background()
	s, err := jobs.OpenScan(ctx, c, d.Escrow, nil, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.JobCount.Int64() != int64(len(d.Jobs)) || s.From.Int64() != 1 || s.To.Int64() != int64(len(d.Jobs)) || s.Decimals != 6 || s.Symbol != "USDC" {
		t.Fatalf("scan header %+v", s)
	}
	s.Window = 5
	var trace []string
	err = s.Each(ctx, jobs.Filter{}, func(j *vrwx.Job) error {
		trace = append(trace, "job "+j.ID.String())
		return nil
	}, func(read uint64) error { trace = append(trace, fmt.Sprint("read ", read)); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := "job 1,job 2,job 3,job 4,job 5,read 5,job 6,job 7,job 8,job 9,job 10,read 10,job 11,job 12,read 12"
	if strings.Join(trace, ",") != want {
		t.Fatalf("scan order:\n%s\nwant\n%s", strings.Join(trace, ","), want)
	}

	// A filter, a narrowed range and an error from the callback.
	s, err = jobs.OpenScan(ctx, c, d.Escrow, big.NewInt(3), big.NewInt(500), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.From.Int64() != 3 || s.To.Int64() != 12 || s.Size().Int64() != 10 {
		t.Fatalf("range %s..%s size %s, want 3..12 size 10", s.From, s.To, s.Size())
	}
	var funded []uint64
	err = s.Each(ctx, jobs.Filter{Statuses: map[vrwx.Status]bool{vrwx.StatusFunded: true}}, func(j *vrwx.Job) error {
		funded = append(funded, j.ID.Uint64())
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, id := range d.Jobs {
		st, _ := devchain.SeededStatus(name)
		inList := false
		for _, f := range funded {
			inList = inList || f == id
		}
		if (st == devchain.StatusFunded && id >= 3) != inList {
			t.Errorf("job %d (%s, status %d): listed %v", id, name, st, inList)
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := s.Each(ctx, jobs.Filter{}, func(*vrwx.Job) error { n++; return stop }, nil); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("callback error: %v after %d jobs", err, n)
	}

	// An address with no escrow says so before anything is scanned.
	if _, err := jobs.OpenScan(ctx, c, d.Buyer, nil, nil, time.Now()); err == nil || !strings.Contains(err.Error(), "jobCount() returned no data") {
		t.Fatalf("no escrow: %v", err)
	}
}

func TestFilterMatch(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	robot := vrwx.RobotIDFromName("t:r")
	j := &vrwx.Job{Status: vrwx.StatusFunded, RobotID: robot, Deadline: big.NewInt(now.Unix() - 1), SettleAfter: new(big.Int)}
	other := vrwx.RobotIDFromName("t:other")
	for _, c := range []struct {
		f    jobs.Filter
		want bool
	}{
		{jobs.Filter{}, true},
		{jobs.Filter{Statuses: map[vrwx.Status]bool{vrwx.StatusCompleted: true}}, false},
		{jobs.Filter{Robot: &robot}, true},
		{jobs.Filter{Robot: &other}, false},
		{jobs.Filter{Overdue: true}, true},
		{jobs.Filter{Settleable: true}, false},
		{jobs.Filter{Overdue: true, Settleable: true}, true},
	} {
		if got := c.f.Match(j, now); got != c.want {
			t.Errorf("%+v: %v, want %v", c.f, got, c.want)
		}
	}
}

// spanLimit stands in front of anvil like a provider that refuses eth_getLogs over
// more than maxSpan blocks, and counts the refusals.
func spanLimit(t *testing.T, target string, maxSpan uint64) (string, *atomic.Int64) {
	t.Helper()
	var refused atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var reqs []map[string]json.RawMessage
		if err := json.Unmarshal(body, &reqs); err != nil {
			var one map[string]json.RawMessage
			_ = json.Unmarshal(body, &one)
			reqs = []map[string]json.RawMessage{one}
		}
		var out []json.RawMessage
		for _, req := range reqs {
			if string(req["method"]) == `"eth_getLogs"` {
				var params []struct {
					FromBlock hexutil.Uint64 `json:"fromBlock"`
					ToBlock   hexutil.Uint64 `json:"toBlock"`
				}
				_ = json.Unmarshal(req["params"], &params)
				if len(params) == 1 && uint64(params[0].ToBlock)-uint64(params[0].FromBlock)+1 > maxSpan {
					refused.Add(1)
					e, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": req["id"], "error": map[string]any{"code": -32000, "message": "block range too large"}})
					out = append(out, e)
					continue
				}
			}
			b, _ := json.Marshal(req)
			resp, err := http.Post(target, "application/json", bytes.NewReader(b))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			rb, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out = append(out, rb)
		}
		w.Header().Set("Content-Type", "application/json")
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
			_ = json.NewEncoder(w).Encode(out)
			return
		}
		_, _ = w.Write(out[0])
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &refused
}

func events(t *testing.T, c *chain.Client, q jobs.EventQuery) (*jobs.Events, []jobs.Event) {
	t.Helper()
	ev, err := jobs.OpenEvents(context.Background(), c, q)
	if err != nil {
		t.Fatal(err)
	}
	var out []jobs.Event
	if err := ev.Each(context.Background(), func(e jobs.Event) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return ev, out
}

// Events arrive in chain order whatever the chunk size, with chunks read several at
// once; a provider's span limit halves the chunk once, not once per chunk in flight.
func TestEventsInChainOrderAcrossChunks(t *testing.T) {
	_, d := devchain.StartT(t)
	direct := client(t, d.RPCURL, d)
	base := jobs.EventQuery{Escrow: d.Escrow, Identity: d.Identity, HasIdentity: true, From: jobs.BlockRef{Number: d.DeployBlock}, To: jobs.BlockRef{Latest: true}, Chunk: 10_000}
	ev, want := events(t, direct, base)
	if len(want) < 30 || ev.From != d.DeployBlock {
		t.Fatalf("%d events from block %d", len(want), ev.From)
	}
	for i := 1; i < len(want); i++ {
		if want[i].Block < want[i-1].Block || (want[i].Block == want[i-1].Block && want[i].LogIndex <= want[i-1].LogIndex) {
			t.Fatalf("events out of chain order at %d: %+v then %+v", i, want[i-1], want[i])
		}
	}
	url, refused := spanLimit(t, d.RPCURL, 4)
	limited := client(t, url, d)
	q := base
	q.Chunk = 16
	var halvings, grows int
	q.OnHalve = func(uint64, uint64, error) { halvings++ }
	q.OnGrow = func(uint64) { grows++ }
	_, got := events(t, limited, q)
	if len(got) != len(want) {
		t.Fatalf("%d events through a 4-block provider, %d direct", len(got), len(want))
	}
	for i := range got {
		if got[i].TxHash != want[i].TxHash || got[i].LogIndex != want[i].LogIndex || got[i].Event != want[i].Event {
			t.Fatalf("event %d differs: %+v vs %+v", i, got[i], want[i])
		}
	}
	// 16 -> 8 -> 4: two refusals, plus at most one for each try at growing back to 8
	// after a run of answered chunks (none when the range ends before the grown span
	// reaches 8 blocks; pkg/chain tests the growth). A new span is asked alone, so the
	// chunks in flight with it are not refused too.
	if halvings < 2 || halvings > 2+grows || refused.Load() != int64(halvings) {
		t.Errorf("%d halvings, %d refusals, %d tries at growing; want 2 refusals and at most one per try", halvings, refused.Load(), grows)
	}

	// One job's history through its indexed topic.
	id := d.Jobs[devchain.JobSettled]
	q = base
	q.JobID = new(big.Int).SetUint64(id)
	var byJob []vrwx.EventType
	for _, et := range vrwx.EventTypes() {
		if et.ByJob {
			byJob = append(byJob, et)
		}
	}
	q.Types = byJob
	_, one := events(t, direct, q)
	var names []string
	for _, e := range one {
		if e.JobID != fmt.Sprint(id) {
			t.Errorf("event of job %s in a query for job %d", e.JobID, id)
		}
		names = append(names, e.Event)
	}
	if strings.Join(names, ",") != "JobCreated,JobCreatedV2,JobFunded,CompletionSubmitted,JobSettled,JobSettledV2" {
		t.Errorf("settled job's events: %v", names)
	}

	// A range that resolves backwards is a RangeError; without a configured registry
	// the escrow's identity() is asked.
	q = base
	q.From, q.To = jobs.BlockRef{Relative: true, Back: 1}, jobs.BlockRef{Relative: true, Back: 5}
	var re *jobs.RangeError
	if _, err := jobs.OpenEvents(context.Background(), direct, q); !errors.As(err, &re) || re.From != re.Head-1 || re.To != re.Head-5 {
		t.Fatalf("backwards range: %v", err)
	}
	q = base
	q.Identity, q.HasIdentity = [20]byte{}, false
	ev, _ = events(t, direct, q)
	if !ev.HasIdentity || ev.Identity != d.Identity || ev.IdentityUnknown {
		t.Fatalf("identity from the escrow: %+v", ev)
	}
}
