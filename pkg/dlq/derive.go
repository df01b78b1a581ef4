package dlq

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Derived is the quality score and work units the API computed from a completion's
// webhook body before it relayed it — the values the controller signed. The live
// API's TX_FAIL payloads carry the body, not the values, so a replay recomputes them
// (spec/VRWX.md, "How the API derives quality and work units").
type Derived struct {
	QualityScore uint64 `json:"quality_score"`
	WorkUnits    uint64 `json:"work_units"`
	// Rule says how they were computed, in the payload's terms.
	Rule string `json:"rule"`
	// Assumed lists what the payload did not say and was taken from elsewhere: the
	// API's clock when a delivery lacks startTs or endTs.
	Assumed []string `json:"assumed,omitempty"`
}

// maxQuality is the API's cap on a quality score.
const maxQuality = 120

// Derive computes quality and work units from a webhook body as the API does:
//
//   - inspection: ratio = coverageVisited / coverageTotal (0 when coverageTotal is not
//     positive); quality = round(ratio × 80 + 20 if there are artifacts);
//     work units = coverageVisited + number of artifacts.
//   - security_patrol: ratio = visited / expected checkpoints when patrol's
//     expectedCheckpoints is non-empty, else 1 if any checkpoint was visited, else 0;
//     dwell = min(mean(dwellSeconds) / 30, 1), 1 without dwell times;
//     quality = round(ratio × 70 + dwell × 30); work units = visited checkpoints.
//   - delivery: quality = 40 with a pickupProofHash + 40 with a dropoffProofHash + 10
//     with a route digest (a non-empty eventBundle) + 10 when 0 < (endTs − startTs)/60
//     < 120 minutes; work units = 1.
//   - a service section that is missing gives 0 and 0.
//
// Quality is capped at 120; round is JavaScript's Math.round (halves toward +∞).
// Arithmetic is IEEE double precision in the API's order, so results agree to the
// bit. apiNow is the API's clock when it handled the request: a delivery without
// startTs or endTs took them from it (startTs = now − 3600, endTs = now); the DLQ
// row's created_at is the closest reading of it there is.
//
// A payload from which the API could not have computed a valid uint8/uint32 (a
// field of the wrong type, a negative or fractional result) is an error: such a
// completion was never signed, so there is nothing to derive.
func Derive(payload string, apiNow time.Time) (Derived, error) {
	var body map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader([]byte(payload)))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		return Derived{}, fmt.Errorf("payload is not a JSON object: %v", err)
	}
	st, err := str(body, "serviceType")
	if err != nil {
		return Derived{}, err
	}
	var d Derived
	switch st {
	case "inspection":
		d, err = deriveInspection(body)
	case "security_patrol":
		d, err = derivePatrol(body)
	case "delivery":
		d, err = deriveDelivery(body, apiNow)
	case "":
		return Derived{}, fmt.Errorf("payload has no serviceType")
	default:
		return Derived{}, fmt.Errorf("service type %q: the API derives quality and work units for inspection, security_patrol and delivery only", st)
	}
	if err != nil {
		return Derived{}, fmt.Errorf("%s: %w", st, err)
	}
	return d, nil
}

func deriveInspection(body map[string]json.RawMessage) (Derived, error) {
	sec, ok, err := section(body, "inspection")
	if err != nil || !ok {
		return missing("inspection"), err
	}
	visited, err := num(sec, "inspection.coverageVisited", true)
	if err != nil {
		return Derived{}, err
	}
	total, err := num(sec, "inspection.coverageTotal", false)
	if err != nil {
		return Derived{}, err
	}
	artifacts, err := arrayLen(body, "artifacts")
	if err != nil {
		return Derived{}, err
	}
	ratio := 0.0
	if total > 0 {
		ratio = visited / total
	}
	bonus := 0.0
	if artifacts > 0 {
		bonus = 20
	}
	// The conversion rounds ratio × 80 on its own, as JavaScript does: Go may
	// otherwise fuse the multiply and the add into one rounding.
	q, err := quality(float64(ratio*80) + bonus)
	if err != nil {
		return Derived{}, err
	}
	w, err := workUnits(visited + float64(artifacts))
	if err != nil {
		return Derived{}, err
	}
	return Derived{QualityScore: q, WorkUnits: w,
		Rule: fmt.Sprintf("inspection: coverage %s/%s, %d artifact(s): round(%s × 80 + %s), %s + %d", fmtNum(visited), fmtNum(total), artifacts,
			fmtNum(ratio), fmtNum(bonus), fmtNum(visited), artifacts)}, nil
}

