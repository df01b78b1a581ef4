// Package monitortest puts an HTTP proxy in front of a real JSON-RPC node (anvil) for
// tests of the monitor and the exporter: it counts the requests that reach the node,
// and can take the endpoint down (HTTP 503, as a load balancer with no healthy
// backend answers) or slow it, without touching the node behind it.
package monitortest

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy is a counting, breakable reverse proxy.
type Proxy struct {
	// URL is the proxy's address; use it as an RPC URL.
	URL string

	requests atomic.Int64
	down     atomic.Bool
	delay    atomic.Int64
}

// NewProxy starts a proxy to target and stops it when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("monitortest: proxy target %q: %v", target, err)
	}
	p := &Proxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if d := time.Duration(p.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if p.down.Load() {
			http.Error(w, "no healthy upstream", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Requests is how many HTTP requests reached the proxy.
func (p *Proxy) Requests() int64 { return p.requests.Load() }

// ResetRequests sets the counter back to zero.
func (p *Proxy) ResetRequests() { p.requests.Store(0) }

// SetDown makes every request fail with 503 (true) or pass through again (false).
func (p *Proxy) SetDown(down bool) { p.down.Store(down) }

// SetDelay holds every request for d before answering.
func (p *Proxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// DeadURL returns the URL of a loopback port nothing listens on: connections to it
// are refused, like an RPC host that is down.
func DeadURL(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}
