package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// logsRequest is one eth_getLogs request a logsProxy saw.
type logsRequest struct {
	From, To uint64
	Refused  bool
	// InFlight is how many eth_getLogs requests were out when this one arrived,
	// itself included.
	InFlight int
}

// logsProxy stands in front of anvil like a provider that answers eth_getLogs
// slowly, or refuses spans, as decide says for each request; it records every
// eth_getLogs request. Other requests are forwarded at once.
type logsProxy struct {
	URL      string
	mu       sync.Mutex
	inFlight int
	requests []logsRequest
}

func startLogsProxy(t *testing.T, target string, decide func(from, to uint64) (delay time.Duration, refuse bool)) *logsProxy {
	t.Helper()
	p := &logsProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params []struct {
				FromBlock hexutil.Uint64 `json:"fromBlock"`
				ToBlock   hexutil.Uint64 `json:"toBlock"`
			} `json:"params"`
		}
		if json.Unmarshal(body, &req) == nil && req.Method == "eth_getLogs" && len(req.Params) == 1 {
			from, to := uint64(req.Params[0].FromBlock), uint64(req.Params[0].ToBlock)
			delay, refuse := decide(from, to)
			p.mu.Lock()
			p.inFlight++
			p.requests = append(p.requests, logsRequest{From: from, To: to, Refused: refuse, InFlight: p.inFlight})
			p.mu.Unlock()
			defer func() { p.mu.Lock(); p.inFlight--; p.mu.Unlock() }()
			time.Sleep(delay)
			if refuse {
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "error": map[string]any{"code": -32000, "message": "block range too large"}})
				return
			}
		}
		resp, err := http.Post(target, "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *logsProxy) seen() []logsRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]logsRequest(nil), p.requests...)
}

func sameLogs(t *testing.T, got, want []types.Log) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d logs, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].TxHash != want[i].TxHash || got[i].Index != want[i].Index || got[i].BlockNumber != want[i].BlockNumber {
			t.Fatalf("log %d is block %d #%d, want block %d #%d", i, got[i].BlockNumber, got[i].Index, want[i].BlockNumber, want[i].Index)
		}
	}
}

