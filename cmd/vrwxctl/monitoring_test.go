package main_test

import (
	"bufio"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/cli/root"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/exporter"
	"github.com/vrwx/vrwxctl/pkg/exporter/exportertest"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"go.yaml.in/yaml/v3"
)

var monitoringDir = filepath.Join("..", "..", "docs", "monitoring")

// apiMetrics are the metrics the API itself exports at /metrics/prometheus, exactly
// as spec/VRWX.md ("What the API exports") lists them. The runbook's vrwx_relay_tx_*
// and vrwx_relay_gas_used are not among them: vrwxctl's exporter provides those.
var apiMetrics = []string{
	"vrwx_jobs_total", "vrwx_offers_total", "vrwx_token_supply", "vrwx_minted_total", "vrwx_burned_total",
	"vrwx_staked_total", "vrwx_gmv_total", "vrwx_disputes_total", "vrwx_fill_rate",
	"vrwx_service_gmv", "vrwx_service_offers_active", "vrwx_service_offers_filled", "vrwx_service_fill_rate",
	"vrwx_service_disputes", "vrwx_service_dispute_rate", "vrwx_service_rewards_minted", "vrwx_service_slashes_vrwx",
	"vrwx_service_slashes_stable", "vrwx_service_vrwx_burned",
	"vrwx_completion_requests_total", "vrwx_completion_accepted_total", "vrwx_completion_rejected_total",
	"vrwx_dlq_events_total", "vrwx_dlq_unresolved", "vrwx_dlq_pending_retry", "vrwx_dlq_exceeded_retries",
	"vrwx_idempotency_total", "vrwx_idempotency_pending", "vrwx_idempotency_completed", "vrwx_idempotency_failed",
	"vrwx_tx_broadcast_total", "vrwx_tx_success_total", "vrwx_tx_fail_total",
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func alertRules(t *testing.T) (alerts []rule, records []string) {
	t.Helper()
	var f ruleFile
	readYAML(t, filepath.Join(monitoringDir, "alerts.yaml"), &f)
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				records = append(records, r.Record)
			} else {
				alerts = append(alerts, r)
			}
		}
	}
	if len(alerts) == 0 {
		t.Fatal("no alerts in alerts.yaml")
	}
	return alerts, records
}

// promtool is the oracle: the rules load, and every unit test in alerts_test.yaml
// passes (exact labels and rendered annotations at each evaluation time).
func TestAlertRulesPassPromtool(t *testing.T) {
	promtool := exportertest.RequirePromtool(t)
	for _, args := range [][]string{{"check", "rules", "alerts.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = monitoringDir
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// Every alert has a promtool case where it fires, so none is untested.
func TestEveryAlertHasAFiringUnitTest(t *testing.T) {
	alerts, _ := alertRules(t)
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	readYAML(t, filepath.Join(monitoringDir, "alerts_test.yaml"), &tests)
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				silent[a.Alertname] = true
			}
		}
	}
	for _, a := range alerts {
		if !fires[a.Alert] {
			t.Errorf("alert %s has no promtool case in which it fires", a.Alert)
		}
		if !silent[a.Alert] {
			t.Errorf("alert %s has no promtool case in which it must stay silent", a.Alert)
		}
	}
}

