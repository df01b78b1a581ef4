package main_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
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
  scrape_interval: 1s
  evaluation_interval: 1s
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
