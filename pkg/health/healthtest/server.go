// Package healthtest is a local stand-in for the VRWX API's GET /health, for tests of
// everything that reads it (health, status, the exporter, key rotation). It serves
// the spec's JSON (healthsrv's answer, as scripts/devapi does) over real HTTP on a
// loopback port; the relayer address can be a function, so a rotation test serves
// the address of a secret store's current key as the restarted API would. It can answer an HTTP error or a broken body, be slow,
// and go down and come back on the same address.
package healthtest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/health/healthsrv"
)

// Options are the answer's fields (healthsrv's, shared with scripts/devapi). The
// zero value answers status "ok", chain 31337, relay mode with no relayer address.
type Options = healthsrv.Options

// Static returns a Relayer function that always reports addr.
func Static(addr common.Address) func() (common.Address, error) {
	return healthsrv.Static(addr)
}

// Server is a running /health server.
type Server struct {
	// URL is the API's base URL (http://127.0.0.1:PORT); /health is under it.
	URL string

	t    testing.TB
	addr string

	mu       sync.Mutex
	opts     Options
	code     int
	body     *string
	delay    time.Duration
	requests int
	srv      *http.Server
	done     chan struct{}
}

// New starts a server on a free loopback port and stops it when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.ChainID == 0 {
		opts.ChainID = 31337
	}
	s := &Server{t: t, opts: opts}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("healthtest: listen: %v", err)
	}
	s.addr = l.Addr().String()
	s.URL = "http://" + s.addr
	s.serve(l)
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) serve(l net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.handle)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	s.mu.Lock()
	s.srv, s.done = srv, done
	s.mu.Unlock()
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	opts, code, body, delay := s.opts, s.code, s.body, s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if code != 0 && code != http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"error":"unavailable"}`))
		return
	}
	if body != nil {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(*body))
		return
	}
	healthsrv.Write(w, opts, time.Now())
}

// SetRelayer changes the relayer function (nil: relayerAddress null).
func (s *Server) SetRelayer(f func() (common.Address, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Relayer = f
}

// SetChainID changes the reported chain id.
func (s *Server) SetChainID(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.ChainID = id
}

// SetHTTPStatus makes /health answer code with an error body (0 or 200: the normal answer).
func (s *Server) SetHTTPStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.code = code
}

// SetBody makes /health answer 200 with exactly body, until ClearBody.
func (s *Server) SetBody(body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = &body
}

// ClearBody goes back to the normal answer after SetBody.
func (s *Server) ClearBody() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = nil
}

// SetDelay makes every answer wait d first.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Requests is how many /health requests have been answered or started.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Stop takes the API down: the port refuses connections until Start.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
	}
	<-done
}

// Start brings a stopped server back on the same address.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		return
	}
	var l net.Listener
	var err error
	// The port was ours a moment ago; another process taking it in between is
	// possible but rare, and the retry covers a socket still closing.
	for i := 0; i < 50; i++ {
		if l, err = net.Listen("tcp", s.addr); err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("healthtest: listen again on %s: %v", s.addr, err)
	}
	s.serve(l)
}
