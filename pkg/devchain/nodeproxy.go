package devchain

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
)

// NodeProxy is a JSON-RPC proxy that makes the anvil behind it look like another
// kind of node: one without some methods (a geth without Otterscan, a provider that
// hides its txpool), one that lags (it serves "latest" as an older block), or one far
// away (a delay per HTTP request). Every call it does not answer itself goes to the
// real node, so what it serves is real chain state.
type NodeProxy struct {
	URL string

	upstream string
	requests atomic.Int64

	mu       sync.Mutex
	disabled []string
	lag      *uint64
	indexAt  *uint64
	delay    time.Duration
}

// StartNodeProxy starts a proxy to upstream on a loopback port until the test ends.
func StartNodeProxy(t testing.TB, upstream string) *NodeProxy {
	t.Helper()
	p := &NodeProxy{upstream: upstream}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Disable answers methods starting with any of prefixes with -32601 "method not
// found", as a node without them does.
func (p *NodeProxy) Disable(prefixes ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.disabled = append(p.disabled, prefixes...)
}

// LagAt makes the node serve block n as "latest" (and "pending"): a node stuck
// behind the chain.
func (p *NodeProxy) LagAt(n uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lag = &n
}

// IndexAt makes the node's Otterscan index stop at block n: a search from the
// head (ots_searchTransactionsBefore with block 0) answers as of block n, as an
// index that has not caught up with the chain does.
func (p *NodeProxy) IndexAt(n uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.indexAt = &n
}

// SetDelay holds every HTTP request for d before it is answered.
func (p *NodeProxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// Requests is how many HTTP requests reached the proxy.
func (p *NodeProxy) Requests() int64 { return p.requests.Load() }

type rpcMsg struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcErr         `json:"error,omitempty"`
}

type rpcErr struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (p *NodeProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	p.mu.Lock()
	disabled, lag, delay, indexAt := append([]string(nil), p.disabled...), p.lag, p.delay, p.indexAt
	p.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	trimmed := bytes.TrimSpace(body)
	batch := len(trimmed) > 0 && trimmed[0] == '['
	var msgs []rpcMsg
	if batch {
		err = json.Unmarshal(body, &msgs)
	} else {
		var m rpcMsg
		err = json.Unmarshal(body, &m)
		msgs = []rpcMsg{m}
	}
	if err != nil {
		http.Error(w, "bad JSON-RPC request", http.StatusBadRequest)
		return
	}
	answers := make([]*rpcMsg, len(msgs))
	var forward []rpcMsg
	var slots []int
	for i, m := range msgs {
		switch {
		case hasPrefix(m.Method, disabled):
			answers[i] = &rpcMsg{JSONRPC: "2.0", ID: m.ID, Error: &rpcErr{Code: -32601, Message: "the method " + m.Method + " does not exist/is not available"}}
		case lag != nil && m.Method == "eth_blockNumber":
			res, _ := json.Marshal(hexutil.EncodeUint64(*lag))
			answers[i] = &rpcMsg{JSONRPC: "2.0", ID: m.ID, Result: res}
		default:
			if lag != nil {
				m.Params = lagParams(m.Params, *lag)
			}
			if indexAt != nil && m.Method == "ots_searchTransactionsBefore" {
				m.Params = indexParams(m.Params, *indexAt)
			}
			forward = append(forward, m)
			slots = append(slots, i)
		}
	}
	if len(forward) > 0 {
		up, err := json.Marshal(forward)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp, err := http.Post(p.upstream, "application/json", bytes.NewReader(up))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		var got []rpcMsg
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
			return
		}
		byID := map[string]*rpcMsg{}
		for i := range got {
			byID[string(got[i].ID)] = &got[i]
		}
		for k, i := range slots {
			answers[i] = byID[string(forward[k].ID)]
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if batch {
		_ = json.NewEncoder(w).Encode(answers)
		return
	}
	_ = json.NewEncoder(w).Encode(answers[0])
}

func hasPrefix(method string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(method, p) {
			return true
		}
	}
	return false
}

// indexParams turns a search from the head (block 0) into one before block n+1.
func indexParams(params json.RawMessage, n uint64) json.RawMessage {
	var ps []json.RawMessage
	if json.Unmarshal(params, &ps) != nil || len(ps) < 2 {
		return params
	}
	var from uint64
	if json.Unmarshal(ps[1], &from) != nil || from != 0 {
		return params
	}
	ps[1], _ = json.Marshal(n + 1)
	out, err := json.Marshal(ps)
	if err != nil {
		return params
	}
	return out
}

// lagParams replaces the block tags "latest" and "pending" in params by block n.
func lagParams(params json.RawMessage, n uint64) json.RawMessage {
	var list []json.RawMessage
	if json.Unmarshal(params, &list) != nil {
		return params
	}
	tag, _ := json.Marshal(hexutil.EncodeUint64(n))
	for i, v := range list {
		if s := string(v); s == `"latest"` || s == `"pending"` {
			list[i] = tag
		}
	}
	out, err := json.Marshal(list)
	if err != nil {
		return params
	}
	return out
}
