// Package exportertest scrapes a Prometheus endpoint over HTTP and parses what it
// served with Prometheus's own text-format parser, so tests assert on samples the
// way Prometheus would see them.
package exportertest

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Sample is one series' value.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Samples are a scrape's series by metric name.
type Samples map[string][]Sample

// Scrape GETs url (a /metrics endpoint), fails the test on anything but a 200 in
// the Prometheus text format, and returns the parsed series.
func Scrape(t testing.TB, url string) Samples {
	t.Helper()
	s, err := TryScrape(url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TryScrape is Scrape returning the error.
func TryScrape(url string) (Samples, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: HTTP %d\n%s", url, resp.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		return nil, fmt.Errorf("scrape %s: not the Prometheus text format: %w\n%s", url, err, body)
	}
	out := Samples{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			s := Sample{Labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.Labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.Gauge != nil:
				s.Value = m.GetGauge().GetValue()
			case m.Counter != nil:
				s.Value = m.GetCounter().GetValue()
			case m.Untyped != nil:
				s.Value = m.GetUntyped().GetValue()
			case m.Histogram != nil:
				// As Prometheus stores a histogram: _bucket{le}, _sum and _count series.
				h := m.GetHistogram()
				with := func(extra ...string) map[string]string {
					l := maps.Clone(s.Labels)
					for i := 0; i+1 < len(extra); i += 2 {
						l[extra[i]] = extra[i+1]
					}
					return l
				}
				for _, b := range h.GetBucket() {
					out[name+"_bucket"] = append(out[name+"_bucket"], Sample{Labels: with("le", strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)), Value: float64(b.GetCumulativeCount())})
				}
				out[name+"_bucket"] = append(out[name+"_bucket"], Sample{Labels: with("le", "+Inf"), Value: float64(h.GetSampleCount())})
				out[name+"_sum"] = append(out[name+"_sum"], Sample{Labels: with(), Value: h.GetSampleSum()})
				out[name+"_count"] = append(out[name+"_count"], Sample{Labels: with(), Value: float64(h.GetSampleCount())})
				continue
			default:
				continue
			}
			out[name] = append(out[name], s)
		}
	}
	return out, nil
}

// Get returns the value of name's series whose labels include every pair in
// labels ("k", "v", ...), and whether exactly one such series exists.
func (s Samples) Get(name string, labels ...string) (float64, bool) {
	var found []Sample
	for _, smp := range s[name] {
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			if smp.Labels[labels[i]] != labels[i+1] {
				ok = false
				break
			}
		}
		if ok {
			found = append(found, smp)
		}
	}
	if len(found) != 1 {
		return 0, false
	}
	return found[0].Value, true
}

// Names are the metric names served, sorted.
func (s Samples) Names() []string {
	out := make([]string, 0, len(s))
	for n := range s {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
