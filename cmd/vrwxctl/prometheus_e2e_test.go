package main_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/dlq/dlqtest"
	"github.com/vrwx/vrwxctl/pkg/exporter/exportertest"
	"github.com/vrwx/vrwxctl/pkg/health/healthtest"
	"go.yaml.in/yaml/v3"
)

// fastRules returns docs/monitoring/alerts.yaml with every `for:` shortened to
// forDuration — the only change — so an end-to-end test sees alerts fire in seconds.
// The `for:` durations themselves are covered by the promtool unit tests.
func fastRules(t *testing.T, forDuration string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(monitoringDir, "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	var walk func(*yaml.Node)
	walk = func(node *yaml.Node) {
		if node.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(node.Content); i += 2 {
				if node.Content[i].Value == "for" {
					node.Content[i+1].Value = forDuration
					n++
				}
			}
		}
		for _, c := range node.Content {
			walk(c)
		}
	}
	walk(&doc)
	if n == 0 {
		t.Fatal("no `for:` in alerts.yaml")
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A real Prometheus scrapes the real exporter binary against a local chain with the
// project's alert rules loaded; the relayer's balance drops below the critical line
// and RelayerLowBalance is seen FIRING through Prometheus's HTTP API.
func TestPrometheusFiresRelayerLowBalance(t *testing.T) {
	t.Parallel()
	exportertest.RequirePrometheus(t)
	e := clitest.NewChain(t)
	api := healthtest.New(t, healthtest.Options{Relayer: healthtest.Static(e.D.Relayer)})
	db, err := apidbtest.BuildFixture(context.Background(), filepath.Join(t.TempDir(), "vrwx.db"), apidbtest.FixtureOptions{DLQEvents: 20})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"VRWX_API_URL": api.URL, "DATABASE_PATH": db.Path}
	for k, v := range e.Vars {
		env[k] = v
	}
	exp := exportertest.Start(t, clitest.Binary(t), env, "exporter", "--listen", "127.0.0.1:0", "--interval", "500ms")
	defer clitest.Record("vrwxctl exporter (binary, e2e)", exp.Stderr(), 0)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "alerts.yaml"), fastRules(t, "2s"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := strings.TrimPrefix(exp.Base, "http://")
	prom := exportertest.StartPrometheus(t, dir, fmt.Sprintf(`global:
  scrape_interval: 500ms
  evaluation_interval: 500ms
rule_files: [alerts.yaml]
scrape_configs:
  - job_name: vrwx-exporter
    static_configs:
      - targets: [%q]
`, target))

	relayer := e.D.Relayer.Hex()
	balanceQuery := fmt.Sprintf(`vrwx_relayer_balance_eth{address=%q}`, relayer)
	waitFor(t, 30*time.Second, "Prometheus to scrape the relayer's balance", func() (bool, string) {
		s, err := prom.Query(balanceQuery)
		if err != nil || len(s) != 1 {
			targets, _ := prom.Targets()
			return false, fmt.Sprintf("%v %v; targets %v", s, err, targets)
		}
		v, _ := strconv.ParseFloat(s[0].Value[1].(string), 64)
		return v > 1, fmt.Sprintf("balance %v", v)
	})
	if a := firing(t, prom, "RelayerLowBalance", relayer); a != nil {
		t.Fatalf("RelayerLowBalance fires with the funded relayer: %+v", a)
	}
	checkRelayMetrics(t, e, prom, db.Path)

	// The relayer drops to 0.01 ETH: below the critical line (0.05).
	if err := e.Anvil.RPC(context.Background(), nil, "anvil_setBalance", relayer, "0x2386f26fc10000"); err != nil {
		t.Fatal(err)
	}
	var alert *exportertest.Alert
	waitFor(t, 60*time.Second, "RelayerLowBalance to fire", func() (bool, string) {
		alert = firing(t, prom, "RelayerLowBalance", relayer)
		all, _ := prom.Alerts()
		return alert != nil, fmt.Sprintf("alerts: %+v", all)
	})
	if alert.Labels["severity"] != "critical" || alert.Labels["job"] != "vrwx-exporter" ||
		!strings.Contains(alert.Annotations["description"], "has 0.01 ETH remaining") ||
		alert.Annotations["command"] != "vrwxctl wallet fund --to "+relayer+" --amount 0.5ether --signer $TREASURY_SIGNER" {
		t.Errorf("alert %+v", alert)
	}
	if a := firing(t, prom, "RelayerBalanceWarning", relayer); a != nil {
		t.Errorf("the warning fires alongside the critical alert: %+v", a)
	}
	checkDashboardQueries(t, prom)
}

// firing returns the firing alert name for address, or nil.
func firing(t *testing.T, prom *exportertest.Prometheus, name, address string) *exportertest.Alert {
	t.Helper()
	alerts, err := prom.Alerts()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if a.Labels["alertname"] == name && a.Labels["address"] == address && a.State == "firing" {
			return &a
		}
	}
	return nil
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last state: %s", d, what, state)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// promValue runs an instant query expected to give one sample.
func promValue(prom *exportertest.Prometheus, q string) (float64, bool) {
	s, err := prom.Query(q)
	if err != nil || len(s) != 1 {
		return 0, false
	}
	v, err := strconv.ParseFloat(s[0].Value[1].(string), 64)
	return v, err == nil
}

// checkRelayMetrics: the runbook's relay metrics, which the API does not export,
// reach Prometheus from the exporter. After one completion mined, one mined and
// reverted, and one relay failing at estimateGas that the API records in its DLQ,
// the runbook's success-ratio expression — evaluated by Prometheus's query API —
// is 1 of 3; the gas and completion-latency histograms are there too.
func checkRelayMetrics(t *testing.T, e *clitest.Env, prom *exportertest.Prometheus, dbPath string) {
	t.Helper()
	relayer := e.D.Relayer.Hex()
	waitFor(t, 60*time.Second, "the relay counters in Prometheus", func() (bool, string) {
		var state []string
		ok := true
		for _, q := range []string{
			fmt.Sprintf(`vrwx_relay_tx_total{source="chain", relayer=%q}`, relayer), `vrwx_relay_tx_failed_total{source="dlq"}`,
			fmt.Sprintf(`vrwx_relay_gas_used_count{relayer=%q}`, relayer), `vrwx_completion_latency_seconds_count`,
		} {
			v, found := promValue(prom, q)
			ok = ok && found
			state = append(state, fmt.Sprintf("%s=%v(%v)", q, v, found))
		}
		return ok, strings.Join(state, " ")
	})
	chainBefore, _ := promValue(prom, fmt.Sprintf(`vrwx_relay_tx_total{source="chain", relayer=%q}`, relayer))
	dlqBefore, _ := promValue(prom, `vrwx_relay_tx_failed_total{source="dlq"}`)
	latBefore, _ := promValue(prom, `vrwx_completion_latency_seconds_count`)

	ctx := context.Background()
	b, err := dlqtest.NewBuilder(ctx, e.D)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	good, err := b.Controller(ctx, devchain.JobFunded, "e2e", 100, 10)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := b.Sign(ctx, devchain.JobFundedSoon, "e2e", 100, 10, devchain.DevKey(devchain.AccountBuyer), e.D.ChainID, e.D.Escrow)
	if err != nil {
		t.Fatal(err)
	}
	estimate, err := b.Estimate(ctx, "InvalidSignature", bad)
	if err != nil {
		t.Fatal(err)
	}
	c := chain.New(chain.Options{URLs: []string{e.Anvil.URL}, ChainID: e.D.ChainID})
	defer c.Close()
	for _, cp := range []devchain.Completion{good, bad} {
		h, err := devchain.SendRawTx(ctx, e.Anvil.URL, devchain.DevKey(devchain.AccountRelayer), devchain.RawTx{To: e.D.Escrow, Data: dlqtest.Calldata(cp), Gas: 300_000})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WaitMined(ctx, h, 10*time.Millisecond, nil); err != nil {
			t.Fatal(err)
		}
	}
	w, err := apidb.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	if _, err := w.Exec(`INSERT INTO dlq_events(type, payload, reason, error_code, created_at) VALUES ('TX_FAIL', '{}', ?, 'RELAY_TX_FAILED', ?)`, estimate.Reason, now); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(`INSERT INTO idempotency_keys(key, status, request_hash, created_at, updated_at, ttl_expires_at) VALUES ('base:31337:job:e2e', 'COMPLETED', '', ?, ?, ?)`,
		now-7_000, now, now+86_400_000); err != nil {
		t.Fatal(err)
	}
	w.Close()

	// rate() extrapolates each series to its range's ends, and a counter that started
	// at 0 is not extrapolated below zero, so the ratio is 1/3 within a margin (1/2,
	// 2/3 or 1 would mean a relay miscounted).
	const margin = 0.08
	ratio := `sum(rate(vrwx_relay_tx_success_total[5m])) / sum(rate(vrwx_relay_tx_total[5m]))`
	waitFor(t, 60*time.Second, "the new relays in Prometheus", func() (bool, string) {
		ch, _ := promValue(prom, fmt.Sprintf(`vrwx_relay_tx_total{source="chain", relayer=%q}`, relayer))
		dl, _ := promValue(prom, `vrwx_relay_tx_failed_total{source="dlq"}`)
		lat, _ := promValue(prom, `vrwx_completion_latency_seconds_count`)
		r, _ := promValue(prom, ratio)
		return ch == chainBefore+2 && dl == dlqBefore+1 && lat == latBefore+1 && math.Abs(r-1.0/3) < margin,
			fmt.Sprintf("chain %v (was %v), dlq %v (was %v), latencies %v (was %v), ratio %v", ch, chainBefore, dl, dlqBefore, lat, latBefore, r)
	})
	if v, ok := promValue(prom, `sum(rate(vrwx_relay_tx_failed_total[5m])) / sum(rate(vrwx_relay_tx_total[5m]))`); !ok || math.Abs(v-2.0/3) > margin {
		t.Errorf("failure ratio %v", v)
	}
	if v, ok := promValue(prom, fmt.Sprintf(`vrwx_relay_gas_used_bucket{relayer=%q, le="+Inf"}`, relayer)); !ok || v < 2 {
		t.Errorf("gas histogram +Inf bucket %v", v)
	}
	if v, ok := promValue(prom, `histogram_quantile(0.5, sum by (le) (increase(vrwx_completion_latency_seconds_bucket[5m])))`); !ok || v <= 5 || v > 10 {
		t.Errorf("median completion latency %v, want within the 5..10 s bucket", v)
	}
}
