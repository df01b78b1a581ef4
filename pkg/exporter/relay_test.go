package exporter_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/dlq/dlqtest"
	"github.com/vrwx/vrwxctl/pkg/exporter"
	"github.com/vrwx/vrwxctl/pkg/exporter/exportertest"
	"github.com/vrwx/vrwxctl/pkg/monitor"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

type relayEnv struct {
	anvil *devchain.Anvil
	d     *devchain.Deployment
	db    string
	c     *chain.Client
	// clock is every exporter's and reader's: the test moves it.
	clock *exportertest.Clock
}

// relayInterval is how long the exporters reuse readings, on the test's clock.
const relayInterval = 15 * time.Second

// exporterURL serves a fresh exporter with relay counters over the environment:
// each call is a restarted exporter process as far as the counters know.
func (env *relayEnv) exporterURL(t *testing.T) string {
	t.Helper()
	urls := []string{env.anvil.URL}
	r := &monitor.Reader{Chain: env.c, Endpoints: monitor.NewEndpoints(urls, devchain.DefaultChainID), Relayers: []common.Address{env.d.Relayer}, DBPath: env.db, Now: env.clock.Now}
	e := exporter.New(exporter.Options{Read: r.Read, Interval: relayInterval, ReadTimeout: 5 * time.Second, Logf: t.Logf, Now: env.clock.Now,
		Relay: &exporter.RelayOptions{Chain: env.c, DBPath: env.db}})
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

// waitScrape scrapes until cond holds, each scrape an interval after the last on
// the test's clock: each refreshes the readings, which starts a relay update in
// the background when none is running; cond holds once one has counted. The
// deadline only bounds a failure.
func (env *relayEnv) waitScrape(t *testing.T, url, what string, cond func(exportertest.Samples) bool) exportertest.Samples {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		env.clock.Advance(relayInterval)
		s := exportertest.Scrape(t, url)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scrape showed %s within a minute; last scrape: %v %v %v", what, s["vrwx_relay_tx_total"], s["vrwx_relay_tx_failed_total"], s["vrwx_completion_latency_seconds_count"])
		}
		time.Sleep(20 * time.Millisecond) // the background update's turn
	}
}

// oracle counts the relayer's mined and reverted transactions and their gas in
// blocks from..to by reading every block and its receipts: what the counters must say.
func (env *relayEnv) oracle(t *testing.T, from, to uint64) (mined, reverted int, gas uint64) {
	t.Helper()
	ctx := context.Background()
	for n := from; n <= to; n++ {
		var blk struct {
			Txs []struct {
				Hash common.Hash    `json:"hash"`
				From common.Address `json:"from"`
			} `json:"transactions"`
		}
		if err := env.anvil.RPC(ctx, &blk, "eth_getBlockByNumber", hexutil.EncodeUint64(n), true); err != nil {
			t.Fatal(err)
		}
		for _, tx := range blk.Txs {
			if tx.From != env.d.Relayer {
				continue
			}
			var r struct {
				Status  hexutil.Uint64 `json:"status"`
				GasUsed hexutil.Uint64 `json:"gasUsed"`
			}
			if err := env.anvil.RPC(ctx, &r, "eth_getTransactionReceipt", tx.Hash); err != nil {
				t.Fatal(err)
			}
			mined++
			gas += uint64(r.GasUsed)
			if r.Status == 0 {
				reverted++
			}
		}
	}
	return mined, reverted, gas
}

func sqliteInt(t *testing.T, path, q string, args ...any) int64 {
	t.Helper()
	db, err := apidb.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n sql.NullInt64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n.Int64
}

// The relay counters equal what the chain and the database hold: the relayer's
// transactions since the origin block (read independently, block by block), the
// TX_FAIL rows that never reached the chain, the idempotency records completed since
// the window began. New transactions and rows move them; a restarted exporter
// publishes the same series with the same values, never less.
func TestRelayCountersFollowDurableRecords(t *testing.T) {
	anvil, d := devchain.StartT(t)
	ctx := context.Background()
	b, err := dlqtest.NewBuilder(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sigCase, err := b.Sign(ctx, devchain.JobFunded, "x", 100, 10, devchain.DevKey(devchain.AccountBuyer), d.ChainID, d.Escrow)
	if err != nil {
		t.Fatal(err)
	}
	failed, err := b.Estimate(ctx, "InvalidSignature", sigCase)
	if err != nil {
		t.Fatal(err)
	}
	// The test's clock starts at the wall clock's time (the chain's blocks carry it),
	// with a minute left in its hour: the window the counters start in is the
	// restarted exporter's too.
	start := time.Now()
	if start.Add(time.Minute).Truncate(time.Hour) != start.Truncate(time.Hour) {
		start = start.Add(-2 * time.Minute)
	}
	clock := exportertest.NewClock(start)
	// Every generated row predates the window, so the rows the test adds are all the
	// window holds.
	fx, err := apidbtest.BuildFixture(ctx, filepath.Join(t.TempDir(), "vrwx.db"), apidbtest.FixtureOptions{Now: start.Add(-3 * time.Hour),
		JobCompletions: 30, Payments: 1, ChainID: int64(d.ChainID), TxFails: []apidbtest.TxFailRow{failed.Row(nil)}})
	if err != nil {
		t.Fatal(err)
	}
	env := &relayEnv{anvil: anvil, d: d, db: fx.Path, c: chain.New(chain.Options{URLs: []string{anvil.URL}, ChainID: d.ChainID}), clock: clock}
	t.Cleanup(env.c.Close)
	url := env.exporterURL(t)
	relayer := d.Relayer.Hex()

	s := env.waitScrape(t, url, "the first counts", func(s exportertest.Samples) bool {
		_, ok := s.Get("vrwx_relay_tx_total", "source", "chain", "relayer", relayer)
		_, ok2 := s.Get("vrwx_relay_tx_total", "source", "dlq")
		_, ok3 := s.Get("vrwx_completion_latency_seconds_count")
		return ok && ok2 && ok3
	})
	since := s["vrwx_relay_origin_block"][0].Labels["since"]
	sinceT, err := time.Parse(time.RFC3339, since)
	if err != nil || !sinceT.Equal(start.Truncate(time.Hour)) {
		t.Fatalf("since %q: want the start of this hour", since)
	}
	origin := uint64(must(t, s, "vrwx_relay_origin_block"))
	// The origin is the first block at or after since.
	var before, at struct {
		Time hexutil.Uint64 `json:"timestamp"`
	}
	if origin > 0 {
		if err := anvil.RPC(ctx, &before, "eth_getBlockByNumber", hexutil.EncodeUint64(origin-1), false); err != nil {
			t.Fatal(err)
		}
		if int64(before.Time) >= sinceT.Unix() {
			t.Errorf("block %d before the origin is at %d, not before %s", origin-1, before.Time, since)
		}
	}
	if err := anvil.RPC(ctx, &at, "eth_getBlockByNumber", hexutil.EncodeUint64(origin), false); err == nil && int64(at.Time) != 0 && int64(at.Time) < sinceT.Unix() {
		t.Errorf("the origin block %d is at %d, before %s", origin, at.Time, since)
	}

	check := func(s exportertest.Samples, what string) {
		t.Helper()
		counted := uint64(must(t, s, "vrwx_relay_counted_block", "relayer", relayer))
		mined, reverted, gas := env.oracle(t, origin, counted)
		for _, c := range []struct {
			name string
			want float64
		}{{"vrwx_relay_tx_total", float64(mined)}, {"vrwx_relay_tx_success_total", float64(mined - reverted)}, {"vrwx_relay_tx_failed_total", float64(reverted)},
			{"vrwx_relay_gas_used_count", float64(mined)}, {"vrwx_relay_gas_used_sum", float64(gas)}} {
			labels := []string{"relayer", relayer, "since", since}
			if c.name[:len("vrwx_relay_tx")] == "vrwx_relay_tx" {
				labels = append(labels, "source", "chain")
			}
			if v := must(t, s, c.name, labels...); v != c.want {
				t.Errorf("%s: %s = %v, the chain says %v (blocks %d..%d)", what, c.name, v, c.want, origin, counted)
			}
		}
		dlqWant := sqliteInt(t, env.db, `SELECT count(*) FROM dlq_events WHERE type = 'TX_FAIL' AND reason NOT LIKE '%receipt=%'`)
		if v := must(t, s, "vrwx_relay_tx_failed_total", "source", "dlq"); v != float64(dlqWant) {
			t.Errorf("%s: DLQ failures %v, the table has %d", what, v, dlqWant)
		}
		latWant := sqliteInt(t, env.db, `SELECT count(*) FROM idempotency_keys WHERE status = 'COMPLETED' AND updated_at >= ?`, sinceT.UnixMilli())
		if v := must(t, s, "vrwx_completion_latency_seconds_count", "since", since); v != float64(latWant) {
			t.Errorf("%s: completion latencies %v, the table has %d", what, v, latWant)
		}
	}
	check(s, "at start")

	// A completion mined, one reverted; a relay failing at estimateGas recorded by
	// the API; a relay mined and reverted recorded by the API too (the chain counts
	// it); three requests completed.
	ok, err := devchain.SignJobCompletion(ctx, d, d.Jobs[devchain.JobFunded], crypto.Keccak256Hash([]byte("ok")), 100, 10,
		devchain.DevKey(devchain.AccountActiveController), d.ChainID, d.Escrow)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []devchain.Completion{ok, sigCase} {
		data := vrwx.Pack(vrwx.EscrowABI(), "submitCompletionV2", new(big.Int).SetUint64(c.JobID), [32]byte(c.CompletionHash), c.QualityScore, c.WorkUnits, c.Signature)
		h, err := devchain.SendRawTx(ctx, anvil.URL, devchain.DevKey(devchain.AccountRelayer), devchain.RawTx{To: d.Escrow, Data: data, Gas: 300_000})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.c.WaitMined(ctx, h, 10*time.Millisecond, nil); err != nil {
			t.Fatal(err)
		}
	}
	w, err := apidb.Open(env.db)
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	mined := dlqtest.Ethers("transaction execution reverted", "CALL_EXCEPTION", dlqtest.KV{Key: "action", Value: "sendTransaction"},
		dlqtest.KV{Key: "receipt", Value: map[string]any{"hash": "0x" + fmt.Sprintf("%064x", 1), "status": dlqtest.Bare("0"), "blockNumber": dlqtest.Bare("9")}})
	for _, reason := range []string{failed.Reason, mined} {
		if _, err := w.Exec(`INSERT INTO dlq_events(type, payload, reason, error_code, created_at) VALUES ('TX_FAIL', '{}', ?, 'RELAY_TX_FAILED', ?)`, reason, now.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		// As the API writes them: updated_at is the moment of the write.
		at := clock.Now().UnixMilli()
		if _, err := w.Exec(`INSERT INTO idempotency_keys(key, status, request_hash, created_at, updated_at, ttl_expires_at) VALUES (?, 'COMPLETED', '', ?, ?, ?)`,
			fmt.Sprintf("base:31337:job:t%d", i), at-int64(i+1)*4000, at, at+86_400_000); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	// The records are newer than the ledger's lag (5 s: one committed a moment after
	// the time it carries is still counted); each scrape below comes an interval
	// later on the test's clock, past it.
	dlqBefore := must(t, s, "vrwx_relay_tx_failed_total", "source", "dlq")
	totalBefore := must(t, s, "vrwx_relay_tx_total", "source", "chain", "relayer", relayer)
	s = env.waitScrape(t, url, "the new transactions and rows", func(s exportertest.Samples) bool {
		v, _ := s.Get("vrwx_relay_tx_total", "source", "chain", "relayer", relayer)
		f, _ := s.Get("vrwx_relay_tx_failed_total", "source", "dlq")
		l, _ := s.Get("vrwx_completion_latency_seconds_count")
		return v == totalBefore+2 && f == dlqBefore+1 && l >= 3
	})
	check(s, "after new transactions")
	if v := must(t, s, "vrwx_completion_latency_seconds_sum"); v != 4+8+12 {
		t.Errorf("completion latency sum %v, want 24 s", v)
	}
	if v := must(t, s, "vrwx_completion_latency_seconds_bucket", "le", "5"); v != 1 {
		t.Errorf("latencies at or below 5 s: %v, want 1", v)
	}

	// A restarted exporter: the same series, the same values.
	again := env.waitScrape(t, env.exporterURL(t), "the restarted exporter's counts", func(s exportertest.Samples) bool {
		_, ok := s.Get("vrwx_relay_tx_total", "source", "chain", "relayer", relayer)
		_, ok2 := s.Get("vrwx_relay_tx_total", "source", "dlq")
		return ok && ok2
	})
	for _, name := range []string{"vrwx_relay_tx_total", "vrwx_relay_tx_success_total", "vrwx_relay_tx_failed_total", "vrwx_relay_gas_used_count", "vrwx_completion_latency_seconds_count"} {
		for _, old := range s[name] {
			var labels []string
			for k, v := range old.Labels {
				labels = append(labels, k, v)
			}
			v, ok := again.Get(name, labels...)
			if !ok || v < old.Value {
				t.Errorf("%s%v went from %v to %v (present %v) across a restart", name, old.Labels, old.Value, v, ok)
			}
		}
	}
}
