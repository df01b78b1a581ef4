// Package exporter publishes the monitor's readings as Prometheus metrics: the
// runbook's vrwx_relayer_balance_eth and the rest of its "Key Metrics to Monitor"
// that can be read from the chain, the API's /health and its database.
//
// Readings are reused for an interval, and concurrent scrapes that find them stale
// share one refresh: many scrapers (an HA Prometheus pair, a person with curl) cost
// one batched chain read per interval. A part that cannot be read is published as
// down (vrwx_chain_up, vrwx_rpc_up, vrwx_api_up, vrwx_db_up = 0) and its values are
// left out rather than repeated stale; the process keeps serving.
package exporter

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vrwx/vrwxctl/pkg/monitor"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// Options configure an Exporter.
type Options struct {
	// Read takes one set of readings; ctx carries the read timeout.
	Read func(ctx context.Context) monitor.Readings
	// Interval is how long readings are reused (default 15s).
	Interval time.Duration
	// ReadTimeout bounds one refresh (default 10s).
	ReadTimeout time.Duration
	// MaxFeePerGas is the profile's MAX_FEE_PER_GAS_GWEI in wei (nil: not published).
	MaxFeePerGas *big.Int
	Now          func() time.Time
	// Logf receives a line when a part goes down or comes back (nil: silent).
	Logf func(format string, args ...any)
	// Relay, when set, publishes the relay counters and histograms the runbook's
	// PromQL queries (relay.go), updated in the background after each refresh.
	Relay *RelayOptions
}

// Exporter serves metrics from cached readings.
type Exporter struct {
	opts    Options
	started time.Time
	relay   *relayLedger

	mu       sync.Mutex
	cur      *monitor.Readings
	inflight chan struct{}
	// Counters and the up/down state of each part, for logs.
	refreshes uint64
	errors    map[string]uint64
	state     map[string]string
}

// New returns an exporter; it reads nothing until the first scrape.
func New(opts Options) *Exporter {
	if opts.Interval <= 0 {
		opts.Interval = 15 * time.Second
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Exporter{opts: opts, started: time.Now(), errors: map[string]uint64{}, state: map[string]string{}}
	if opts.Relay != nil {
		e.relay = newRelayLedger(*opts.Relay, opts.Now, opts.Logf)
	}
	return e
}

// Readings returns readings at most Interval old, refreshing them when needed. A
// caller that finds a refresh running waits for it instead of starting another.
// The refresh does not depend on ctx (a scraper that gives up does not cancel the
// read the others wait for); ctx only bounds the wait.
func (e *Exporter) Readings(ctx context.Context) (monitor.Readings, error) {
	e.mu.Lock()
	for {
		if e.cur != nil && e.opts.Now().Sub(e.cur.At) < e.opts.Interval {
			r := *e.cur
			e.mu.Unlock()
			return r, nil
		}
		if e.inflight == nil {
			break
		}
		wait := e.inflight
		e.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return monitor.Readings{}, ctx.Err()
		}
		e.mu.Lock()
		// A refresh that just finished is fresh by definition; loop to take it.
		if e.cur != nil && e.inflight == nil {
			r := *e.cur
			e.mu.Unlock()
			return r, nil
		}
	}
	done := make(chan struct{})
	e.inflight = done
	e.mu.Unlock()

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.opts.ReadTimeout)
	r := e.opts.Read(rctx)
	cancel()

	e.mu.Lock()
	e.cur = &r
	e.refreshes++
	e.note(r)
	e.inflight = nil
	close(done)
	e.mu.Unlock()
	if e.relay != nil {
		e.relay.kick(r)
	}
	return r, nil
}

// note counts failed parts and logs transitions; the caller holds mu.
func (e *Exporter) note(r monitor.Readings) {
	mark := func(part, key string, err error) {
		if err != nil {
			e.errors[part]++
		}
		state := "up"
		if err != nil {
			state = "down: " + err.Error()
		}
		prev, seen := e.state[key]
		e.state[key] = state
		if e.opts.Logf == nil || prev == state || (!seen && err == nil) {
			return
		}
		switch {
		case err == nil:
			e.opts.Logf("%s is back up", key)
		case !seen || prev == "up":
			// Errors name what failed (the API's URL, the database's path, the RPC URL);
			// the chain read's error lists every URL it tried.
			msg := strings.Join(strings.Fields(err.Error()), " ")
			if part == "chain" {
				msg = "chain read is down: " + msg
			}
			e.opts.Logf("%s", msg)
		}
	}
	var chainErr error
	if !r.Chain.Up {
		chainErr = r.Chain.Err
	}
	mark("chain", "chain read", chainErr)
	for _, p := range r.RPCs {
		mark("rpc", "RPC "+p.URL, p.Err)
	}
	if r.API != nil {
		mark("api", "API "+r.API.URL, r.API.Err)
	}
	if r.Replica != nil {
		mark("db", "replica "+r.Replica.Location, r.Replica.Err)
	}
	if r.DLQ != nil {
		mark("db", "database "+r.DLQ.Path, r.DLQ.Err)
	}
}

