package dlq

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// nodeRules computes quality and work units in JavaScript from the spec's wording,
// one JSON payload per line in, "quality workUnits" per line out: a differential
// oracle for Derive's floating point and Math.round.
const nodeRules = `
const lines = require("fs").readFileSync(0, "utf8").trim().split("\n");
const now = Number(process.argv[1]);
for (const line of lines) {
  const b = JSON.parse(line);
  let q = 0, w = 0;
  if (b.serviceType === "inspection" && b.inspection) {
    const i = b.inspection, n = (b.artifacts || []).length;
    q = Math.round((i.coverageTotal > 0 ? i.coverageVisited / i.coverageTotal : 0) * 80 + (n > 0 ? 20 : 0));
    w = i.coverageVisited + n;
  } else if (b.serviceType === "security_patrol" && b.patrol) {
    const p = b.patrol, exp = p.expectedCheckpoints;
    const ratio = exp && exp.length > 0 ? p.checkpointsVisited.length / exp.length : (p.checkpointsVisited.length > 0 ? 1 : 0);
    let dwell = 1;
    if (p.dwellSeconds.length > 0) dwell = Math.min(p.dwellSeconds.reduce((a, x) => a + x, 0) / p.dwellSeconds.length / 30, 1);
    q = Math.round(ratio * 70 + dwell * 30);
    w = p.checkpointsVisited.length;
  } else if (b.serviceType === "delivery" && b.delivery) {
    const d = b.delivery, s = b.startTs || now - 3600, e = b.endTs || now, m = (e - s) / 60;
    q = (d.pickupProofHash && d.pickupProofHash.length > 0 ? 40 : 0) + (d.dropoffProofHash && d.dropoffProofHash.length > 0 ? 40 : 0) +
        (b.eventBundle && b.eventBundle.length > 0 ? 10 : 0) + (m > 0 && m < 120 ? 10 : 0);
    w = 1;
  }
  console.log(Math.min(q, 120) + " " + w);
}
`

// Random payloads of every service type give the same values in Derive as in
// JavaScript run by node.
func TestDeriveAgreesWithJavaScript(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node not found (scripts/tools.sh needs it)")
		}
		t.Skip("node not installed: it is the JavaScript oracle")
	}
	rng := rand.New(rand.NewPCG(11, 7))
	now := time.Unix(1_760_000_000, 0)
	var payloads []string
	for i := 0; i < 3000; i++ {
		b := map[string]any{}
		switch i % 3 {
		case 0:
			total := rng.IntN(200)
			b["serviceType"] = "inspection"
			b["inspection"] = map[string]any{"coverageVisited": rng.IntN(total + 20), "coverageTotal": total}
			b["artifacts"] = make([]map[string]string, rng.IntN(3))
		case 1:
			visited := make([]string, rng.IntN(12))
			dwell := make([]float64, rng.IntN(6))
			for k := range dwell {
				dwell[k] = float64(rng.IntN(900)) / 10
			}
			p := map[string]any{"checkpointsVisited": visited, "dwellSeconds": dwell}
			if rng.IntN(2) == 0 {
				p["expectedCheckpoints"] = make([]string, rng.IntN(12))
			}
			b["serviceType"], b["patrol"] = "security_patrol", p
		default:
			b["serviceType"] = "delivery"
			b["delivery"] = map[string]any{"pickupProofHash": strings.Repeat("a", rng.IntN(2)), "dropoffProofHash": strings.Repeat("b", rng.IntN(2))}
			b["eventBundle"] = make([]int, rng.IntN(2))
			if rng.IntN(4) > 0 {
				b["startTs"] = now.Unix() - int64(rng.IntN(10_000))
			}
			if rng.IntN(4) > 0 {
				b["endTs"] = now.Unix() - int64(rng.IntN(5_000))
			}
		}
		raw, _ := json.Marshal(b)
		payloads = append(payloads, string(raw))
	}
	cmd := exec.Command(node, "-e", nodeRules, fmt.Sprint(now.Unix()))
	cmd.Stdin = strings.NewReader(strings.Join(payloads, "\n"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(want) != len(payloads) {
		t.Fatalf("node answered %d lines for %d payloads", len(want), len(payloads))
	}
	for i, p := range payloads {
		d, err := Derive(p, now)
		got := fmt.Sprintf("%d %d", d.QualityScore, d.WorkUnits)
		if err != nil || got != want[i] {
			t.Errorf("%s: Derive = %s (%v), JavaScript = %s", p, got, err, want[i])
		}
	}
}