// The pager and `vrwxctl status` use the same lines: each threshold in the rules is
// the profile default of its setting.
func TestAlertThresholdsAreTheProfileDefaults(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{ConfigPath: empty, Profile: "base-mainnet", LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	setting := func(key string) float64 {
		if d, ok := cfg.Duration(key); ok && strings.HasPrefix(key, "head_age") {
			return d.Seconds()
		}
		v, err := strconv.ParseFloat(cfg.String(key), 64)
		if err != nil {
			t.Fatalf("%s = %q: %v", key, cfg.String(key), err)
		}
		return v
	}
	alerts, _ := alertRules(t)
	byName := map[string]rule{}
	for _, a := range alerts {
		byName[a.Alert] = a
	}
	for _, c := range []struct{ alert, pattern, key string }{
		{"RelayerBalanceWarning", `vrwx_relayer_balance_eth < ([0-9.]+)`, "balance_warn_eth"},
		{"RelayerBalanceWarning", `vrwx_relayer_balance_eth >= ([0-9.]+)`, "balance_crit_eth"},
		{"RelayerLowBalance", `vrwx_relayer_balance_eth < ([0-9.]+)`, "balance_crit_eth"},
		{"GasPriceHigh", `vrwx_gas_price_gwei > ([0-9.]+)`, "gas_warn_gwei"},
		{"GasPriceHigh", `vrwx_gas_price_gwei <= ([0-9.]+)`, "gas_crit_gwei"},
		{"GasPriceCritical", `vrwx_gas_price_gwei > ([0-9.]+)`, "gas_crit_gwei"},
		{"DLQDepthWarning", `max\(vrwx_dlq_unresolved\) > ([0-9]+)`, "dlq_warn"},
		{"DLQDepthWarning", `max\(vrwx_dlq_unresolved\) <= ([0-9]+)`, "dlq_crit"},
		{"DLQDepthCritical", `max\(vrwx_dlq_unresolved\) > ([0-9]+)`, "dlq_crit"},
		{"ChainHeadStale", `vrwx_chain_head_timestamp_seconds > ([0-9]+)`, "head_age_warn"},
		{"ChainHeadStale", `vrwx_chain_head_timestamp_seconds <= ([0-9]+)`, "head_age_crit"},
		{"ChainHeadStaleCritical", `vrwx_chain_head_timestamp_seconds > ([0-9]+)`, "head_age_crit"},
	} {
		a, ok := byName[c.alert]
		if !ok {
			t.Errorf("no alert %s", c.alert)
			continue
		}
		m := regexp.MustCompile(c.pattern).FindStringSubmatch(a.Expr)
		if m == nil {
			t.Errorf("%s: expr %q does not match %s", c.alert, a.Expr, c.pattern)
			continue
		}
		got, _ := strconv.ParseFloat(m[1], 64)
		if want := setting(c.key); got != want {
			t.Errorf("%s uses %v, but the profile default %s is %v", c.alert, got, c.key, want)
		}
	}
}

// Each alert has a severity, a summary, a runbook link to a section that exists, and
// a command an operator can paste: a vrwxctl line whose command and flags exist
// (kubectl for the exporter's own pod).
func TestAlertAnnotations(t *testing.T) {
	alerts, _ := alertRules(t)
	anchors := runbookAnchors(t)
	for _, a := range alerts {
		if s := a.Labels["severity"]; s != "warning" && s != "critical" {
			t.Errorf("%s: severity %q", a.Alert, s)
		}
		if a.Annotations["summary"] == "" || a.Annotations["description"] == "" {
			t.Errorf("%s: no summary or description", a.Alert)
		}
		u := a.Annotations["runbook_url"]
		base, anchor, _ := strings.Cut(u, "#")
		if base != "https://github.com/vrwx/vrwxctl/blob/main/docs/RUNBOOK.md" || !anchors[anchor] {
			t.Errorf("%s: runbook_url %q is not a section of docs/RUNBOOK.md (sections: %v)", a.Alert, u, keys(anchors))
		}
		cmd := a.Annotations["command"]
		switch {
		case strings.HasPrefix(cmd, "vrwxctl "):
			checkCommandLine(t, a.Alert, cmd)
		case strings.HasPrefix(cmd, "kubectl ") && a.Alert == "ExporterDown":
		default:
			t.Errorf("%s: command %q is not a vrwxctl line", a.Alert, cmd)
		}
	}
}

// checkCommandLine parses a vrwxctl line with the real command tree, without running it.
func checkCommandLine(t *testing.T, where, line string) {
	t.Helper()
	line = regexp.MustCompile(`\{\{ *\$labels\.address *\}\}`).ReplaceAllString(line, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")
	if strings.Contains(line, "{{") {
		t.Errorf("%s: command %q has a template this test does not know", where, line)
		return
	}
	checkArgs(t, where, strings.Fields(strings.TrimPrefix(line, "vrwxctl ")))
}

// checkArgs parses vrwxctl's arguments (without the program name) with the real
// command tree, without running anything: the command exists and takes these flags.
func checkArgs(t *testing.T, where string, args []string) {
	t.Helper()
	line := "vrwxctl " + strings.Join(args, " ")
	f := &cmdutil.Factory{IO: ui.Test(strings.NewReader(""), &strings.Builder{}, &strings.Builder{}), Globals: &cmdutil.Globals{}}
	rootCmd := root.NewCmdRoot(f)
	sub, rest, err := rootCmd.Find(args)
	if err != nil || sub == rootCmd || sub.HasSubCommands() {
		t.Errorf("%s: %q does not name a vrwxctl command (%v)", where, line, err)
		return
	}
	if err := sub.ParseFlags(rest); err != nil {
		t.Errorf("%s: %q: %v", where, line, err)
	}
}

// runbookAnchors are the GitHub anchors of docs/RUNBOOK.md's headings.
func runbookAnchors(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "docs", "RUNBOOK.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	inBlock := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			inBlock = !inBlock
		}
		if inBlock || !strings.HasPrefix(line, "#") {
			continue
		}
		out[githubAnchor(strings.TrimLeft(line, "# "))] = true
	}
	return out
}