// collect returns the samples of Metrics from readings at most Interval old; ctx
// bounds only the wait for a refresh another scrape started.
func (e *Exporter) collect(ctx context.Context) ([]sample, error) {
	r, err := e.Readings(ctx)
	if err != nil {
		return nil, err
	}
	var out []sample
	gauge := func(name string, v float64, labels ...string) {
		out = append(out, sample{name: name, labels: labels, value: v})
	}
	counter := gauge // a sample's line is the same; its Metric says which it is
	complete := true

	gauge("vrwx_chain_up", b2f(r.Chain.Up))
	if !r.Chain.Up {
		complete = false
	}
	for _, rl := range r.Relayers {
		if rl.Err != nil {
			complete = false
			continue
		}
		a := rl.Address.Hex()
		gauge("vrwx_relayer_balance_eth", units.WeiToEtherFloat(rl.Balance), a)
		gauge("vrwx_relayer_nonce_latest", float64(rl.NonceLatest), a)
		gauge("vrwx_relayer_nonce_pending", float64(rl.NoncePending), a)
		gauge("vrwx_relayer_pending_txs", float64(rl.Pending()), a)
	}
	if r.Gas.Err == nil && r.Gas.Price != nil {
		gauge("vrwx_gas_price_gwei", gwei(r.Gas.Price))
	} else {
		complete = false
	}
	if r.Head.Err == nil && r.Chain.Up {
		gauge("vrwx_chain_head_block", float64(r.Head.Number))
		gauge("vrwx_chain_head_timestamp_seconds", float64(r.Head.Time.Unix()))
		if r.Gas.BaseFee != nil {
			gauge("vrwx_base_fee_gwei", gwei(r.Gas.BaseFee))
		}
	} else {
		complete = false
	}
	if e.opts.MaxFeePerGas != nil {
		gauge("vrwx_max_fee_per_gas_gwei", gwei(e.opts.MaxFeePerGas))
	}
	if r.Escrow != nil {
		if r.Escrow.Err == nil {
			jc, _ := new(big.Float).SetInt(r.Escrow.JobCount).Float64()
			gauge("vrwx_escrow_job_count", jc, r.Escrow.Address.Hex())
		} else {
			complete = false
		}
	}
	for _, p := range r.RPCs {
		pos := strconv.Itoa(p.Index)
		gauge("vrwx_rpc_up", b2f(p.Up), p.URL, pos)
		if p.Latency > 0 {
			gauge("vrwx_rpc_latency_seconds", p.Latency.Seconds(), p.URL, pos)
		}
		if p.Up {
			gauge("vrwx_rpc_head_block", float64(p.Head), p.URL, pos)
			gauge("vrwx_rpc_head_lag_blocks", float64(p.Lag), p.URL, pos)
		} else {
			complete = false
		}
	}
	if r.API != nil {
		gauge("vrwx_api_up", b2f(r.API.Up))
		if r.API.Latency > 0 {
			gauge("vrwx_api_health_latency_seconds", r.API.Latency.Seconds())
		}
		if h := r.API.Health; h != nil {
			relayer := ""
			if h.RelayerAddress != nil {
				relayer = h.RelayerAddress.Hex()
			}
			gauge("vrwx_api_info", 1, relayer, h.RelayMode, strconv.FormatUint(h.ChainID, 10), h.SchemaVersionString())
		}
		if !r.API.Up {
			complete = false
		}
	}
	if r.DLQ != nil {
		gauge("vrwx_db_up", b2f(r.DLQ.Err == nil))
		if r.DLQ.Err == nil {
			gauge("vrwx_dlq_unresolved", float64(r.DLQ.Summary.Depth))
		} else {
			complete = false
		}
	}
	if r.Replica != nil {
		gauge("vrwx_db_replica_up", b2f(r.Replica.Err == nil))
		if r.Replica.Err == nil {
			gauge("vrwx_db_replica_position_timestamp_seconds", float64(r.Replica.Info.Latest.UnixMilli())/1000)
			gauge("vrwx_db_replica_age_seconds", max(0, r.Replica.Age.Seconds()))
		} else {
			complete = false
		}
	}
	gauge("vrwx_exporter_refresh_success", b2f(complete))
	gauge("vrwx_exporter_refresh_duration_seconds", r.Duration.Seconds())
	gauge("vrwx_exporter_reading_age_seconds", max(0, e.opts.Now().Sub(r.At).Seconds()))

	e.mu.Lock()
	refreshes := e.refreshes
	errs := make(map[string]uint64, 4)
	for _, part := range []string{"chain", "rpc", "api", "db"} {
		errs[part] = e.errors[part]
	}
	e.mu.Unlock()
	counter("vrwx_exporter_refreshes_total", float64(refreshes))
	for _, part := range []string{"chain", "rpc", "api", "db"} {
		counter("vrwx_exporter_read_errors_total", float64(errs[part]), part)
	}
	if e.relay != nil {
		out = e.relay.collect(out)
		e.relay.mu.Lock()
		n := e.relay.errors
		e.relay.mu.Unlock()
		counter("vrwx_exporter_read_errors_total", float64(n), "relay")
	}
	return out, nil
}

// Handler serves /metrics (Metrics, then the process's Standard ones), /healthz
// (the process is alive; it says nothing about what it monitors) and an index at /.
func (e *Exporter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		samples, err := e.collect(r.Context())
		if err != nil {
			// The scraper gave up waiting for the refresh; nobody reads this.
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", contentType)
		if writeText(w, Metrics, samples) == nil {
			_ = writeText(w, Standard, standardSamples(e.started))
		}
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "vrwxctl exporter\n\n/metrics  Prometheus metrics (readings reused for %s)\n/healthz  liveness\n", e.opts.Interval)
	})
	return mux
}

// Serve serves Handler on l until ctx is done, then shuts down gracefully (scrapes
// in flight get up to 5 s to finish) and returns nil.
func (e *Exporter) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: e.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve metrics on %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("stop serving metrics on %s: %w", l.Addr(), err)
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var weiPerGwei = big.NewInt(1_000_000_000)

func gwei(wei *big.Int) float64 {
	f, _ := new(big.Rat).SetFrac(wei, weiPerGwei).Float64()
	return f
}
