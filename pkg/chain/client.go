// Package chain is the one chain client every vrwxctl command uses: ordered failover
// across RPC URLs, the chain-id guard, JSON-RPC batching for reads, and retries with
// back-off on transient errors only.
package chain

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// Options configure a Client.
type Options struct {
	// URLs are tried in order; a dead or failing URL moves on to the next.
	URLs []string
	// ChainID is what every URL must report; a mismatch is refused (exit 3).
	ChainID uint64
	// Logf receives failover and retry notices (shown with -v). May be nil.
	Logf func(format string, args ...any)
	// MaxBatch is the most calls sent in one JSON-RPC batch (default 100; many
	// providers reject larger batches).
	MaxBatch int
	// Concurrency bounds the batches in flight at once (default 4).
	Concurrency int
	// Retries is how often a transient error is retried on one URL (default 2).
	Retries int
	// AttemptTimeout bounds one request to one URL (0: only the caller's context
	// bounds it). An endpoint that accepts the connection and then hangs would
	// otherwise hold the whole --timeout; with a bound the next URL gets its turn.
	// A timed-out attempt is not retried on the same URL.
	AttemptTimeout time.Duration
	// HTTPClient overrides the HTTP client (tests).
	HTTPClient *http.Client
	// NotListening, when set, turns the error of a request that every URL refused
	// to connect to (nothing listens there) into the caller's words: the CLI says
	// the local chain is not running and how to start it.
	NotListening func(err error) error
}

// Client is a failover JSON-RPC client bound to one expected chain.
type Client struct {
	opts Options

	mu       sync.Mutex
	idx      int
	conns    map[int]*rpc.Client
	verified bool
}

// New returns a client; it performs no I/O until the first call.
func New(opts Options) *Client {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 100
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Retries < 0 {
		opts.Retries = 0
	} else if opts.Retries == 0 {
		opts.Retries = 2
	}
	return &Client{opts: opts, conns: map[int]*rpc.Client{}}
}

// ChainID is the chain the client is bound to.
func (c *Client) ChainID() uint64 { return c.opts.ChainID }

// URL is the endpoint currently in use.
func (c *Client) URL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opts.URLs[c.idx]
}

// Close closes every open connection.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rc := range c.conns {
		rc.Close()
	}
	c.conns = map[int]*rpc.Client{}
}

func (c *Client) logf(format string, args ...any) {
	if c.opts.Logf != nil {
		c.opts.Logf(format, args...)
	}
}

func (c *Client) conn(ctx context.Context, i int) (*rpc.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rc, ok := c.conns[i]; ok {
		return rc, nil
	}
	var opts []rpc.ClientOption
	if c.opts.HTTPClient != nil {
		opts = append(opts, rpc.WithHTTPClient(c.opts.HTTPClient))
	}
	rc, err := rpc.DialOptions(ctx, c.opts.URLs[i], opts...)
	if err != nil {
		return nil, err
	}
	c.conns[i] = rc
	return rc, nil
}

