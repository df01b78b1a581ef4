package exporter

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/history"
	"github.com/vrwx/vrwxctl/pkg/monitor"
)

// The runbook's PromQL counts relay transactions (vrwx_relay_tx_total,
// _success_total, _failed_total) and their gas (vrwx_relay_gas_used_bucket); no
// part of the live system exports them. The exporter derives them from durable
// records rather than from what it happened to see:
//
//   - the chain: the relayer's transactions mined since an origin block, each
//     counted once as succeeded or reverted, with its gas used;
//   - the API's database: the TX_FAIL rows of relays that failed before the chain
//     (at estimateGas, for want of funds: the live API's usual failures), and the
//     idempotency records' request → COMPLETED times.
//
// Counters must never go backwards, across scrapes and across restarts of the
// exporter. The database part is counted over all its rows (the API keeps them), so
// a restarted exporter counts the same rows again and arrives at the same value.
// The chain part cannot be counted over all history (an account has no index, and
// nodes keep state for a limited window), so it is counted from an origin that does
// not depend on when the process started: the first block at or after the start of
// the current Window (an hour by default, aligned to the Unix epoch). A restart
// within the same window counts from the same block and arrives at the same value
// or higher; a restart in a later window counts from a later block, and its series
// carry that window in their `since` label — new series, which rate() and increase()
// take up as such, rather than a series that drops. The completion latencies are
// counted from the same instant (the records expire after a day).

// RelayOptions configure the relay counters.
type RelayOptions struct {
	Chain *chain.Client
	// DBPath is the API's database: the DLQ's failures and the completion latencies
	// ("" publishes the chain's part only).
	DBPath string
	// Window aligns the chain's origin (default an hour).
	Window time.Duration
	// Timeout bounds one update (default two minutes: the first reads a window of
	// the relayer's history).
	Timeout time.Duration
	// Limit is the most transactions one scan keeps (default 10,000).
	Limit int
}

// Histogram buckets: submitCompletionV2 uses about 100k gas; a completion takes
// seconds when the relay works and hours when it waited in the DLQ.
var (
	gasBuckets     = []float64{50_000, 75_000, 100_000, 125_000, 150_000, 200_000, 300_000, 500_000, 1_000_000}
	latencyBuckets = []float64{1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 21_600, 86_400}
)

// latencyLag leaves the newest records to the next update: one committed a moment
// after the time it wrote is still counted.
const latencyLag = 5 * time.Second

// windowStart is the start of the window of length w, counted from the Unix epoch,
// that t falls in.
func windowStart(t time.Time, w time.Duration) time.Time {
	ms := w.Milliseconds()
	return time.UnixMilli(t.UnixMilli() / ms * ms).UTC()
}

type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative
	sum    float64
	count  uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds))}
}

func (h *histogram) observe(v float64) {
	h.sum += v
	h.count++
	if i := sort.SearchFloat64s(h.bounds, v); i < len(h.bounds) {
		h.counts[i]++
	}
}

// value is the histogram as a scrape shows it: cumulative counts per bound.
func (h *histogram) value() *histValue {
	v := &histValue{bounds: h.bounds, cumulative: make([]uint64, len(h.bounds)), sum: h.sum, count: h.count}
	var c uint64
	for i := range h.bounds {
		c += h.counts[i]
		v.cumulative[i] = c
	}
	return v
}

// relayerCount is one relayer's transactions from the origin to cursor.
type relayerCount struct {
	started  bool
	cursor   uint64 // the last block counted
	nonce    uint64 // the relayer's nonce at cursor
	mined    uint64
	reverted uint64
	gas      *histogram
}

// relayLedger holds the counts; updates run one at a time, in the background of
// the refreshes that trigger them.
type relayLedger struct {
	opts RelayOptions
	now  func() time.Time
	logf func(string, ...any)

	mu       sync.Mutex
	running  bool
	since    time.Time // the window's start (zero until the first update)
	origin   uint64    // the first block at or after since
	hasOrig  bool
	relayers map[common.Address]*relayerCount
	dlqInit  bool
	dlqLast  int64
	dlqRows  uint64
	idemInit bool
	idemTo   time.Time
	latency  *histogram
	errors   uint64
}