func derivePatrol(body map[string]json.RawMessage) (Derived, error) {
	sec, ok, err := section(body, "patrol")
	if err != nil || !ok {
		return missing("patrol"), err
	}
	visited, err := arrayLenRequired(sec, "patrol.checkpointsVisited")
	if err != nil {
		return Derived{}, err
	}
	dwell, err := numbers(sec, "patrol.dwellSeconds")
	if err != nil {
		return Derived{}, err
	}
	expected, err := arrayLen(sec, "patrol.expectedCheckpoints")
	if err != nil {
		return Derived{}, err
	}
	var ratio float64
	switch {
	case expected > 0:
		ratio = float64(visited) / float64(expected)
	case visited > 0:
		ratio = 1
	}
	compliance := 1.0
	if len(dwell) > 0 {
		sum := 0.0
		for _, v := range dwell {
			sum += v
		}
		compliance = math.Min(sum/float64(len(dwell))/30, 1)
	}
	q, err := quality(float64(ratio*70) + float64(compliance*30))
	if err != nil {
		return Derived{}, err
	}
	of := "any visited"
	if expected > 0 {
		of = fmt.Sprintf("of %d expected", expected)
	}
	return Derived{QualityScore: q, WorkUnits: uint64(visited),
		Rule: fmt.Sprintf("security_patrol: %d checkpoint(s) visited (%s), %d dwell time(s): round(%s × 70 + %s × 30), %d", visited, of, len(dwell),
			fmtNum(ratio), fmtNum(compliance), visited)}, nil
}

func deriveDelivery(body map[string]json.RawMessage, apiNow time.Time) (Derived, error) {
	sec, ok, err := section(body, "delivery")
	if err != nil || !ok {
		return missing("delivery"), err
	}
	var d Derived
	var parts []string
	q := 0
	if nonEmpty(sec["pickupProofHash"]) {
		q += 40
		parts = append(parts, "pickup proof 40")
	}
	if nonEmpty(sec["dropoffProofHash"]) {
		q += 40
		parts = append(parts, "dropoff proof 40")
	}
	if nonEmpty(body["eventBundle"]) {
		q += 10
		parts = append(parts, "route digest 10")
	}
	// The API reads `startTs || now - 3600` and `endTs || now`: absent, null and 0
	// all fall back to its clock.
	now := math.Floor(float64(apiNow.UnixMilli()) / 1000)
	start, hasStart, err := timestamp(body, "startTs")
	if err != nil {
		return Derived{}, err
	}
	end, hasEnd, err := timestamp(body, "endTs")
	if err != nil {
		return Derived{}, err
	}
	if !hasStart {
		start = now - 3600
	}
	if !hasEnd {
		end = now
	}
	if hasStart != hasEnd {
		d.Assumed = append(d.Assumed, fmt.Sprintf("the API's clock at the request (for the missing %s) is taken as the DLQ row's created_at, %s",
			map[bool]string{true: "endTs", false: "startTs"}[hasStart], apiNow.UTC().Format(time.RFC3339)))
	}
	minutes := (end - start) / 60
	shown := strings.TrimSuffix(strconv.FormatFloat(minutes, 'f', 1, 64), ".0")
	if minutes > 0 && minutes < 120 {
		q += 10
		parts = append(parts, shown+" min on time 10")
	} else {
		parts = append(parts, shown+" min not within (0, 120) 0")
	}
	d.QualityScore, d.WorkUnits = uint64(min(q, maxQuality)), 1
	d.Rule = "delivery: " + strings.Join(parts, " + ") + ", work units 1"
	return d, nil
}

func missing(name string) Derived {
	return Derived{Rule: "no " + name + " section: 0 and 0"}
}

// quality applies Math.round and the cap, and refuses what no uint8 holds.
func quality(x float64) (uint64, error) {
	r, err := jsRound(x)
	if err != nil {
		return 0, fmt.Errorf("quality: %w", err)
	}
	r = math.Min(r, maxQuality)
	if r < 0 {
		return 0, fmt.Errorf("quality computes to %s, which no uint8 holds", fmtNum(r))
	}
	return uint64(r), nil
}

// workUnits refuses what no uint32 holds: the API could not have signed it.
func workUnits(x float64) (uint64, error) {
	if x < 0 || x != math.Trunc(x) || x > math.MaxUint32 {
		return 0, fmt.Errorf("work units compute to %s, which no uint32 holds", fmtNum(x))
	}
	return uint64(x), nil
}

// jsRound is JavaScript's Math.round: the nearest integer, halves toward +∞
// (2.5 → 3, -2.5 → -2), and exact for values just below a half (0.49999999999999994
// → 0), which floor(x + 0.5) is not.
func jsRound(x float64) (float64, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%v is not a number", x)
	}
	r := math.Floor(x)
	if x-r >= 0.5 {
		r++
	}
	return r, nil
}

func fmtNum(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func str(m map[string]json.RawMessage, key string) (string, error) {
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s is %s, expected a string", key, raw)
	}
	return s, nil
}

// section returns the object under key; ok is false when it is absent or null.
func section(m map[string]json.RawMessage, key string) (map[string]json.RawMessage, bool, error) {
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		return nil, false, nil
	}
	var sec map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&sec); err != nil {
		return nil, false, fmt.Errorf("%s is %s, expected an object", key, raw)
	}
	return sec, true, nil
}

// num reads a JSON number as JavaScript does (IEEE double, nearest); a missing
// optional one reads as undefined would compare: not positive, so 0 is returned.
func num(m map[string]json.RawMessage, path string, required bool) (float64, error) {
	key := path[strings.LastIndex(path, ".")+1:]
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		if required {
			return 0, fmt.Errorf("%s is missing", path)
		}
		return 0, nil
	}
	return parseNum(path, raw)
}

func parseNum(path string, raw json.RawMessage) (float64, error) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil || strings.HasPrefix(string(raw), `"`) {
		return 0, fmt.Errorf("%s is %s, expected a number", path, raw)
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil {
		return 0, fmt.Errorf("%s is %s, expected a number", path, raw)
	}
	return f, nil
}

// arrayLen is the length of an optional array (0 when absent or null).
func arrayLen(m map[string]json.RawMessage, path string) (int, error) {
	key := path[strings.LastIndex(path, ".")+1:]
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		return 0, nil
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		return 0, fmt.Errorf("%s is %s, expected an array", path, raw)
	}
	return len(a), nil
}

// arrayLenRequired is the length of an array the API reads unconditionally.
func arrayLenRequired(m map[string]json.RawMessage, path string) (int, error) {
	key := path[strings.LastIndex(path, ".")+1:]
	if raw, ok := m[key]; !ok || string(raw) == "null" {
		return 0, fmt.Errorf("%s is missing", path)
	}
	return arrayLen(m, path)
}

// numbers reads a required array of numbers.
func numbers(m map[string]json.RawMessage, path string) ([]float64, error) {
	key := path[strings.LastIndex(path, ".")+1:]
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		return nil, fmt.Errorf("%s is missing", path)
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("%s is %s, expected an array of numbers", path, raw)
	}
	out := make([]float64, len(a))
	for i, r := range a {
		f, err := parseNum(fmt.Sprintf("%s[%d]", path, i), r)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

// nonEmpty is JavaScript's `x && x.length > 0` for the JSON a payload holds: a
// non-empty string or array.
func nonEmpty(raw json.RawMessage) bool {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s != ""
	}
	var a []json.RawMessage
	if json.Unmarshal(raw, &a) == nil {
		return len(a) > 0
	}
	return false
}

// timestamp reads an optional unix-seconds number; ok is false when the API would
// have used its own clock (absent, null or 0).
func timestamp(m map[string]json.RawMessage, key string) (float64, bool, error) {
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		return 0, false, nil
	}
	f, err := parseNum(key, raw)
	if err != nil {
		return 0, false, err
	}
	return f, f != 0, nil
}