// Raw returns the go-ethereum RPC client of the endpoint in use, after the chain-id
// guard has passed. Calls through it do not fail over.
func (c *Client) Raw(ctx context.Context) (*rpc.Client, error) {
	if err := c.EnsureChain(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	i := c.idx
	c.mu.Unlock()
	return c.conn(ctx, i)
}

// EnsureChain runs the chain-id guard now if no call has run it yet.
func (c *Client) EnsureChain(ctx context.Context) error {
	c.mu.Lock()
	ok := c.verified
	c.mu.Unlock()
	if ok {
		return nil
	}
	return c.BatchCall(ctx, nil)
}

// BatchCall sends elems as JSON-RPC batches. The first request on an endpoint also
// carries eth_chainId: results are handed back only when the chain id matches, so the
// guard costs no extra round trip. Per-call errors (reverts, unknown methods) are left
// in each element's Error; transport errors are retried (transient ones) and then
// fail over to the next URL.
func (c *Client) BatchCall(ctx context.Context, elems []rpc.BatchElem) error {
	if len(c.opts.URLs) == 0 {
		return errs.Usagef("no RPC URL configured").WithFix("pass --rpc-url, set RPC_URL, or set rpc_urls in the profile")
	}
	first := elems
	if len(first) > c.opts.MaxBatch {
		first = elems[:c.opts.MaxBatch]
	}
	if err := c.send(ctx, first); err != nil {
		return err
	}
	rest := elems[len(first):]
	if len(rest) == 0 {
		return nil
	}
	sem := make(chan struct{}, c.opts.Concurrency)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for start := 0; start < len(rest); start += c.opts.MaxBatch {
		end := min(start+c.opts.MaxBatch, len(rest))
		chunk := rest[start:end]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := c.send(ctx, chunk); err != nil {
				once.Do(func() { firstErr = err })
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// send delivers one batch, failing over across URLs.
func (c *Client) send(ctx context.Context, elems []rpc.BatchElem) error {
	c.mu.Lock()
	start := c.idx
	c.mu.Unlock()
	n := len(c.opts.URLs)
	var failures EndpointErrors
	hung, refused := 0, 0
	for k := 0; k < n; k++ {
		i := (start + k) % n
		err := c.sendTo(ctx, i, elems)
		if err == nil {
			c.mu.Lock()
			c.idx = i
			c.mu.Unlock()
			return nil
		}
		var e *errs.Error
		if errors.As(err, &e) && e.Kind == errs.Refused {
			return err
		}
		if ctx.Err() != nil {
			return errs.Timeoutf("RPC %s: no answer before the timeout", RedactURL(c.opts.URLs[i])).Wrap(ctx.Err()).
				WithFix("raise --timeout, or add a faster RPC with --rpc-url")
		}
		if errors.Is(err, errHung) {
			hung++
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			refused++
		}
		// Go's transport errors quote the whole URL (API key in the path, query); the
		// text is redacted here, where it becomes part of vrwxctl's message.
		failures = append(failures, EndpointError{URL: RedactURL(c.opts.URLs[i]), Err: err})
		if k+1 < n {
			c.logf("RPC %s failed (%v); trying %s", RedactURL(c.opts.URLs[i]), err, RedactURL(c.opts.URLs[(i+1)%n]))
		}
	}
	if hung == n {
		return errs.Timeoutf("no RPC endpoint answered in time").Wrap(failures).
			WithFix("check the RPC URLs and the network; raise --timeout, or add a faster RPC with --rpc-url")
	}
	err := errs.Failedf("no RPC endpoint answered").Wrap(failures).
		WithFix("check the RPC URLs and the network; add a backup with --rpc-url (repeatable, tried in order)")
	if refused == n && c.opts.NotListening != nil {
		return c.opts.NotListening(err)
	}
	return err
}

// sendTo delivers a batch to URL i with retries on transient errors.
func (c *Client) sendTo(ctx context.Context, i int, elems []rpc.BatchElem) error {
	rc, err := c.conn(ctx, i)
	if err != nil {
		return err
	}
	c.mu.Lock()
	verified := c.verified && c.idx == i
	c.mu.Unlock()
	batch := elems
	var gotID hexutil.Uint64
	if !verified {
		batch = make([]rpc.BatchElem, 0, len(elems)+1)
		batch = append(batch, rpc.BatchElem{Method: "eth_chainId", Result: &gotID})
		batch = append(batch, elems...)
	}
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err = c.attempt(ctx, rc, batch)
		if errors.Is(err, errHung) {
			return err
		}
		if err == nil || !transient(err) || attempt >= c.opts.Retries || ctx.Err() != nil {
			break
		}
		c.logf("RPC %s: %v; retrying in %s", RedactURL(c.opts.URLs[i]), err, backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff *= 2
	}
	if err != nil {
		return err
	}
	if !verified {
		if batch[0].Error != nil {
			return fmt.Errorf("eth_chainId: %w", batch[0].Error)
		}
		if uint64(gotID) != c.opts.ChainID {
			return errs.Refusedf("RPC %s is on chain %d, but the profile expects chain %d: refusing to read or send anything",
				RedactURL(c.opts.URLs[i]), uint64(gotID), c.opts.ChainID).
				WithFix("use the RPC URL of the profile's network, or choose the matching --profile")
		}
		c.mu.Lock()
		c.verified, c.idx = true, i
		c.mu.Unlock()
		copy(elems, batch[1:])
	}
	for _, e := range elems {
		if e.Error != nil && transient(e.Error) {
			return fmt.Errorf("%s: %w", e.Method, e.Error)
		}
	}
	return nil
}

// errHung marks an attempt that ran into AttemptTimeout while the caller still had
// time: the endpoint is hanging, so the next URL is tried instead of this one again.
var errHung = errors.New("no answer")

// attempt sends one batch to one endpoint, bounded by AttemptTimeout.
func (c *Client) attempt(ctx context.Context, rc *rpc.Client, batch []rpc.BatchElem) error {
	if c.opts.AttemptTimeout <= 0 {
		return rc.BatchCallContext(ctx, batch)
	}
	actx, cancel := context.WithTimeout(ctx, c.opts.AttemptTimeout)
	defer cancel()
	err := rc.BatchCallContext(actx, batch)
	if err != nil && ctx.Err() == nil && actx.Err() != nil {
		return fmt.Errorf("%w within %s", errHung, c.opts.AttemptTimeout)
	}
	return err
}

// transient reports whether err is worth retrying on the same endpoint: timeouts,
// resets, rate limits and gateway errors. A refused connection or DNS failure is a
// dead URL: move on at once.
func transient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return false
	}
	var httpErr rpc.HTTPError
	if errors.As(err, &httpErr) {
		switch httpErr.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var rpcErr rpc.Error
	if errors.As(err, &rpcErr) {
		// -32005 is the common "limit exceeded / rate limited" code.
		return rpcErr.ErrorCode() == -32005 || rpcErr.ErrorCode() == 429
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	return nodeSays(err, "eof", "connection reset")
}

// RedactURL hides credentials and API keys that providers put in URLs: user info,
// and any path or query but one short lower-case word (redact.URL, the one rule every
// output applies to URLs in text).
func RedactURL(raw string) string { return redact.URL(raw) }

// EndpointError is one RPC URL's failure to answer a request.
type EndpointError struct {
	// URL is redacted.
	URL string
	Err error
}

// EndpointErrors are the failures of every RPC URL a request was tried on, in
// failover order: errors.Is sees each one's cause (a refused connection), and a
// reader that shows one line per endpoint (status) takes each endpoint's own.
type EndpointErrors []EndpointError

func (e EndpointErrors) Error() string {
	lines := make([]string, len(e))
	for i, f := range e {
		// Go's transport errors quote the whole URL (API key in the path, query); the
		// text is redacted here, where it becomes part of vrwxctl's message.
		lines[i] = f.URL + ": " + redact.Text(f.Err.Error())
	}
	if len(lines) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("all %d failed:\n  %s", len(lines), strings.Join(lines, "\n  "))
}

// Unwrap is each endpoint's error.
func (e EndpointErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, f := range e {
		out[i] = f.Err
	}
	return out
}

// For is what the endpoint at url (redacted, as in EndpointError) failed with,
// redacted; false when it was not tried.
func (e EndpointErrors) For(url string) (string, bool) {
	for _, f := range e {
		if f.URL == url {
			return redact.Text(f.Err.Error()), true
		}
	}
	return "", false
}
