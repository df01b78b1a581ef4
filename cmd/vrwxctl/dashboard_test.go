package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/exporter/exportertest"
)

type dashPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"`
}

func dashboardPanels(t *testing.T) []dashPanel {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(monitoringDir, "grafana", "vrwx-relay.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID           string      `json:"uid"`
		Title         string      `json:"title"`
		SchemaVersion int         `json:"schemaVersion"`
		Panels        []dashPanel `json:"panels"`
		Inputs        []struct {
			Name     string `json:"name"`
			PluginID string `json:"pluginId"`
		} `json:"__inputs"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("vrwx-relay.json: %v", err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 || len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].PluginID != "prometheus" {
		t.Fatalf("dashboard header: uid %q title %q schema %d inputs %+v", d.UID, d.Title, d.SchemaVersion, d.Inputs)
	}
	var all []dashPanel
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			all = append(all, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return all
}

// The dashboard imports (one Prometheus data source input), has the runbook's panels,
// and every query names only metrics that exist: the exporter's, or the API's per
// spec/VRWX.md.
func TestDashboardQueriesNameExportedMetrics(t *testing.T) {
	known := knownMetrics()
	ids := map[int]bool{}
	var titles []string
	exprs := 0
	for _, p := range dashboardPanels(t) {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		titles = append(titles, p.Title)
		if p.GridPos.W < 1 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H < 1 {
			t.Errorf("%q: gridPos %+v", p.Title, p.GridPos)
		}
		switch p.Type {
		case "row", "text":
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${DS_PROMETHEUS}" || len(p.Targets) == 0 {
			t.Errorf("%q: data source %+v, %d targets", p.Title, p.Datasource, len(p.Targets))
		}
		for _, tg := range p.Targets {
			exprs++
			names := metricNames(tg.Expr)
			if len(names) == 0 {
				t.Errorf("%q: no metric in %q", p.Title, tg.Expr)
			}
			for _, n := range names {
				if known[n] == "" {
					t.Errorf("%q: %s (in %q) is exported by neither vrwxctl exporter nor the API", p.Title, n, tg.Expr)
				}
			}
		}
	}
	joined := strings.ToLower(strings.Join(titles, "|"))
	for _, want := range []string{"wallet balance", "success and failure", "gas price", "completion latency"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no panel for the runbook's %q (panels: %s)", want, joined)
		}
	}
	if exprs < 10 {
		t.Errorf("only %d queries", exprs)
	}
}

// checkDashboardQueries runs every dashboard query on a real Prometheus that scrapes
// the exporter: each must be valid PromQL, and each that uses only exporter metrics
// must return data.
func checkDashboardQueries(t *testing.T, prom *exportertest.Prometheus) {
	t.Helper()
	known := knownMetrics()
	for _, p := range dashboardPanels(t) {
		for _, tg := range p.Targets {
			res, err := prom.Query(tg.Expr)
			if err != nil {
				t.Errorf("%q: Prometheus rejects %q: %v", p.Title, tg.Expr, err)
				continue
			}
			exporterOnly := true
			for _, n := range metricNames(tg.Expr) {
				if known[n] != "exporter" {
					exporterOnly = false
				}
			}
			if exporterOnly && len(res) == 0 {
				t.Errorf("%q: %q returns nothing although the exporter is scraped", p.Title, tg.Expr)
			}
		}
	}
}