func newRelayLedger(opts RelayOptions, now func() time.Time, logf func(string, ...any)) *relayLedger {
	if opts.Window <= 0 {
		opts.Window = time.Hour
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.Limit <= 0 {
		opts.Limit = 10_000
	}
	return &relayLedger{opts: opts, now: now, logf: logf, relayers: map[common.Address]*relayerCount{}, latency: newHistogram(latencyBuckets)}
}

// kick starts an update from these readings unless one is running.
func (l *relayLedger) kick(r monitor.Readings) {
	l.mu.Lock()
	if l.running {
		l.mu.Unlock()
		return
	}
	l.running = true
	l.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), l.opts.Timeout)
		defer cancel()
		l.update(ctx, r)
		l.mu.Lock()
		l.running = false
		l.mu.Unlock()
	}()
}

// Update brings the counts up to the readings: synchronously, for tests and for the
// first refresh of a caller that wants the counters at once.
func (l *relayLedger) update(ctx context.Context, r monitor.Readings) {
	l.mu.Lock()
	if l.since.IsZero() {
		l.since = windowStart(l.now(), l.opts.Window)
	}
	since := l.since
	l.mu.Unlock()
	if r.Chain.Up && r.Head.Err == nil {
		l.updateChain(ctx, r, since)
	}
	if l.opts.DBPath != "" {
		l.updateDB(ctx, since)
	}
}

func (l *relayLedger) note(format string, args ...any) {
	l.mu.Lock()
	l.errors++
	l.mu.Unlock()
	if l.logf != nil {
		l.logf("relay counters: "+format, args...)
	}
}

func (l *relayLedger) updateChain(ctx context.Context, r monitor.Readings, since time.Time) {
	head := r.Head.Number
	l.mu.Lock()
	hasOrig, origin := l.hasOrig, l.origin
	l.mu.Unlock()
	if !hasOrig {
		o, err := l.opts.Chain.FirstBlockSince(ctx, since, head, r.Head.Time)
		if err != nil {
			l.note("finding the first block since %s: %v", since.UTC().Format(time.RFC3339), err)
			return
		}
		l.mu.Lock()
		l.origin, l.hasOrig, origin = o, true, o
		l.mu.Unlock()
	}
	for _, rl := range r.Relayers {
		if rl.Err != nil {
			continue
		}
		l.mu.Lock()
		rc := l.relayers[rl.Address]
		if rc == nil {
			rc = &relayerCount{gas: newHistogram(gasBuckets)}
			l.relayers[rl.Address] = rc
		}
		from, started, prevNonce, cursor := origin, rc.started, rc.nonce, rc.cursor
		l.mu.Unlock()
		if started {
			if head <= cursor {
				continue
			}
			from = cursor + 1
			if rl.NonceLatest <= prevNonce {
				// Nothing was mined since: the cursor moves without a read.
				l.mu.Lock()
				rc.cursor, rc.nonce = head, rl.NonceLatest
				l.mu.Unlock()
				continue
			}
		}
		var txs []history.Tx
		if from <= head {
			var err error
			if txs, err = l.scan(ctx, rl.Address, from, head); err != nil {
				l.note("the transactions of %s in blocks %d..%d: %v", rl.Address.Hex(), from, head, err)
				continue
			}
		}
		l.mu.Lock()
		for _, t := range txs {
			rc.mined++
			if t.State == history.Reverted {
				rc.reverted++
			}
			rc.gas.observe(float64(t.GasUsed))
		}
		rc.started, rc.cursor, rc.nonce = true, head, rl.NonceLatest
		l.mu.Unlock()
	}
}

// scan returns the account's transactions mined in blocks from..to, each with its
// receipt. A search that cannot vouch for every transaction is an error, so the
// cursor stays and the next update reads the blocks again.
func (l *relayLedger) scan(ctx context.Context, a common.Address, from, to uint64) ([]history.Tx, error) {
	f := &history.Finder{Chain: l.opts.Chain, Address: a, Blocks: to - from + 1, Limit: l.opts.Limit}
	b := l.opts.Chain.NewBatch()
	q := f.Queue(b)
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	res, err := q.Finish(ctx, to)
	if err != nil {
		return nil, err
	}
	if res.More {
		return nil, fmt.Errorf("more than %d transactions: only the newest were found", l.opts.Limit)
	}
	var out []history.Tx
	for _, t := range res.Mined {
		if t.Block < from || t.Block > to {
			continue // Otterscan's page starts at the latest block
		}
		if t.State != history.Success && t.State != history.Reverted {
			return nil, fmt.Errorf("no receipt for %s", t.Hash.Hex())
		}
		out = append(out, t)
	}
	if len(res.Notes) > 0 && res.Source == "scan" {
		return nil, fmt.Errorf("%s", res.Notes[0])
	}
	return out, nil
}

func (l *relayLedger) updateDB(ctx context.Context, since time.Time) {
	l.mu.Lock()
	after, idemFrom := l.dlqLast, l.idemTo
	if !l.idemInit {
		idemFrom = since.Add(-time.Millisecond)
	}
	l.mu.Unlock()
	to := l.now().Add(-latencyLag)
	var n, last int64
	var lats []time.Duration
	err := dlq.ReadOnly(ctx, l.opts.DBPath, func(db *sql.DB) error {
		var err error
		if n, last, err = dlq.FailedBeforeChain(ctx, db, after); err != nil {
			return err
		}
		if to.After(idemFrom) {
			lats, err = dlq.CompletionLatencies(ctx, db, idemFrom, to)
		}
		return err
	})
	if err != nil {
		l.note("%v", err)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dlqInit, l.dlqLast, l.dlqRows = true, last, l.dlqRows+uint64(n)
	for _, d := range lats {
		l.latency.observe(d.Seconds())
	}
	l.idemInit = true
	if to.After(idemFrom) {
		l.idemTo = to
	} else {
		l.idemTo = idemFrom
	}
}

// collect sends the counts.
func (l *relayLedger) collect(out []sample) []sample {
	l.mu.Lock()
	defer l.mu.Unlock()
	counter := func(name string, v uint64, labels ...string) {
		out = append(out, sample{name: name, labels: labels, value: float64(v)})
	}
	since := ""
	if !l.since.IsZero() {
		since = l.since.UTC().Format(time.RFC3339)
	}
	addrs := make([]common.Address, 0, len(l.relayers))
	for a, rc := range l.relayers {
		if rc.started {
			addrs = append(addrs, a)
		}
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Hex() < addrs[j].Hex() })
	for _, a := range addrs {
		rc := l.relayers[a]
		labels := []string{"chain", a.Hex(), since}
		counter("vrwx_relay_tx_total", rc.mined, labels...)
		counter("vrwx_relay_tx_success_total", rc.mined-rc.reverted, labels...)
		counter("vrwx_relay_tx_failed_total", rc.reverted, labels...)
		out = append(out, sample{name: "vrwx_relay_gas_used", labels: []string{a.Hex(), since}, hist: rc.gas.value()},
			sample{name: "vrwx_relay_counted_block", labels: []string{a.Hex(), since}, value: float64(rc.cursor)})
	}
	if l.hasOrig {
		out = append(out, sample{name: "vrwx_relay_origin_block", labels: []string{since}, value: float64(l.origin)})
	}
	if l.dlqInit {
		counter("vrwx_relay_tx_total", l.dlqRows, "dlq", "", "")
		counter("vrwx_relay_tx_failed_total", l.dlqRows, "dlq", "", "")
	}
	if l.idemInit {
		out = append(out, sample{name: "vrwx_completion_latency_seconds", labels: []string{since}, hist: l.latency.value()})
	}
	return out
}

// relayLabels are the labels of the relay counters.
var relayLabels = []string{"source", "relayer", "since"}