// Several chunks are asked for at once, and the logs still come out strictly in
// chain order when later chunks are answered first; no chunk is asked for more than
// Parallel chunks ahead of the one being handed over, which is what keeps memory flat.
func TestEachLogsPipelinedInOrder(t *testing.T) {
	_, d := devchain.StartT(t)
	direct := New(Options{URLs: []string{d.RPCURL}, ChainID: d.ChainID})
	defer direct.Close()
	head, err := direct.HeadNumber(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := allLogs(t, direct, LogQuery{From: 0, To: head})
	if len(want) < 20 || head < 40 {
		t.Fatalf("%d logs over %d blocks: the seeded chain is smaller than this test needs", len(want), head)
	}
	const chunk, parallel = 4, 4
	// Every answer takes 40 ms; the second chunk's takes 400 ms, so the chunks after
	// it are answered before it and must wait for it. held counts the chunks asked
	// for and not yet handed over, as each request arrives.
	var mu sync.Mutex
	var asked, handed, mostHeld int
	p := startLogsProxy(t, d.RPCURL, func(from, to uint64) (time.Duration, bool) {
		mu.Lock()
		asked++
		mostHeld = max(mostHeld, asked-handed)
		mu.Unlock()
		if from == chunk {
			return 400 * time.Millisecond, false
		}
		return 40 * time.Millisecond, false
	})
	c := New(Options{URLs: []string{p.URL}, ChainID: d.ChainID})
	defer c.Close()
	var got []types.Log
	var done []uint64
	q := LogQuery{From: 0, To: head, Chunk: chunk, Parallel: parallel, Progress: func(d uint64) {
		mu.Lock()
		handed++
		mu.Unlock()
		done = append(done, d)
	}}
	if err := c.EachLogs(context.Background(), q, func(l []types.Log) error { got = append(got, l...); return nil }); err != nil {
		t.Fatal(err)
	}
	sameLogs(t, got, want)
	for i, d := range done {
		if d != min(head, uint64(i+1)*chunk-1) {
			t.Fatalf("chunks handed over ending at %v: not one after another in block order", done)
		}
	}
	reqs := p.seen()
	most := 0
	for _, r := range reqs {
		most = max(most, r.InFlight)
	}
	if most != parallel {
		t.Errorf("at most %d eth_getLogs requests out at once, want %d", most, parallel)
	}
	if len(reqs) != len(done) {
		t.Errorf("%d requests for %d chunks", len(reqs), len(done))
	}
	if mostHeld != parallel {
		t.Errorf("up to %d chunks asked for and not handed over, want at most (and, behind the slow chunk, exactly) %d", mostHeld, parallel)
	}
}

// A provider that refuses spans over 4 blocks for a while halves the span to 4; once
// it accepts more, the span doubles back to the query's chunk after enough answered
// chunks in a row. A try that is refused again makes the next try wait twice as long.
func TestEachLogsChunkGrowsBackAfterRangeErrors(t *testing.T) {
	a, d := devchain.StartT(t)
	ctx := context.Background()
	if err := a.RPC(ctx, nil, "anvil_mine", hexutil.Uint64(800)); err != nil {
		t.Fatal(err)
	}
	direct := New(Options{URLs: []string{d.RPCURL}, ChainID: d.ChainID})
	defer direct.Close()
	head, err := direct.HeadNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := allLogs(t, direct, LogQuery{From: 0, To: head})
	// Strict for the first 20 eth_getLogs requests: spans over 4 blocks are refused.
	const strictFor = 20
	var mu sync.Mutex
	n := 0
	p := startLogsProxy(t, d.RPCURL, func(from, to uint64) (time.Duration, bool) {
		mu.Lock()
		defer mu.Unlock()
		n++
		return 0, n <= strictFor && to-from+1 > 4
	})
	c := New(Options{URLs: []string{p.URL}, ChainID: d.ChainID})
	defer c.Close()
	var grows []uint64
	var halvings int
	var got []types.Log
	q := LogQuery{From: 0, To: head, Chunk: 32, Parallel: 4,
		OnGrow:  func(size uint64) { grows = append(grows, size) },
		OnHalve: func(from, to uint64, err error) { halvings++ }}
	if err := c.EachLogs(ctx, q, func(l []types.Log) error { got = append(got, l...); return nil }); err != nil {
		t.Fatal(err)
	}
	sameLogs(t, got, want)
	// 32, 16 and 8 refused on the way down; the first try at 8 (after 8 chunks of 4)
	// is still refused; the second (after 16 more) is answered, then 16 and 32.
	if fmt.Sprint(grows) != "[8 8 16 32]" || halvings != 4 {
		t.Errorf("span grew to %v after %d refusals; want [8 8 16 32] after 4", grows, halvings)
	}
	reqs := p.seen()
	last := reqs[len(reqs)-1]
	full := 0
	for _, r := range reqs {
		if !r.Refused && r.To-r.From+1 == 32 {
			full++
		}
	}
	if full == 0 || last.Refused {
		t.Errorf("no 32-block span answered after the provider relented; requests: %+v", reqs)
	}
}

// A chunk whose answer holds more logs than the query's target shrinks the span of
// the chunks after it, and the span does not grow back while the events stay that
// dense: the chunks held at once are bounded by logs, not only by blocks.
func TestEachLogsSizesChunksForTheTarget(t *testing.T) {
	a, d := devchain.StartT(t)
	ctx := context.Background()
	direct := New(Options{URLs: []string{d.RPCURL}, ChainID: d.ChainID})
	defer direct.Close()
	first, err := direct.HeadNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first++
	// 64 blocks of 6 logs each: the events of 2 jobs that are not stored.
	const blocks, perBlock = 64, 6
	for i := range blocks {
		if err := devchain.EmitJobEvents(ctx, a.URL, d, 1_000_000+uint64(2*i), perBlock/3); err != nil {
			t.Fatal(err)
		}
	}
	head, err := direct.HeadNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head != first+blocks-1 {
		t.Fatalf("blocks %d..%d, want %d blocks of events", first, head, blocks)
	}
	q := LogQuery{Addresses: []common.Address{d.Escrow}, From: first, To: head}
	want := allLogs(t, direct, q)
	if len(want) != blocks*perBlock {
		t.Fatalf("%d logs, want %d", len(want), blocks*perBlock)
	}
	p := startLogsProxy(t, d.RPCURL, func(from, to uint64) (time.Duration, bool) { return 0, false })
	c := New(Options{URLs: []string{p.URL}, ChainID: d.ChainID})
	defer c.Close()
	// The first span of 32 blocks holds 192 logs, 16 times the target: the spans after
	// it are 2 blocks (12 logs), and stay so however many are answered.
	const target = 12
	var got []types.Log
	var sizes []int
	var grows []uint64
	q.Chunk, q.Parallel, q.Target = 32, 4, target
	q.OnGrow = func(size uint64) { grows = append(grows, size) }
	if err := c.EachLogs(ctx, q, func(l []types.Log) error {
		got = append(got, l...)
		sizes = append(sizes, len(l))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sameLogs(t, got, want)
	if sizes[0] != 32*perBlock {
		t.Fatalf("first chunk held %d logs, want the whole first span's %d", sizes[0], 32*perBlock)
	}
	for i, n := range sizes[1:] {
		if n > target {
			t.Fatalf("chunk %d held %d logs, more than the target %d (chunks: %v)", i+1, n, target, sizes)
		}
	}
	if len(grows) != 0 {
		t.Errorf("span grew to %v while every chunk was at the target", grows)
	}
	for _, r := range p.seen()[1:] {
		if r.To-r.From+1 != 2 {
			t.Fatalf("request for blocks %d..%d after the first: want 2-block spans", r.From, r.To)
		}
	}
}
