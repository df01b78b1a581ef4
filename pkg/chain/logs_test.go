package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// spanLimitProxy stands in front of anvil like a provider with an eth_getLogs span
// limit: a request over maxSpan blocks gets the provider's JSON-RPC error, anything
// else is forwarded.
func spanLimitProxy(t *testing.T, target string, maxSpan uint64, code int, message string) (string, *atomic.Int64, *atomic.Int64) {
	t.Helper()
	var trips, refused atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trips.Add(1)
		body, _ := io.ReadAll(r.Body)
		trimmed := bytes.TrimSpace(body)
		batch := len(trimmed) > 0 && trimmed[0] == '['
		var reqs []map[string]json.RawMessage
		if batch {
			_ = json.Unmarshal(body, &reqs)
		} else {
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
					e, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": req["id"], "error": map[string]any{"code": code, "message": message}})
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
		if batch {
			_ = json.NewEncoder(w).Encode(out)
			return
		}
		_, _ = w.Write(out[0])
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &trips, &refused
}

func allLogs(t *testing.T, c *Client, q LogQuery) []types.Log {
	t.Helper()
	logs, err := c.Logs(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return logs
}

func TestLogsHalveOnProviderRangeErrors(t *testing.T) {
	t.Parallel()
	_, d := devchain.StartT(t)
	direct := New(Options{URLs: []string{d.RPCURL}, ChainID: d.ChainID})
	defer direct.Close()
	head, err := direct.HeadNumber(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// A fixed span of 45 blocks makes the halving sequence known: 45 -> 22 -> 11 -> 5 -> 2.
	if head < 44 {
		t.Fatalf("head %d: the seeded chain should span at least 45 blocks", head)
	}
	head = 44
	q := LogQuery{From: 0, To: head}
	want := allLogs(t, direct, q)
	if len(want) < 20 {
		t.Fatalf("only %d logs on the seeded chain", len(want))
	}

	providers := []struct {
		name, message string
		code          int
	}{
		{"alchemy", "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size", -32602},
		{"infura", "query returned more than 10000 results. Try with this block range [0x1, 0x4].", -32005},
		{"base", "block range too large", -32000},
	}
	for _, p := range providers {
		t.Run(p.name, func(t *testing.T) {
			url, trips, refused := spanLimitProxy(t, d.RPCURL, 4, p.code, p.message)
			c := New(Options{URLs: []string{url}, ChainID: d.ChainID})
			defer c.Close()
			var halvings int
			var lastDone, chunks uint64
			q := LogQuery{From: 0, To: head, Chunk: 64,
				OnHalve:  func(from, to uint64, err error) { halvings++ },
				Progress: func(done uint64) { lastDone, chunks = done, chunks+1 }}
			got := allLogs(t, c, q)
			if len(got) != len(want) {
				t.Fatalf("%d logs through the limited provider, %d direct", len(got), len(want))
			}
			for i := range got {
				if got[i].TxHash != want[i].TxHash || got[i].Index != want[i].Index {
					t.Fatalf("log %d differs: %s/%d vs %s/%d", i, got[i].TxHash.Hex(), got[i].Index, want[i].TxHash.Hex(), want[i].Index)
				}
			}
			// Four refusals, then the span that works is kept.
			if halvings != 4 || refused.Load() != 4 {
				t.Errorf("%d halvings, %d refusals; want 4 each", halvings, refused.Load())
			}
			if lastDone != head {
				t.Errorf("progress ended at %d, want head %d", lastDone, head)
			}
			// One round trip per refusal and per chunk, plus the chain-id guard: a
			// -32005 answer is not retried with back-off or failed over.
			if n := uint64(trips.Load()); n != 1+4+chunks {
				t.Errorf("%d HTTP round trips for %d chunks and 4 refusals, want %d", n, chunks, 1+4+chunks)
			}
		})
	}
}

func TestLogsFailOverAndRefuseEmptyRange(t *testing.T) {
	t.Parallel()
	_, d := devchain.StartT(t)
	c := New(Options{URLs: []string{deadURL(t), d.RPCURL}, ChainID: d.ChainID})
	defer c.Close()
	logs := allLogs(t, c, LogQuery{From: d.DeployBlock, To: d.DeployBlock + 10, Addresses: nil})
	if len(logs) == 0 {
		t.Fatal("no logs after failing over to the live URL")
	}
	if _, err := c.Logs(context.Background(), LogQuery{From: 10, To: 9}); err == nil || !strings.Contains(err.Error(), "after the last") {
		t.Fatalf("empty range: %v", err)
	}
	// A provider that refuses even one block gives up with a clear error.
	url, _, _ := spanLimitProxy(t, d.RPCURL, 0, -32005, "query returned more than 10000 results")
	c2 := New(Options{URLs: []string{url}, ChainID: d.ChainID})
	defer c2.Close()
	if _, err := c2.Logs(context.Background(), LogQuery{From: 1, To: 8}); err == nil || !strings.Contains(err.Error(), "single block") {
		t.Fatalf("refused single block: %v", err)
	}
}

func TestIsRangeError(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]bool{
		"query returned more than 10000 results":             true,
		"exceed maximum block range: 5000":                   true,
		"eth_getLogs is limited to a 10,000 range":           true,
		"Log response size exceeded":                         true,
		"context deadline exceeded":                          false,
		"daily request count exceeded, request rate limited": false,
		"connection refused":                                 false,
	} {
		if got := isRangeError(errString(msg)); got != want {
			t.Errorf("isRangeError(%q) = %v, want %v", msg, got, want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }
