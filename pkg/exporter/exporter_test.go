package exporter_test

import (
	"context"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/exporter"
	"github.com/vrwx/vrwxctl/pkg/exporter/exportertest"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/health/healthtest"
	"github.com/vrwx/vrwxctl/pkg/monitor"
	"github.com/vrwx/vrwxctl/pkg/monitor/monitortest"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

type setup struct {
	anvil *devchain.Anvil
	d     *devchain.Deployment
	proxy *monitortest.Proxy
	api   *healthtest.Server
	db    string
	url   string // /metrics
	reads atomic.Int64
	// clock is the exporter's and its reader's: readings go stale when it moves.
	clock *exportertest.Clock
}

func start(t *testing.T, interval time.Duration) *setup {
	t.Helper()
	s := &setup{clock: exportertest.NewClock(time.Now())}
	s.anvil, s.d = devchain.StartT(t)
	s.proxy = monitortest.NewProxy(t, s.anvil.URL)
	s.api = healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(s.d.Relayer)})
	f, err := apidbtest.BuildFixture(context.Background(), filepath.Join(t.TempDir(), "vrwx.db"), apidbtest.FixtureOptions{DLQEvents: 30})
	if err != nil {
		t.Fatal(err)
	}
	s.db = f.Path
	urls := []string{s.proxy.URL}
	r := &monitor.Reader{
		Chain:     chain.New(chain.Options{URLs: urls, ChainID: devchain.DefaultChainID}),
		Endpoints: monitor.NewEndpoints(urls, devchain.DefaultChainID),
		Relayers:  []common.Address{s.d.Relayer, devchain.DevAddress(7)},
		Escrow:    &s.d.Escrow,
		Health:    &health.Client{Timeout: 2 * time.Second},
		APIURL:    s.api.URL,
		DBPath:    s.db,
		Now:       s.clock.Now,
	}
	e := exporter.New(exporter.Options{
		Read:         func(ctx context.Context) monitor.Readings { s.reads.Add(1); return r.Read(ctx) },
		Interval:     interval,
		ReadTimeout:  5 * time.Second,
		MaxFeePerGas: big.NewInt(50_000_000_000),
		Now:          s.clock.Now,
	})
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/metrics"
	return s
}

func must(t *testing.T, s exportertest.Samples, name string, labels ...string) float64 {
	t.Helper()
	v, ok := s.Get(name, labels...)
	if !ok {
		t.Fatalf("no single %s%v series in the scrape; have %v", name, labels, s[name])
	}
	return v
}

// The scrape says what the chain, the API and the database say.
func TestMetricsMatchTheSystem(t *testing.T) {
	s := start(t, time.Minute)
	ctx := context.Background()
	if err := s.anvil.RPC(ctx, nil, "anvil_setBalance", s.d.Relayer.Hex(), "0x1bc16d674ec80000"); err != nil { // 2 ETH
		t.Fatal(err)
	}
	got := exportertest.Scrape(t, s.url)

	relayer := s.d.Relayer.Hex()
	if v := must(t, got, "vrwx_relayer_balance_eth", "address", relayer); v != 2 {
		t.Errorf("balance %v, want 2", v)
	}
	var nonce hexutil.Uint64
	if err := s.anvil.RPC(ctx, &nonce, "eth_getTransactionCount", relayer, "latest"); err != nil {
		t.Fatal(err)
	}
	if v := must(t, got, "vrwx_relayer_nonce_latest", "address", relayer); v != float64(nonce) {
		t.Errorf("nonce %v, node says %d", v, nonce)
	}
	if v := must(t, got, "vrwx_relayer_pending_txs", "address", relayer); v != 0 {
		t.Errorf("pending %v", v)
	}
	if _, ok := got.Get("vrwx_relayer_balance_eth", "address", devchain.DevAddress(7).Hex()); !ok {
		t.Errorf("second relayer missing: %v", got["vrwx_relayer_balance_eth"])
	}
	var gp hexutil.Big
	if err := s.anvil.RPC(ctx, &gp, "eth_gasPrice"); err != nil {
		t.Fatal(err)
	}
	wantGwei, _ := new(big.Rat).SetFrac(gp.ToInt(), big.NewInt(1e9)).Float64()
	if v := must(t, got, "vrwx_gas_price_gwei"); v != wantGwei {
		t.Errorf("gas price %v gwei, node says %v", v, wantGwei)
	}
	// The head, its time and base fee are the node's latest block (nothing mines
	// between the scrape and this read: anvil mines only on a transaction).
	var head struct {
		Number  hexutil.Uint64 `json:"number"`
		Time    hexutil.Uint64 `json:"timestamp"`
		BaseFee hexutil.Big    `json:"baseFeePerGas"`
	}
	if err := s.anvil.RPC(ctx, &head, "eth_getBlockByNumber", "latest", false); err != nil {
		t.Fatal(err)
	}
	baseGwei, _ := new(big.Rat).SetFrac(head.BaseFee.ToInt(), big.NewInt(1e9)).Float64()
	if v := must(t, got, "vrwx_base_fee_gwei"); v != baseGwei {
		t.Errorf("base fee %v gwei, node says %v", v, baseGwei)
	}
	if v := must(t, got, "vrwx_chain_head_block"); v != float64(head.Number) {
		t.Errorf("head %v, node says %d", v, head.Number)
	}
	if v := must(t, got, "vrwx_chain_head_timestamp_seconds"); v != float64(head.Time) {
		t.Errorf("head time %v, node says %d", v, head.Time)
	}
	if v := must(t, got, "vrwx_rpc_head_block", "position", "0"); v != float64(head.Number) {
		t.Errorf("rpc head %v, node says %d", v, head.Number)
	}
	var pendingNonce hexutil.Uint64
	if err := s.anvil.RPC(ctx, &pendingNonce, "eth_getTransactionCount", relayer, "pending"); err != nil {
		t.Fatal(err)
	}
	if v := must(t, got, "vrwx_relayer_nonce_pending", "address", relayer); v != float64(pendingNonce) {
		t.Errorf("pending nonce %v, node says %d", v, pendingNonce)
	}
	if v := must(t, got, "vrwx_max_fee_per_gas_gwei"); v != 50 {
		t.Errorf("max fee %v", v)
	}
	if v := must(t, got, "vrwx_escrow_job_count", "escrow", s.d.Escrow.Hex()); v != float64(len(s.d.Jobs)) {
		t.Errorf("job count %v, want %d", v, len(s.d.Jobs))
	}
	for _, up := range []string{"vrwx_chain_up", "vrwx_api_up", "vrwx_db_up", "vrwx_exporter_refresh_success"} {
		if v := must(t, got, up); v != 1 {
			t.Errorf("%s = %v", up, v)
		}
	}
	if v := must(t, got, "vrwx_rpc_up", "url", s.proxy.URL, "position", "0"); v != 1 {
		t.Errorf("rpc up %v", v)
	}
	if v := must(t, got, "vrwx_rpc_head_lag_blocks", "position", "0"); v != 0 {
		t.Errorf("lag %v", v)
	}
	if v := must(t, got, "vrwx_api_info", "relayer_address", relayer, "relay_mode", "relay", "chain_id", "31337"); v != 1 {
		t.Errorf("api info %v", v)
	}
	if v := must(t, got, "vrwx_dlq_unresolved"); v != float64(sqliteCount(t, s.db)) {
		t.Errorf("dlq %v, database has %d unresolved", v, sqliteCount(t, s.db))
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if len(got[name]) == 0 {
			t.Errorf("%s missing", name)
		}
	}
	// Every metric served is documented in exporter.Metrics (or is a standard go_/process_ one).
	documented := map[string]bool{}
	for _, m := range exporter.Metrics {
		documented[m.Name] = true
	}
	for _, n := range got.Names() {
		if !documented[n] && !strings.HasPrefix(n, "go_") && !strings.HasPrefix(n, "process_") && !strings.HasPrefix(n, "promhttp_") {
			t.Errorf("%s is served but not in exporter.Metrics", n)
		}
	}
}

// Many scrapers within one interval cost one chain read: one HTTP request to the RPC
// (however long the scrapes take: the clock does not move).
func TestConcurrentScrapesShareOneRead(t *testing.T) {
	s := start(t, time.Minute)
	s.proxy.ResetRequests()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { exportertest.Scrape(t, s.url) })
	}
	wg.Wait()
	if s.reads.Load() != 1 || s.proxy.Requests() != 1 {
		t.Fatalf("20 scrapes: %d reads, %d RPC requests; want 1 and 1", s.reads.Load(), s.proxy.Requests())
	}
	got := exportertest.Scrape(t, s.url)
	if v := must(t, got, "vrwx_exporter_refreshes_total"); v != 1 {
		t.Fatalf("refreshes_total %v", v)
	}
}

// Readings are reused for the interval and read again once they are that old.
func TestReadingsExpire(t *testing.T) {
	s := start(t, 15*time.Second)
	exportertest.Scrape(t, s.url)
	s.clock.Advance(14 * time.Second)
	got := exportertest.Scrape(t, s.url)
	if s.reads.Load() != 1 || must(t, got, "vrwx_exporter_reading_age_seconds") != 14 {
		t.Fatalf("within the interval: %d reads, reading age %v", s.reads.Load(), got["vrwx_exporter_reading_age_seconds"])
	}
	s.clock.Advance(time.Second)
	got = exportertest.Scrape(t, s.url)
	if s.reads.Load() != 2 || must(t, got, "vrwx_exporter_refreshes_total") != 2 || must(t, got, "vrwx_exporter_reading_age_seconds") != 0 {
		t.Fatalf("after the interval: %d reads, %v", s.reads.Load(), got["vrwx_exporter_refreshes_total"])
	}
}

// RPC, API and database outages show up as down metrics, and values that cannot be
// read are left out (not repeated stale); /metrics keeps answering; recovery shows.
func TestOutagesAreMetricsNotFailures(t *testing.T) {
	s := start(t, time.Minute)
	s.proxy.SetDown(true)
	s.api.Stop()
	if err := os.Rename(s.db, s.db+".moved"); err != nil {
		t.Fatal(err)
	}
	got := exportertest.Scrape(t, s.url)
	for _, down := range []string{"vrwx_chain_up", "vrwx_api_up", "vrwx_db_up", "vrwx_exporter_refresh_success"} {
		if v := must(t, got, down); v != 0 {
			t.Errorf("%s = %v during the outage", down, v)
		}
	}
	if v := must(t, got, "vrwx_rpc_up", "position", "0"); v != 0 {
		t.Errorf("rpc up %v", v)
	}
	for _, gone := range []string{"vrwx_relayer_balance_eth", "vrwx_gas_price_gwei", "vrwx_dlq_unresolved", "vrwx_escrow_job_count", "vrwx_rpc_head_lag_blocks"} {
		if len(got[gone]) != 0 {
			t.Errorf("%s served during the outage: %v", gone, got[gone])
		}
	}
	for part, min := range map[string]float64{"chain": 1, "rpc": 1, "api": 1, "db": 1} {
		if v := must(t, got, "vrwx_exporter_read_errors_total", "part", part); v < min {
			t.Errorf("read errors %s = %v", part, v)
		}
	}

	s.proxy.SetDown(false)
	s.api.Start()
	if err := os.Rename(s.db+".moved", s.db); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Minute) // the next refresh
	got = exportertest.Scrape(t, s.url)
	for _, up := range []string{"vrwx_chain_up", "vrwx_api_up", "vrwx_db_up", "vrwx_exporter_refresh_success"} {
		if v := must(t, got, up); v != 1 {
			t.Errorf("%s = %v after recovery", up, v)
		}
	}
	must(t, got, "vrwx_relayer_balance_eth", "address", s.d.Relayer.Hex())
}

func TestHealthzAndIndex(t *testing.T) {
	e := exporter.New(exporter.Options{Read: func(context.Context) monitor.Readings {
		t.Error("/healthz must not read anything")
		return monitor.Readings{}
	}})
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	for path, want := range map[string]string{"/healthz": "ok\n", "/": "/metrics"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 512)
		n, _ := resp.Body.Read(b)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b[:n]), want) {
			t.Errorf("%s: %d %q", path, resp.StatusCode, b[:n])
		}
	}
	if resp, err := http.Get(srv.URL + "/nothing"); err != nil || resp.StatusCode != 404 {
		t.Errorf("/nothing: %v %v", resp, err)
	}
}

// The metric list has unique names, each with help, a type and snake_case labels.
func TestMetricList(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range exporter.Metrics {
		if seen[m.Name] || !strings.HasPrefix(m.Name, "vrwx_") || m.Help == "" || (m.Type != "gauge" && m.Type != "counter" && m.Type != "histogram") {
			t.Errorf("bad entry %+v", m)
		}
		if m.Type == "counter" && !strings.HasSuffix(m.Name, "_total") {
			t.Errorf("counter %s lacks _total", m.Name)
		}
		seen[m.Name] = true
		for _, l := range m.Labels {
			if l != strings.ToLower(l) || strings.ContainsAny(l, "- ") {
				t.Errorf("%s: label %q is not snake_case", m.Name, l)
			}
		}
	}
}

func sqliteCount(t *testing.T, db string) int64 {
	t.Helper()
	conn, err := apidb.OpenReadOnly(db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int64
	if err := conn.QueryRow("SELECT count(*) FROM dlq_events WHERE resolved_at IS NULL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A litestream replica's reading becomes its up gauge, the replicated position's
// time (the RPO in PromQL is time() minus it) and its age; an unreadable replica is
// down and the refresh incomplete.
func TestReplicaMetrics(t *testing.T) {
	at := time.Date(2026, 11, 27, 3, 10, 0, 0, time.UTC)
	replica := &monitor.Replica{Location: "s3://vrwx-backups/db", Info: &sqlitebackup.ReplicaInfo{Latest: at, MaxTXID: "00000000000000ff"}, Age: 90 * time.Second}
	e := exporter.New(exporter.Options{Read: func(context.Context) monitor.Readings {
		return monitor.Readings{At: at, Chain: monitor.Chain{Up: true}, Replica: replica}
	}, Now: func() time.Time { return at }})
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	got := exportertest.Scrape(t, srv.URL+"/metrics")
	if must(t, got, "vrwx_db_replica_up") != 1 || must(t, got, "vrwx_db_replica_age_seconds") != 90 ||
		must(t, got, "vrwx_db_replica_position_timestamp_seconds") != float64(at.Unix()) {
		t.Fatalf("replica metrics %v %v %v", got["vrwx_db_replica_up"], got["vrwx_db_replica_age_seconds"], got["vrwx_db_replica_position_timestamp_seconds"])
	}
	replica.Err, replica.Info = errors.New("no litestream replica there"), nil
	e = exporter.New(exporter.Options{Read: func(context.Context) monitor.Readings {
		return monitor.Readings{At: at, Chain: monitor.Chain{Up: true}, Replica: replica}
	}, Now: func() time.Time { return at }})
	srv2 := httptest.NewServer(e.Handler())
	defer srv2.Close()
	got = exportertest.Scrape(t, srv2.URL+"/metrics")
	if must(t, got, "vrwx_db_replica_up") != 0 || must(t, got, "vrwx_exporter_refresh_success") != 0 {
		t.Fatalf("unreadable replica: up %v, refresh %v", got["vrwx_db_replica_up"], got["vrwx_exporter_refresh_success"])
	}
	if _, ok := got.Get("vrwx_db_replica_age_seconds"); ok {
		t.Fatal("an unreadable replica has an age")
	}
}
