package dlq

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// JavaScript's Math.round: halves go toward +∞, and a value just below a half is not
// pushed over it by the addition floor(x + 0.5) would make.
func TestJSRound(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want float64 }{
		{2.5, 3}, {-2.5, -2}, {3.5, 4}, {-3.5, -3}, {2.4999999999999996, 2}, {0.49999999999999994, 0},
		{-0.5, 0}, {-0.6, -1}, {67.5, 68}, {92, 92}, {119.99, 120},
	} {
		got, err := jsRound(c.in)
		if err != nil || got != c.want {
			t.Errorf("jsRound(%v) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// The spec's rules ("How the API derives quality and work units"), case by case.
func TestDeriveFollowsTheAPIRules(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := created.Unix()
	cases := []struct {
		name    string
		payload string
		q, w    uint64
		assumed bool
		rule    string
	}{
		// inspection: round(coverageVisited/coverageTotal × 80 + 20 with artifacts), coverageVisited + artifacts
		{"inspection with artifacts", `{"serviceType":"inspection","inspection":{"coverageVisited":45,"coverageTotal":50},"artifacts":[{"type":"photo"},{"type":"log"}]}`, 92, 47, false, "coverage 45/50, 2 artifact(s)"},
		{"inspection without artifacts", `{"serviceType":"inspection","inspection":{"coverageVisited":45,"coverageTotal":50},"artifacts":[]}`, 72, 45, false, ""},
		{"inspection, half rounds up", `{"serviceType":"inspection","inspection":{"coverageVisited":1,"coverageTotal":32}}`, 3, 1, false, ""},
		{"inspection, 3 of 7", `{"serviceType":"inspection","inspection":{"coverageVisited":3,"coverageTotal":7},"artifacts":[{}]}`, 54, 4, false, ""},
		{"inspection, zero total", `{"serviceType":"inspection","inspection":{"coverageVisited":5,"coverageTotal":0},"artifacts":[{}]}`, 20, 6, false, ""},
		{"inspection, total missing", `{"serviceType":"inspection","inspection":{"coverageVisited":5}}`, 0, 5, false, ""},
		{"inspection capped at 120", `{"serviceType":"inspection","inspection":{"coverageVisited":100,"coverageTotal":50},"artifacts":[{}]}`, 120, 101, false, ""},
		{"inspection section missing", `{"serviceType":"inspection","patrol":{"checkpointsVisited":["a"],"dwellSeconds":[]}}`, 0, 0, false, "no inspection section"},
		// security_patrol: round(ratio × 70 + min(mean dwell / 30, 1) × 30), visited checkpoints
		{"patrol, no expected list", `{"serviceType":"security_patrol","patrol":{"checkpointsVisited":["a","b","c"],"dwellSeconds":[30,35,40]}}`, 100, 3, false, "3 checkpoint(s) visited (any visited)"},
		{"patrol, 3 of 4, half dwell: 67.5 rounds up", `{"serviceType":"security_patrol","patrol":{"checkpointsVisited":["a","b","c"],"dwellSeconds":[15],"expectedCheckpoints":["a","b","c","d"]}}`, 68, 3, false, "of 4 expected"},
		{"patrol, nothing visited", `{"serviceType":"security_patrol","patrol":{"checkpointsVisited":[],"dwellSeconds":[]}}`, 30, 0, false, ""},
		{"patrol, empty expected list counts as none", `{"serviceType":"security_patrol","patrol":{"checkpointsVisited":["a","b"],"dwellSeconds":[],"expectedCheckpoints":[]}}`, 100, 2, false, ""},
		{"patrol, more than expected", `{"serviceType":"security_patrol","patrol":{"checkpointsVisited":["a","b","c","d","e"],"dwellSeconds":[60],"expectedCheckpoints":["a","b","c","d"]}}`, 118, 5, false, ""},
		{"patrol capped at 120", `{"serviceType":"security_patrol","patrol":{"checkpointsVisited":["a","b","c","d","e","f"],"dwellSeconds":[60],"expectedCheckpoints":["a","b","c","d"]}}`, 120, 6, false, ""},
		{"patrol, short dwell", `{"serviceType":"security_patrol","patrol":{"checkpointsVisited":["a"],"dwellSeconds":[10,11]}}`, 81, 1, false, ""},
		{"patrol section missing", `{"serviceType":"security_patrol"}`, 0, 0, false, "no patrol section"},
		// delivery: 40 pickup + 40 dropoff + 10 route digest + 10 when 0 < minutes < 120; 1 work unit
		{"delivery, everything", `{"serviceType":"delivery","delivery":{"pickupProofHash":"0xaa","dropoffProofHash":"0xbb"},"eventBundle":[{"e":1}],"startTs":1700000000,"endTs":1700001800}`, 100, 1, false, "30 min on time"},
		{"delivery, pickup only, 3 hours", `{"serviceType":"delivery","delivery":{"pickupProofHash":"0xaa","dropoffProofHash":""},"eventBundle":[],"startTs":1700000000,"endTs":1700010800}`, 40, 1, false, ""},
		{"delivery, exactly 120 minutes is late", `{"serviceType":"delivery","delivery":{"pickupProofHash":"0xaa","dropoffProofHash":"0xbb"},"startTs":1700000000,"endTs":1700007200}`, 80, 1, false, ""},
		{"delivery, zero duration", `{"serviceType":"delivery","delivery":{"pickupProofHash":"0xaa","dropoffProofHash":"0xbb"},"startTs":1700000000,"endTs":1700000000}`, 80, 1, false, ""},
		{"delivery, no timestamps: the API's default hour", `{"serviceType":"delivery","delivery":{"pickupProofHash":"0xaa","dropoffProofHash":"0xbb"}}`, 90, 1, false, "60 min on time"},
		{"delivery, startTs 0 is the default too", `{"serviceType":"delivery","delivery":{},"startTs":0}`, 10, 1, false, ""},
		{"delivery, only startTs: the row's time stands in for the API's clock", `{"serviceType":"delivery","delivery":{"dropoffProofHash":"0xbb"},"startTs":` + itoa(at-600) + `}`, 50, 1, true, "10 min on time"},
		{"delivery, only endTs", `{"serviceType":"delivery","delivery":{"dropoffProofHash":"0xbb"},"endTs":` + itoa(at-7200) + `}`, 40, 1, true, ""},
		{"delivery section missing", `{"serviceType":"delivery","startTs":1,"endTs":60}`, 0, 0, false, "no delivery section"},
	}
	for _, c := range cases {
		d, err := Derive(c.payload, created)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if d.QualityScore != c.q || d.WorkUnits != c.w || (len(d.Assumed) > 0) != c.assumed || !strings.Contains(d.Rule, c.rule) {
			t.Errorf("%s: got quality %d work units %d assumed %v rule %q; want %d %d %v %q", c.name, d.QualityScore, d.WorkUnits, d.Assumed, d.Rule, c.q, c.w, c.assumed, c.rule)
		}
	}
}

// What the API could not have signed, or does not derive, is an error naming why.
func TestDeriveRefusesWhatTheAPICouldNotHaveSigned(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ payload, want string }{
		{`not json`, "not a JSON object"},
		{`{"jobId":1}`, "no serviceType"},
		{`{"serviceType":"cleaning"}`, `service type "cleaning"`},
		{`{"serviceType":"inspection","inspection":{"coverageVisited":1.5,"coverageTotal":2}}`, "work units compute to 1.5"},
		{`{"serviceType":"inspection","inspection":{"coverageVisited":"45","coverageTotal":50}}`, "inspection.coverageVisited is \"45\", expected a number"},
		{`{"serviceType":"inspection","inspection":{"coverageTotal":50}}`, "inspection.coverageVisited is missing"},
		{`{"serviceType":"inspection","inspection":{"coverageVisited":-1,"coverageTotal":32}}`, "quality computes to -2"},
		{`{"serviceType":"inspection","inspection":{"coverageVisited":1,"coverageTotal":2},"artifacts":{"a":1}}`, "artifacts is"},
		{`{"serviceType":"security_patrol","patrol":{"checkpointsVisited":["a"]}}`, "patrol.dwellSeconds is missing"},
		{`{"serviceType":"security_patrol","patrol":{"checkpointsVisited":["a"],"dwellSeconds":[30,"x"]}}`, "patrol.dwellSeconds[1]"},
		{`{"serviceType":"security_patrol","patrol":{"dwellSeconds":[]}}`, "patrol.checkpointsVisited is missing"},
		{`{"serviceType":"delivery","delivery":[]}`, "delivery is [], expected an object"},
		{`{"serviceType":"delivery","delivery":{},"startTs":"yesterday"}`, "startTs"},
	} {
		if _, err := Derive(c.payload, time.Now()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Derive(%s) = %v, want an error with %q", c.payload, err, c.want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