// githubAnchor is GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens.
func githubAnchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// The rules use only metrics that exist: the exporter's, the API's (per the spec),
// Prometheus's own `up`, and the file's recording rules.
func TestAlertMetricsExist(t *testing.T) {
	_, records := alertRules(t)
	known := knownMetrics()
	for _, r := range records {
		known[r] = "recording rule"
	}
	known["up"] = "Prometheus"
	var f ruleFile
	readYAML(t, filepath.Join(monitoringDir, "alerts.yaml"), &f)
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			names := metricNames(r.Expr)
			if len(names) == 0 {
				t.Errorf("%s%s: no metric found in %q", r.Alert, r.Record, r.Expr)
			}
			for _, n := range names {
				if known[n] == "" {
					t.Errorf("%s%s: %s is neither exported by vrwxctl exporter nor by the API", r.Alert, r.Record, n)
				}
			}
		}
	}
}

// knownMetrics maps every series name that exists to who exports it: the exporter's
// metrics (a histogram as its _bucket, _sum and _count series), then the API's.
func knownMetrics() map[string]string {
	known := map[string]string{}
	for _, m := range exporter.Metrics {
		known[m.Name] = "exporter"
		if m.Type == "histogram" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				known[m.Name+s] = "exporter"
			}
		}
	}
	for _, m := range apiMetrics {
		if known[m] == "" {
			known[m] = "API"
		}
	}
	return known
}

var (
	promqlStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promqlMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping  = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promqlOperators = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"}
)

// metricNames returns the metric names a PromQL expression selects: identifiers that
// are not functions (followed by "("), keywords, label names or parts of numbers.
func metricNames(expr string) []string {
	s := promqlStrings.ReplaceAllString(expr, `""`)
	s = promqlMatchers.ReplaceAllString(s, " ")
	s = promqlRanges.ReplaceAllString(s, " ")
	s = promqlGrouping.ReplaceAllString(s, " ")
	var out []string
	for _, loc := range promqlIdent.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		if loc[0] > 0 {
			if c := s[loc[0]-1]; c == '$' || c == '.' || (c >= '0' && c <= '9') {
				continue
			}
		}
		rest := strings.TrimLeft(s[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") || slices.Contains(promqlOperators, strings.ToLower(name)) {
			continue
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

func TestMetricNamesParser(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum(rate(vrwx_relay_tx_success_total[5m])) / sum(rate(vrwx_relay_tx_total[5m]))`:         {"vrwx_relay_tx_success_total", "vrwx_relay_tx_total"},
		`histogram_quantile(0.95, sum by (le) (rate(vrwx_relay_gas_used_bucket{job="api"}[5m])))`: {"vrwx_relay_gas_used_bucket"},
		`time() - vrwx_chain_head_timestamp_seconds > 1e3`:                                        {"vrwx_chain_head_timestamp_seconds"},
		`max(vrwx_dlq_unresolved) > 10 and max(vrwx_dlq_unresolved) <= 50`:                        {"vrwx_dlq_unresolved"},
		`vrwx_base_fee_gwei >= on(instance) vrwx_max_fee_per_gas_gwei`:                            {"vrwx_base_fee_gwei", "vrwx_max_fee_per_gas_gwei"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", expr, got, want)
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// docs/monitoring/README.md lists exactly the metrics the exporter publishes, with
// their types and labels.
func TestMonitoringReadmeListsTheMetrics(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(monitoringDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(vrwx_[a-z_]+)` \\| (gauge|counter|histogram) \\| ([a-z_, ]*) \\|")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		documented[m[1]] = m[2] + " " + strings.TrimSpace(m[3])
	}
	for _, m := range exporter.Metrics {
		want := m.Type + " " + strings.Join(m.Labels, ", ")
		if got, ok := documented[m.Name]; !ok || got != want {
			t.Errorf("README row for %s: %q, want %q", m.Name, got, want)
		}
		delete(documented, m.Name)
	}
	for name := range documented {
		t.Errorf("README documents %s, which the exporter does not publish", name)
	}
}

// Every metric docs/monitoring names — in the rules, their unit tests, the dashboard
// and the README — is one vrwxctl's exporter publishes or one spec/VRWX.md lists as
// the API's; and nothing there is called an API metric, since the rules and panels
// the runbook needs are the exporter's (the API's relay counters do not exist).
func TestMonitoringDocsNameOnlyExportedMetrics(t *testing.T) {
	known := knownMetrics()
	name := regexp.MustCompile(`vrwx_[a-z0-9_]*[a-z0-9]`)
	seen := 0
	err := filepath.WalkDir(monitoringDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text := string(b)
		if strings.Contains(strings.ToLower(text), "api metric") {
			t.Errorf("%s calls something an API metric", path)
		}
		for _, loc := range name.FindAllStringIndex(text, -1) {
			if loc[1] < len(text) && strings.ContainsRune("_*", rune(text[loc[1]])) {
				continue // a family named by its prefix: vrwx_service_*, vrwx_tx_*_total
			}
			seen++
			if n := text[loc[0]:loc[1]]; known[n] == "" {
				t.Errorf("%s names %s, which neither vrwxctl exporter nor the API (spec/VRWX.md) exports", path, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 50 {
		t.Errorf("only %d metric names found in %s", seen, monitoringDir)
	}
}
