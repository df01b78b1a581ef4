package doctor_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/dlq/dlqtest"
)

// The live API's failures never reach the chain: it estimates gas first, and a
// completion that would revert fails there. With TX_FAIL rows carrying
// InvalidSignature reverts (real eth_estimateGas answers, as ethers words them) and
// no reverted transaction on chain, doctor relay ranks invalid signatures first from
// the DLQ, with the rows' count and newest time and a fix built from the claim in
// the reason; without the database it says the DLQ was not read rather than ruling
// them out on the chain's word alone.
func TestRelayRanksInvalidSignaturesFromTheDLQ(t *testing.T) {
	e, _ := env(t)
	ctx := context.Background()
	b, err := dlqtest.NewBuilder(ctx, e.D)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Now()
	var rows []apidbtest.TxFailRow
	for i, tag := range []string{"a", "b", "c"} {
		c, err := b.Sign(ctx, devchain.JobFunded, tag, 100, 10, devchain.DevKey(devchain.AccountBuyer), e.D.ChainID, e.D.Escrow)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := b.Estimate(ctx, "InvalidSignature", c)
		if err != nil {
			t.Fatal(err)
		}
		r := cs.Row(inspectionBody)
		r.RobotID = e.D.Robots[devchain.RobotActive].ID.Hex()
		r.CreatedAt = now.Add(-time.Duration(30-10*i) * time.Minute)
		rows = append(rows, r)
	}
	c, err := b.Controller(ctx, devchain.JobFundedOverdue, "late", 100, 10)
	if err != nil {
		t.Fatal(err)
	}
	late, err := b.Estimate(ctx, "DeadlinePassed", c)
	if err != nil {
		t.Fatal(err)
	}
	r := late.Row(inspectionBody)
	r.CreatedAt = now.Add(-5 * time.Minute)
	rows = append(rows, r)
	// An InvalidSignature of yesterday is outside the window.
	old := rows[0]
	old.CreatedAt = now.Add(-26 * time.Hour)
	rows = append([]apidbtest.TxFailRow{old}, rows...)
	fx, err := apidbtest.BuildFixture(ctx, filepath.Join(t.TempDir(), "vrwx.db"),
		apidbtest.FixtureOptions{JobCompletions: 5, Payments: 1, DLQEvents: 1, ChainID: int64(e.D.ChainID), TxFails: rows})
	if err != nil {
		t.Fatal(err)
	}

	// Without the database, the chain alone rules nothing out honestly.
	out := relay(t, e, 0)
	for _, c := range out.RuledOut {
		if c.Name == "Invalid signatures" && !strings.Contains(strings.Join(c.Evidence, " "), "the DLQ was not read") {
			t.Errorf("ruled out without saying the DLQ was not read: %+v", c)
		}
	}

	e.Vars["DATABASE_PATH"] = fx.Path
	out = relay(t, e, 5)
	for _, tx := range out.Transactions {
		if tx.Revert != nil {
			t.Fatalf("the chain has a reverted transaction; the test wants none: %+v", tx)
		}
	}
	sig := firstCause(t, out, "Invalid signatures")
	ev := strings.Join(sig.Evidence, " ")
	if sig.DLQRows != 3 || sig.Newest == nil || now.Sub(*sig.Newest) > 11*time.Minute || now.Sub(*sig.Newest) < 9*time.Minute ||
		!strings.Contains(ev, "3 TX_FAIL row(s) (3 unresolved) failed at estimateGas (the relay never reached the chain) with InvalidSignature") ||
		!strings.Contains(sig.Fix, "vrwxctl doctor signature "+e.D.Robots[devchain.RobotActive].ID.Hex()+" --job ") {
		t.Fatalf("invalid signatures: %+v", sig)
	}
	if ruledOut(out, "Invalid signatures") {
		t.Errorf("ruled out although the DLQ shows it: %+v", out.RuledOut)
	}
	if len(out.Causes) < 2 || out.Causes[1].Name != "Completions the escrow rejects" || out.Causes[1].DLQRows != 1 {
		t.Errorf("second cause: %+v", out.Causes)
	}
	if out.DLQ == nil || out.DLQ.Rows != 4 || out.DLQ.Groups[0].Cause != "InvalidSignature" || out.DLQ.Groups[0].Rows != 3 {
		t.Errorf("dlq %+v", out.DLQ)
	}
	for _, c := range out.RuledOut {
		if !strings.Contains(strings.Join(c.Evidence, " "), "none of the DLQ's 4 TX_FAIL row(s)") {
			t.Errorf("ruled out without the DLQ's word: %+v", c)
		}
	}
	text := e.Run("doctor", "relay")
	for _, want := range []string{"recent failures", "InvalidSignature 3", "1. ! Invalid signatures  3 DLQ row(s), newest"} {
		if !strings.Contains(text.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, text.Stdout)
		}
	}

	// A narrower window sees only the DeadlinePassed row.
	out = relay(t, e, 5, "--since", "7m")
	if len(out.Causes) != 1 || out.Causes[0].Name != "Completions the escrow rejects" || !ruledOut(out, "Invalid signatures") {
		t.Errorf("--since 7m: causes %+v ruled out %+v", out.Causes, out.RuledOut)
	}
	e.MustRun(2, "doctor", "relay", "--since", "-1h")
}

var inspectionBody = map[string]any{
	"inspection": map[string]any{"coverageVisited": 45, "coverageTotal": 50},
	"artifacts":  []map[string]any{{"type": "photo", "sha256": "ab", "bytes": 10}},
}
