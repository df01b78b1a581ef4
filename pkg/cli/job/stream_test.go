package job_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/job"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// gate stands between vrwxctl and anvil and holds every request that late says is
// past the point of interest until release is called (or the test ends), counting the
// held requests and those answered after them. With fail set it answers them 400 Bad
// Request; with a delay it forwards them that much later instead of holding them.
// With remember, it answers calls it has seen from memory (see answer).
type gate struct {
	URL      string
	fail     bool
	delay    time.Duration
	open     chan struct{}
	once     sync.Once
	mu       sync.Mutex
	held     int // requests waiting at the gate
	answered int // requests past the gate answered
	// memo holds the node's answers by method and parameters (nil: none kept).
	memo map[string]json.RawMessage
}

// rpcCall is one JSON-RPC request of a body, as far as the gates look at it.
type rpcCall struct {
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

// rpcCalls reads a body's requests: a batch, or a single request.
func rpcCalls(body []byte) []rpcCall {
	var calls []rpcCall
	if err := json.Unmarshal(body, &calls); err != nil {
		var one rpcCall
		if json.Unmarshal(body, &one) != nil {
			return nil
		}
		calls = []rpcCall{one}
	}
	return calls
}

// readsJobsAfter is a gate's test: a job scan's batch reading a job past id after.
func readsJobsAfter(after int64) func([]rpcCall) bool {
	jobsSel := vrwx.PackJobs(big.NewInt(0))[:4]
	return func(calls []rpcCall) bool {
		for _, q := range calls {
			var call struct {
				Input hexutil.Bytes `json:"input"`
			}
			if q.Method != "eth_call" || len(q.Params) == 0 || json.Unmarshal(q.Params[0], &call) != nil || len(call.Input) < 36 {
				continue
			}
			if bytes.Equal(call.Input[:4], jobsSel) && new(big.Int).SetBytes(call.Input[4:36]).Int64() > after {
				return true
			}
		}
		return false
	}
}

// logsFrom is a gate's test: an eth_getLogs whose range starts at or after block after.
func logsFrom(after uint64) func([]rpcCall) bool {
	return func(calls []rpcCall) bool {
		for _, q := range calls {
			var filter struct {
				FromBlock hexutil.Uint64 `json:"fromBlock"`
			}
			if q.Method == "eth_getLogs" && len(q.Params) == 1 && json.Unmarshal(q.Params[0], &filter) == nil && uint64(filter.FromBlock) >= after {
				return true
			}
		}
		return false
	}
}

func startGate(t *testing.T, upstream string, late func([]rpcCall) bool, fail bool, delay time.Duration) *gate {
	t.Helper()
	g := &gate{fail: fail, delay: delay, open: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		late := late(rpcCalls(body))
		if late && g.fail {
			http.Error(w, "no", http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		delay := g.delay
		g.mu.Unlock()
		if late && delay > 0 {
			time.Sleep(delay)
		} else if late {
			g.mu.Lock()
			g.held++
			g.mu.Unlock()
			select {
			case <-g.open:
			case <-r.Context().Done():
				return
			}
		}
		answer, err := g.answer(upstream, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
		if late {
			g.mu.Lock()
			g.answered++
			g.mu.Unlock()
		}
	}))
	t.Cleanup(func() { g.release(); srv.Close() })
	g.URL = srv.URL
	return g
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// remember makes the gate keep the node's answers and give them again to the same
// calls: a test that times a scan against --timeout runs it once to fill the memory,
// then times the second run, whose pace is then the gate's delay alone — not the
// node's, which a loaded machine can stretch past the 1.3 s an attempt may take.
func (g *gate) remember() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.memo = map[string]json.RawMessage{}
}

func (g *gate) setDelay(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.delay = d
}

// answer is the node's answer to body: from memory when every call of it was
// answered before (results only; an error is asked again), else from upstream.
func (g *gate) answer(upstream string, body []byte) ([]byte, error) {
	type call struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	type reply struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Result  json.RawMessage `json:"result,omitempty"`
		Error   json.RawMessage `json:"error,omitempty"`
	}
	var calls []call
	single := json.Unmarshal(body, &calls) != nil
	if single {
		var one call
		if json.Unmarshal(body, &one) != nil {
			single, calls = false, nil
		} else {
			calls = []call{one}
		}
	}
	key := func(c call) string { return c.Method + " " + string(c.Params) }
	g.mu.Lock()
	memo := g.memo
	var replies []reply
	for _, c := range calls {
		r, ok := memo[key(c)]
		if !ok {
			replies = nil
			break
		}
		replies = append(replies, reply{JSONRPC: "2.0", ID: c.ID, Result: r})
	}
	g.mu.Unlock()
	if memo != nil && len(calls) > 0 && len(replies) == len(calls) {
		if single {
			return json.Marshal(replies[0])
		}
		return json.Marshal(replies)
	}
	resp, err := http.Post(upstream, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || memo == nil || resp.StatusCode != http.StatusOK {
		return out, err
	}
	var got []reply
	if single {
		var one reply
		if json.Unmarshal(out, &one) == nil {
			got = []reply{one}
		}
	} else {
		_ = json.Unmarshal(out, &got)
	}
	byID := map[string]json.RawMessage{}
	for _, r := range got {
		if len(r.Error) == 0 && len(r.Result) > 0 {
			byID[string(r.ID)] = r.Result
		}
	}
	g.mu.Lock()
	for _, c := range calls {
		if r, ok := byID[string(c.ID)]; ok {
			g.memo[key(c)] = r
		}
	}
	g.mu.Unlock()
	return out, nil
}

func (g *gate) counts() (held, answered int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held, g.answered
}

// startPiped starts the built binary with stdout on a pipe, as `vrwxctl job list |
// jq` would, and returns the lines as they arrive.
func startPiped(t *testing.T, e *clitest.Env, rpcURL string, args ...string) (*exec.Cmd, <-chan string, *bytes.Buffer, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(clitest.Binary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "RPC_URL=" + rpcURL}
	for k, v := range e.Vars {
		if k != "RPC_URL" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1<<14)
	all := &strings.Builder{}
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines, &errOut, all
}

// waitLine reads lines until one satisfies ok, failing after timeout.
func waitLine(t *testing.T, lines <-chan string, all *strings.Builder, timeout time.Duration, ok func(string) bool) bool {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, more := <-lines:
			if !more {
				return false
			}
			all.WriteString(l + "\n")
			if ok(l) {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// job list writes what it has read while the chain is still being read: with the
// node holding every read past job 1,000, the first job reaches a pipe — as JSON and
// as a table row — before the scan can end; released, the listing completes, every
// job in id order.
func TestListWritesJobsBeforeTheScanEnds(t *testing.T) {
	e := clitest.NewChain(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := devchain.SeedManyJobs(ctx, e.D.RPCURL, e.D, 2500); err != nil {
		t.Fatal(err)
	}
	total := len(e.D.Jobs) + 2500
	for _, tc := range []struct {
		name  string
		args  []string
		first func(string) bool
	}{
		{"json", []string{"job", "list", "-o", "json"}, func(l string) bool { return strings.TrimSpace(l) == `"id": "1",` }},
		{"table", []string{"job", "list"}, func(l string) bool { f := strings.Fields(l); return len(f) > 1 && f[0] == "1" && f[1] == "SETTLED" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGate(t, e.D.RPCURL, readsJobsAfter(1000), false, 0)
			cmd, lines, errOut, all := startPiped(t, e, g.URL, tc.args...)
			start := time.Now()
			if !waitLine(t, lines, all, 60*time.Second, tc.first) {
				g.release()
				_ = cmd.Wait()
				t.Fatalf("job 1 never reached the pipe while reads past job 1000 were held: the listing waits for the whole scan\nstdout so far:\n%.2000s\nstderr:\n%s", all.String(), errOut.String())
			}
			if _, answered := g.counts(); answered != 0 {
				t.Fatalf("%d reads past job 1000 were answered before job 1 was printed", answered)
			}
			t.Logf("job 1 on the pipe after %v", time.Since(start))
			g.release()
			for l := range lines {
				all.WriteString(l + "\n")
			}
			err := cmd.Wait()
			t.Logf("done after %v", time.Since(start))
			clitest.Record("vrwxctl "+strings.Join(tc.args, " "), all.String()+errOut.String(), cmd.ProcessState.ExitCode())
			if err != nil {
				t.Fatalf("exit: %v\n%s", err, errOut.String())
			}
			if held, _ := g.counts(); held == 0 {
				t.Fatal("the gate held nothing: the scan never read past job 1000")
			}
			if tc.name == "json" {
				var out job.ListJSON
				if err := json.Unmarshal([]byte(all.String()), &out); err != nil {
					t.Fatalf("stdout is not JSON: %v", err)
				}
				if len(out.Jobs) != total || out.Scanned != total {
					t.Fatalf("%d jobs of %d scanned, want %d", len(out.Jobs), out.Scanned, total)
				}
				for i, j := range out.Jobs {
					if j.ID != big.NewInt(int64(i+1)).String() {
						t.Fatalf("job %d at position %d: not in id order", i+1, i)
					}
				}
				return
			}
			rows := strings.Split(strings.TrimSpace(all.String()), "\n")
			if len(rows) != total+1 || !strings.HasPrefix(rows[len(rows)-1], big.NewInt(int64(total)).String()+"  FUNDED") {
				t.Fatalf("%d table lines, last %q; want a header and %d rows", len(rows), rows[len(rows)-1], total)
			}
		})
	}
}

// A scan that fails halfway under -o json leaves one valid JSON object on stdout: the
// jobs read before the failure and the error, with exit 1 and the error on stderr.
func TestListJSONFailingHalfwayIsStillJSON(t *testing.T) {
	e := clitest.NewChain(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := devchain.SeedManyJobs(ctx, e.D.RPCURL, e.D, 1500); err != nil {
		t.Fatal(err)
	}
	g := startGate(t, e.D.RPCURL, readsJobsAfter(1000), true, 0)
	e.Vars["RPC_URL"] = g.URL
	r := e.Exec("job", "list", "-o", "json")
	if r.Code != 1 || !strings.Contains(r.Stderr, "X ") {
		t.Fatalf("want exit 1 with the error on stderr:\n%s", r)
	}
	var out struct {
		job.ListJSON
		Error struct {
			Code    int    `json:"code"`
			Kind    string `json:"kind"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("stdout is not one JSON object (%v):\n%.3000s", err, r.Stdout)
	}
	if len(out.Jobs) != 1000 || out.Jobs[999].ID != "1000" || out.Error.Code != 1 || out.Error.Kind != "failed" || out.Error.Message == "" {
		t.Fatalf("%d jobs (want the 1,000 read before the failure), error %+v", len(out.Jobs), out.Error)
	}
}

// A scan that --timeout stops says how far it got and how long the whole would take,
// under -o json inside the document it was writing, with exit 4.
func TestListStoppedByTimeoutSaysHowFarItGot(t *testing.T) {
	e := clitest.NewChain(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := devchain.SeedManyJobs(ctx, e.D.RPCURL, e.D, 5000); err != nil {
		t.Fatal(err)
	}
	// A first scan, not timed, leaves every answer in the gate's memory: the timed
	// one below is then paced by the gate alone, not by anvil, which a loaded
	// machine slows past the 1.3 s one attempt may take under --timeout 4s.
	g := startGate(t, e.D.RPCURL, readsJobsAfter(1000), false, 0)
	g.remember()
	g.release()
	e.Vars["RPC_URL"] = g.URL
	if r := e.Exec("job", "list", "-o", "json"); r.Code != 0 {
		t.Fatalf("the first scan: exit %d\n%.2000s", r.Code, r.Stderr)
	}
	// Reads past job 1000 answer after 500 ms: 40 batches, 4 at a time, take 5 s,
	// more than the 4 s the scan is given (each request stays well inside the 1.3 s a
	// single attempt may take).
	g.setDelay(500 * time.Millisecond)
	r := e.Exec("job", "list", "-o", "json", "--timeout", "4s")
	var out struct {
		job.ListJSON
		Error struct {
			Kind    string `json:"kind"`
			Message string `json:"message"`
			Fix     string `json:"fix"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("stdout is not one JSON object (%v):\n%s", err, r)
	}
	if r.Code != 4 || out.Error.Kind != "timeout" || !strings.Contains(out.Error.Message, "stopped by --timeout after 4s") ||
		!strings.Contains(out.Error.Message, " of 5012 jobs read") || !strings.Contains(out.Error.Fix, "raise --timeout (at this rate all 5012 jobs take about") {
		t.Fatalf("want exit 4 and a timeout naming the progress:\n%+v\n%s", out.Error, r)
	}
	if len(out.Jobs) < 1000 || len(out.Jobs)%1000 != 0 || !strings.Contains(out.Error.Message, fmt.Sprintf(": %d of", len(out.Jobs))) {
		t.Fatalf("%d jobs printed; the message says %q", len(out.Jobs), out.Error.Message)
	}
	if !strings.Contains(r.Stderr, "stopped by --timeout") {
		t.Fatalf("stderr does not say why:\n%s", r.Stderr)
	}
}

// job events writes each chunk's events as soon as every chunk before it has been
// read: with the node holding every eth_getLogs past the first events' chunks, the
// first event reaches a pipe — as JSON and as a table row — before the query can
// end; released, the output is every event of the range, in block order, the same
// as one unchunked read.
func TestEventsWritesChunksBeforeTheQueryEnds(t *testing.T) {
	e := clitest.NewChain(t)
	from := fmt.Sprint(e.D.DeployBlock)
	var want job.EventsJSON
	e.MustRun(0, "job", "events", "--from-block", from, "--chunk", "1000000", "-o", "json").JSON(t, &want)
	if len(want.Events) < 10 {
		t.Fatalf("%d events on the seeded chain: fewer than this test needs", len(want.Events))
	}
	const chunk = 2
	first := want.Events[0].Block
	// Everything past the first event's chunk and the one after it waits at the gate.
	hold := first - (first-want.FromBlock)%chunk + 2*chunk
	if want.Events[len(want.Events)-1].Block < hold {
		t.Fatalf("every event is in the first chunks (blocks %d..%d): nothing to hold back", first, want.Events[len(want.Events)-1].Block)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		first func(string) bool
	}{
		{"json", []string{"-o", "json"}, func(l string) bool { return strings.TrimSpace(l) == fmt.Sprintf(`"block": %d,`, first) }},
		{"table", nil, func(l string) bool { f := strings.Fields(l); return len(f) > 2 && f[0] == fmt.Sprint(first) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGate(t, e.D.RPCURL, logsFrom(hold), false, 0)
			args := append([]string{"job", "events", "--from-block", from, "--to-block", fmt.Sprint(want.ToBlock), "--chunk", fmt.Sprint(chunk)}, tc.args...)
			cmd, lines, errOut, all := startPiped(t, e, g.URL, args...)
			if !waitLine(t, lines, all, 60*time.Second, tc.first) {
				g.release()
				_ = cmd.Wait()
				t.Fatalf("the first event (block %d) never reached the pipe while chunks from block %d were held: the output waits for the whole query\nstdout so far:\n%.2000s\nstderr:\n%s", first, hold, all.String(), errOut.String())
			}
			if _, answered := g.counts(); answered != 0 {
				t.Fatalf("%d chunks from block %d were answered before the first event was printed", answered, hold)
			}
			// The chunks after it are asked for together, not one after another.
			deadline := time.Now().Add(10 * time.Second)
			for held, _ := g.counts(); held < 2; held, _ = g.counts() {
				if time.Now().After(deadline) {
					t.Fatalf("%d chunk(s) from block %d out at once: chunks are not asked for several at a time", held, hold)
				}
				time.Sleep(10 * time.Millisecond)
			}
			g.release()
			for l := range lines {
				all.WriteString(l + "\n")
			}
			err := cmd.Wait()
			clitest.Record("vrwxctl "+strings.Join(args, " "), all.String()+errOut.String(), cmd.ProcessState.ExitCode())
			if err != nil {
				t.Fatalf("exit: %v\n%s", err, errOut.String())
			}
			if tc.name == "json" {
				var got job.EventsJSON
				if err := json.Unmarshal([]byte(all.String()), &got); err != nil {
					t.Fatalf("stdout is not JSON: %v", err)
				}
				if len(got.Events) != len(want.Events) {
					t.Fatalf("%d events, want %d", len(got.Events), len(want.Events))
				}
				for i := range got.Events {
					g, w := got.Events[i], want.Events[i]
					if g.Block != w.Block || g.TxHash != w.TxHash || g.LogIndex != w.LogIndex || g.Event != w.Event {
						t.Fatalf("event %d is %s at block %d #%d, want %s at block %d #%d", i, g.Event, g.Block, g.LogIndex, w.Event, w.Block, w.LogIndex)
					}
				}
				return
			}
			rows := strings.Split(strings.TrimSpace(all.String()), "\n")
			if len(rows) != len(want.Events)+1 {
				t.Fatalf("%d table lines, want a header and %d rows:\n%s", len(rows), len(want.Events), all.String())
			}
			for i, row := range rows[1:] {
				f := strings.Fields(row)
				w := want.Events[i]
				if len(f) < 3 || f[0] != fmt.Sprint(w.Block) || f[2] != w.Event {
					t.Fatalf("row %d is %q, want %s at block %d", i+1, row, w.Event, w.Block)
				}
			}
		})
	}
}
