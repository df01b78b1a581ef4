package devchain

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Fault is what a FaultProxy does to a request it matches.
type Fault int

const (
	// ForwardThenDrop forwards the request, then closes the connection without an
	// answer (a reset): the node acted, the client never hears it.
	ForwardThenDrop Fault = iota + 1
	// ForwardThen503 forwards the request, then answers 503 Service Unavailable.
	ForwardThen503
	// ForwardThenHang forwards the request, then never answers.
	ForwardThenHang
	// Hang neither forwards nor answers: the request goes nowhere.
	Hang
)

// FaultProxy is a JSON-RPC HTTP proxy in front of a node that injects the faults an
// operator meets between vrwxctl and a provider: an answer lost after the node acted
// on the request, a gateway error after forwarding, an endpoint that hangs. Faults
// are matched by JSON-RPC method (in a single request or anywhere in a batch).
type FaultProxy struct {
	URL string

	upstream string
	srv      *httptest.Server
	done     chan struct{}

	mu        sync.Mutex
	rules     []faultRule
	before    map[string]func()
	hooks     map[string]func()
	forwarded map[string]int
}

type faultRule struct {
	method string // "" matches every request
	fault  Fault
	left   int // < 0: every time
}

// StartFaultProxy starts a proxy to upstream on a loopback port; it stops when the
// test ends, releasing every hanging request first.
func StartFaultProxy(t testing.TB, upstream string) *FaultProxy {
	t.Helper()
	p := &FaultProxy{upstream: upstream, done: make(chan struct{}), before: map[string]func(){}, hooks: map[string]func(){}, forwarded: map[string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	t.Cleanup(func() {
		close(p.done)
		p.srv.CloseClientConnections()
		p.srv.Close()
	})
	return p
}

// Inject applies fault to the next times requests carrying method ("" = any
// request); times < 0 applies it to every one.
func (p *FaultProxy) Inject(method string, fault Fault, times int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, faultRule{method: method, fault: fault, left: times})
}

// Clear removes every fault.
func (p *FaultProxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// AfterForward calls fn each time a request carrying method has been answered by
// the node, before the answer (or the fault) goes back to the client. A test kills
// the client here to model a crash right after the broadcast.
func (p *FaultProxy) AfterForward(method string, fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hooks[method] = fn
}

// BeforeForward calls fn each time a request carrying method arrives, before it is
// forwarded (or faulted): a test checks here what the client did before sending.
func (p *FaultProxy) BeforeForward(method string, fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.before[method] = fn
}

// Forwarded counts the requests carrying method that reached the node.
func (p *FaultProxy) Forwarded(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.forwarded[method]
}

func (p *FaultProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	methods := rpcMethods(body)
	p.mu.Lock()
	var before []func()
	for _, m := range methods {
		if fn, ok := p.before[m]; ok {
			before = append(before, fn)
		}
	}
	p.mu.Unlock()
	for _, fn := range before {
		fn()
	}
	fault, hooks := p.match(methods)
	if fault == Hang {
		p.hang(r)
		return
	}
	resp, err := http.Post(p.upstream, "application/json", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	p.mu.Lock()
	for _, m := range methods {
		p.forwarded[m]++
	}
	p.mu.Unlock()
	for _, h := range hooks {
		h()
	}
	switch fault {
	case ForwardThenDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // a reset, as a crashed load balancer sends
				}
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case ForwardThen503:
		http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
	case ForwardThenHang:
		p.hang(r)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(answer)
	}
}

func (p *FaultProxy) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-p.done:
	}
}

// match picks the first rule matching one of methods, using up one of its times,
// and the hooks for methods.
func (p *FaultProxy) match(methods []string) (Fault, []func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var hooks []func()
	for _, m := range methods {
		if h, ok := p.hooks[m]; ok {
			hooks = append(hooks, h)
		}
	}
	for i := range p.rules {
		rule := &p.rules[i]
		if rule.left == 0 {
			continue
		}
		hit := rule.method == ""
		for _, m := range methods {
			hit = hit || m == rule.method
		}
		if !hit {
			continue
		}
		if rule.left > 0 {
			rule.left--
		}
		return rule.fault, hooks
	}
	return 0, hooks
}

// rpcMethods lists the JSON-RPC methods in a request body, single or batch.
func rpcMethods(body []byte) []string {
	var one struct {
		Method string `json:"method"`
	}
	if err := json.Unmarshal(body, &one); err == nil && one.Method != "" {
		return []string{one.Method}
	}
	var batch []struct {
		Method string `json:"method"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		return nil
	}
	out := make([]string, 0, len(batch))
	for _, b := range batch {
		out = append(out, b.Method)
	}
	return out
}
