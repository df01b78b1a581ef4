package exporter

import (
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// What writeText writes is what Prometheus's own parser reads back: label values
// and help text with quotes, backslashes and line feeds, special floats,
// histograms (cumulative buckets, +Inf, sum, count), metrics without samples left
// out, each metric's series under one HELP and TYPE.
func TestTextFormatRoundTrips(t *testing.T) {
	defs := []Metric{
		{"t_up", "gauge", nil, "Up.\nSecond line with a \\ backslash."},
		{"t_absent", "gauge", nil, "Has no sample."},
		{"t_reads_total", "counter", []string{"url", "position"}, "Reads."},
		{"t_gas", "histogram", []string{"relayer"}, "Gas."},
		{"t_latency", "histogram", nil, "Latency."},
	}
	odd := `http://h/"q"\path` + "\nx"
	samples := []sample{
		{name: "t_reads_total", labels: []string{odd, "0"}, value: 3},
		{name: "t_up", value: math.Inf(1)},
		{name: "t_reads_total", labels: []string{"http://b", "1"}, value: 1.5e-7},
		{name: "t_gas", labels: []string{"0xA"}, hist: &histValue{bounds: []float64{21000, 1e6}, cumulative: []uint64{2, 5}, sum: 2.5e6, count: 6}},
		{name: "t_latency", hist: &histValue{bounds: []float64{0.5}, cumulative: []uint64{0}, sum: 0, count: 0}},
	}
	var b strings.Builder
	if err := writeText(&b, defs, samples); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if strings.Count(text, "# TYPE t_reads_total counter\n") != 1 || strings.Contains(text, "t_absent") {
		t.Errorf("want one TYPE line per metric with samples:\n%s", text)
	}
	if strings.Index(text, "t_up") > strings.Index(text, "t_reads_total") {
		t.Errorf("metrics out of their list's order:\n%s", text)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("Prometheus's parser refuses it: %v\n%s", err, text)
	}
	up := fams["t_up"]
	if up.GetHelp() != defs[0].Help || !math.IsInf(up.GetMetric()[0].GetGauge().GetValue(), 1) {
		t.Errorf("t_up read back as %v", up)
	}
	gas := fams["t_gas"].GetMetric()
	if len(gas) != 1 || gas[0].GetLabel()[0].GetValue() != "0xA" {
		t.Fatalf("t_gas: %v", gas)
	}
	h := gas[0].GetHistogram()
	if bk := h.GetBucket(); len(bk) != 3 || bk[0].GetUpperBound() != 21000 || bk[0].GetCumulativeCount() != 2 || bk[1].GetUpperBound() != 1e6 ||
		bk[1].GetCumulativeCount() != 5 || !math.IsInf(bk[2].GetUpperBound(), 1) || bk[2].GetCumulativeCount() != 6 ||
		h.GetSampleCount() != 6 || h.GetSampleSum() != 2.5e6 {
		t.Errorf("t_gas read back as %v", h)
	}
	if lat := fams["t_latency"].GetMetric(); len(lat) != 1 || lat[0].GetHistogram().GetSampleCount() != 0 || len(lat[0].GetHistogram().GetBucket()) != 2 {
		t.Errorf("t_latency read back as %v", lat)
	}
	if !strings.Contains(text, `t_gas_bucket{relayer="0xA",le="+Inf"} 6`+"\n") || !strings.Contains(text, `t_latency_bucket{le="0.5"} 0`+"\n") {
		t.Errorf("histogram lines:\n%s", text)
	}
	reads := fams["t_reads_total"].GetMetric()
	if len(reads) != 2 {
		t.Fatalf("t_reads_total: %v", reads)
	}
	for i, want := range []struct {
		url, pos string
		v        float64
	}{{odd, "0", 3}, {"http://b", "1", 1.5e-7}} {
		labels := map[string]string{}
		for _, l := range reads[i].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["url"] != want.url || labels["position"] != want.pos || reads[i].GetCounter().GetValue() != want.v {
			t.Errorf("series %d read back as %v %v, want %q %q %v", i, labels, reads[i].GetCounter().GetValue(), want.url, want.pos, want.v)
		}
	}
}

// A sample that does not fit its metric is a bug that must not pass as output.
func TestTextFormatRefusesMismatchedSamples(t *testing.T) {
	defs := []Metric{{"t_x", "gauge", []string{"a"}, "X."}, {"t_h", "histogram", nil, "H."}}
	for name, s := range map[string]sample{
		"too few label values":    {name: "t_x", value: 1},
		"unlisted metric":         {name: "t_y", value: 1},
		"a histogram for a gauge": {name: "t_x", labels: []string{"v"}, hist: &histValue{}},
		"a value for a histogram": {name: "t_h", value: 1},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			_ = writeText(&strings.Builder{}, defs, []sample{s})
		}()
	}
}

// The process's own metrics carry values a person can check: this test's process
// has goroutines, has used CPU, and on Linux has resident memory and open files.
func TestStandardSamples(t *testing.T) {
	testStart := time.Unix(1_700_000_000, 250_000_000)
	got := map[string]float64{}
	for _, s := range standardSamples(testStart) {
		got[s.name] = s.value
	}
	listed := map[string]bool{}
	for _, m := range Standard {
		listed[m.Name] = true
	}
	for n := range got {
		if !listed[n] {
			t.Errorf("%s is sampled but not in Standard", n)
		}
	}
	if got["go_goroutines"] < 1 || got["process_max_fds"] < 1 || got["process_start_time_seconds"] != 1_700_000_000.25 {
		t.Errorf("implausible: %v", got)
	}
	if _, ok := got["process_cpu_seconds_total"]; !ok {
		t.Errorf("no process_cpu_seconds_total: %v", got)
	}
	if runtime.GOOS == "linux" {
		if got["process_resident_memory_bytes"] < 1<<20 || got["process_virtual_memory_bytes"] < got["process_resident_memory_bytes"] || got["process_open_fds"] < 3 {
			t.Errorf("implausible /proc readings: %v", got)
		}
	}
}
