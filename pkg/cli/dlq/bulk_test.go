package dlq_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	clidlq "github.com/vrwx/vrwxctl/pkg/cli/dlq"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// signed is a completion the active robot's controller signed with given values.
type signed struct {
	job  string
	hash common.Hash
	sig  string
}

func signValues(t *testing.T, e *clitest.Env, name string, quality uint8, workUnits uint32) signed {
	t.Helper()
	c, err := devchain.SignJobCompletion(context.Background(), e.D, e.D.Jobs[name], crypto.Keccak256Hash([]byte("live-manifest-"+name)), quality, workUnits,
		devchain.DevKey(devchain.AccountActiveController), e.D.ChainID, e.D.Escrow)
	if err != nil {
		t.Fatal(err)
	}
	return signed{job: strconv.FormatUint(c.JobID, 10), hash: c.CompletionHash, sig: hexutil.Encode(c.Signature)}
}

// liveRow is a TX_FAIL row as the live API writes it: the webhook body with its
// service section, no quality score, no work units.
func liveRow(s signed, serviceType string, body map[string]any) apidbtest.TxFailRow {
	return apidbtest.TxFailRow{JobID: s.job, ManifestHash: s.hash.Hex(), ControllerSig: s.sig, ServiceType: serviceType, Body: body}
}

// The inspection the API scored 92 with 47 work units (45 of 50 covered, two artifacts).
var inspection92 = map[string]any{
	"inspection": map[string]any{"coverageVisited": 45, "coverageTotal": 50},
	"artifacts":  []map[string]any{{"type": "photo", "sha256": "ab", "bytes": 10}, {"type": "thermal_scan", "sha256": "cd", "bytes": 20}},
	"startTs":    1_760_000_000, "endTs": 1_760_000_400,
}

// The patrol the API scored 68 with 3 work units: 3 of 4 checkpoints (0.75 × 70 =
// 52.5) and half the dwell target (15 s of 30: 15), 67.5 rounded up as Math.round does.
var patrol68 = map[string]any{
	"patrol": map[string]any{"checkpointsVisited": []string{"gate", "dock", "roof"}, "dwellSeconds": []int{15},
		"expectedCheckpoints": []string{"gate", "dock", "roof", "lobby"}},
}

type jobOnChain struct {
	Job struct {
		Status       string `json:"status"`
		QualityScore uint8  `json:"qualityScore"`
		WorkUnits    uint32 `json:"workUnits"`
	} `json:"job"`
}

func onChain(t *testing.T, e *clitest.Env, id string) jobOnChain {
	t.Helper()
	var j jobOnChain
	e.MustRun(0, "job", "get", id, "-o", "json").JSON(t, &j)
	return j
}

// dlq replay derives quality and work units from the live API's payload as the API
// did, shows them before sending, and the escrow accepts the controller's signature
// over exactly those values; flags override a derived value.
func TestReplayDerivesValuesFromTheLivePayload(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["RELAYER_PRIVATE_KEY"] = devchain.DevKeyHex(devchain.AccountRelayer)
	insp := signValues(t, e, devchain.JobFunded, 92, 47)
	patrol := signValues(t, e, devchain.JobFundedSoon, 68, 3)
	// The controller signed 100 and 12, but the payload derives 92 and 47.
	other := signValues(t, e, devchain.JobFundedReopened, 100, 12)
	fx := fixture(t, liveRow(insp, "inspection", inspection92), liveRow(patrol, "security_patrol", patrol68), liveRow(other, "inspection", inspection92))
	e.Vars["DATABASE_PATH"] = fx.Path
	a, b, c := fx.TxFailIDs[0], fx.TxFailIDs[1], fx.TxFailIDs[2]

	r := e.Run("dlq", "replay", fmt.Sprint(a), "--signer", "env://RELAYER_PRIVATE_KEY", "--yes")
	if r.Code != 0 {
		t.Fatalf("replay of a live inspection row:\n%s", r)
	}
	for _, want := range []string{fmt.Sprintf("DLQ event %d → completion of job %s", a, insp.job), "92  (derived)", "47  (derived)", "inspection: coverage 45/50, 2 artifact(s)"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("the summary lacks %q:\n%s", want, r)
		}
	}
	if j := onChain(t, e, insp.job); j.Job.Status != "COMPLETED" || j.Job.QualityScore != 92 || j.Job.WorkUnits != 47 {
		t.Fatalf("job %s after the replay: %+v", insp.job, j)
	}

	var out clidlq.ReplayJSON
	e.MustRun(0, "dlq", "replay", fmt.Sprint(b), "--signer", "env://RELAYER_PRIVATE_KEY", "--yes", "-o", "json").JSON(t, &out)
	if v := out.Values; v.QualityScore != 68 || v.QualityFrom != "derived" || v.WorkUnits != 3 || v.WorkUnitsFrom != "derived" || !strings.Contains(v.Rule, "of 4 expected") ||
		out.Completion.Derived == nil || out.Event == nil || out.Event.ResolutionType != "RETRIED" {
		t.Fatalf("replay json: %+v %+v", out.Values, out)
	}
	if j := onChain(t, e, patrol.job); j.Job.QualityScore != 68 || j.Job.WorkUnits != 3 {
		t.Fatalf("job %s after the replay: %+v", patrol.job, j)
	}

	// Derived values the controller did not sign fail the preflight; the flags say
	// what was signed, and win.
	n0 := relayerNonce(t, e)
	r = e.Run("dlq", "replay", fmt.Sprint(c), "--signer", "env://RELAYER_PRIVATE_KEY", "--yes")
	if r.Code != 1 || !strings.Contains(r.Stderr, "preflight failed: signer") || !strings.Contains(r.Stderr, "are derived from the payload") || relayerNonce(t, e) != n0 {
		t.Fatalf("derived values the controller did not sign: want a failed preflight and nothing sent:\n%s", r)
	}
	out = clidlq.ReplayJSON{}
	e.MustRun(0, "dlq", "replay", fmt.Sprint(c), "--signer", "env://RELAYER_PRIVATE_KEY", "--quality", "100", "--work-units", "12", "--yes", "-o", "json").JSON(t, &out)
	if v := out.Values; v.QualityScore != 100 || v.QualityFrom != "--quality, overriding the derived 92" || v.WorkUnits != 12 || v.WorkUnitsFrom != "--work-units, overriding the derived 47" {
		t.Fatalf("flags over derived values: %+v", v)
	}
	if j := onChain(t, e, other.job); j.Job.Status != "COMPLETED" || j.Job.QualityScore != 100 {
		t.Fatalf("job %s after the replay with flags: %+v", other.job, j)
	}
}

// Replay in bulk: every row checked first, one summary, one confirmation, each row's
// outcome, and only the sendable rows sent.
func TestReplayBulk(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["RELAYER_PRIVATE_KEY"] = devchain.DevKeyHex(devchain.AccountRelayer)
	insp := signValues(t, e, devchain.JobFunded, 92, 47)
	patrol := signValues(t, e, devchain.JobFundedSoon, 68, 3)
	wrong := signValues(t, e, devchain.JobFundedReopened, 100, 12)
	fx := fixture(t, liveRow(insp, "inspection", inspection92), liveRow(patrol, "security_patrol", patrol68), liveRow(wrong, "inspection", inspection92))
	e.Vars["DATABASE_PATH"] = fx.Path
	a, b, c := fx.TxFailIDs[0], fx.TxFailIDs[1], fx.TxFailIDs[2]
	n0 := relayerNonce(t, e)
	unresolved := func(id int64) bool {
		return query(t, fx.Path, `SELECT resolved_at FROM dlq_events WHERE id = ?`, id) == ""
	}

	// Without --yes and without a terminal: the summary, then refused, nothing sent.
	r := e.Run("dlq", "replay", "--type", "TX_FAIL", "--all", "--signer", "env://RELAYER_PRIVATE_KEY")
	if r.Code != 3 || !strings.Contains(r.Stderr, "to send from "+e.D.Relayer.Hex()) || relayerNonce(t, e) != n0 || !unresolved(a) {
		t.Fatalf("bulk replay without --yes: want the summary, exit 3 and nothing sent:\n%s", r)
	}

	r = e.Run("dlq", "replay", fmt.Sprint(a), fmt.Sprint(b), fmt.Sprint(c), "99999", "--signer", "env://RELAYER_PRIVATE_KEY", "--reason", "INC-9", "--yes", "-o", "json")
	if r.Code != 1 {
		t.Fatalf("a bulk replay with a bad and a missing row: want exit 1:\n%s", r)
	}
	var out clidlq.BulkReplayJSON
	r.JSON(t, &out)
	if len(out.Rows) != 4 || out.From != e.D.Relayer.Hex() || out.Counts["replayed"] != 2 || out.Counts["skipped"] != 1 || out.Counts["missing"] != 1 {
		t.Fatalf("bulk json: %+v", out)
	}
	for i, want := range []struct {
		id      int64
		outcome string
	}{{a, "replayed"}, {b, "replayed"}, {c, "skipped"}, {99999, "missing"}} {
		if row := out.Rows[i]; row.ID != want.id || row.Outcome != want.outcome {
			t.Errorf("row %d: %+v, want event %d %s", i, row, want.id, want.outcome)
		}
	}
	if row := out.Rows[2]; !strings.Contains(row.Reason, "preflight: signer") || row.Values == nil || row.Values.QualityScore != 92 {
		t.Errorf("skipped row: %+v", row)
	}
	for _, row := range out.Rows[:2] {
		notes := query(t, fx.Path, `SELECT resolution_type || '|' || resolution_notes FROM dlq_events WHERE id = ?`, row.ID)
		if notes != "RETRIED|replayed by vrwxctl: tx "+row.TxHash+"; reason: INC-9" || row.JobStatus != "COMPLETED" {
			t.Errorf("event %d after the bulk replay: %q, %+v", row.ID, notes, row)
		}
	}
	if !unresolved(c) || relayerNonce(t, e) != hexutil.EncodeUint64(hexutil.MustDecodeUint64(n0)+2) {
		t.Errorf("the skipped row was touched, or not exactly two transactions were sent (nonce %s -> %s)", n0, relayerNonce(t, e))
	}
	// One summary for all of them, one line per transaction instead of a block each.
	if n := strings.Count(r.Stderr, "Replay 4 DLQ event(s): 2 to send"); n != 1 || strings.Contains(r.Stderr, "Transaction\n") {
		t.Errorf("want one summary and terse transactions, got %d summaries:\n%s", n, r.Stderr)
	}

	// --all now finds only rows that cannot be sent (the wrong values, and the
	// fixture's other TX_FAIL rows with made-up signatures): nothing is sent.
	n1 := relayerNonce(t, e)
	r = e.Run("dlq", "replay", "--all", "--signer", "env://RELAYER_PRIVATE_KEY", "--yes")
	if r.Code != 1 || !strings.Contains(r.Stdout, "OUTCOME") || !strings.Contains(r.Stdout, fmt.Sprintf("%d", c)) || relayerNonce(t, e) != n1 {
		t.Fatalf("--all with nothing sendable:\n%s", r)
	}
	if strings.Contains(r.Stdout, fmt.Sprintf("\n%d ", a)) {
		t.Errorf("--all listed the resolved event %d:\n%s", a, r.Stdout)
	}
}

// Resolve in bulk: ids or a filter, one summary, one confirmation, one transaction,
// each row's outcome, and notes with the reason in resolution_notes.
func TestResolveBulk(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	fx := fixture(t)
	e.Vars["DATABASE_PATH"] = fx.Path
	ids := strings.Split(query(t, fx.Path, `SELECT group_concat(id) FROM (SELECT id FROM dlq_events WHERE resolved_at IS NULL AND type = 'HASH_MISMATCH' ORDER BY id LIMIT 2)`), ",")
	if len(ids) != 2 {
		t.Fatalf("fixture: %v", ids)
	}
	count := func(q string) int { n, _ := strconv.Atoi(query(t, fx.Path, q)); return n }
	uploads := count(`SELECT count(*) FROM dlq_events WHERE resolved_at IS NULL AND type = 'UPLOAD_FAIL'`)
	if uploads < 2 {
		t.Fatalf("fixture has %d unresolved UPLOAD_FAIL rows", uploads)
	}
	d0 := depth(t, fx.Path)

	var out clidlq.BulkResolveJSON
	r := e.Run("dlq", "resolve", ids[0], ids[1], "99999", "--as", "skipped", "--notes", "duplicates", "--reason", "INC-5", "--yes", "-o", "json")
	if r.Code != 1 {
		t.Fatalf("bulk resolve with a missing id: want exit 1:\n%s", r)
	}
	r.JSON(t, &out)
	if out.Resolution != "SKIPPED" || out.Counts["resolved"] != 2 || out.Counts["missing"] != 1 || len(out.Rows) != 3 || out.Rows[2].Result != "missing" || out.Rows[2].Event != nil {
		t.Fatalf("bulk resolve json: %+v", out)
	}
	for _, id := range ids {
		if got := query(t, fx.Path, `SELECT resolution_type || '|' || resolution_notes FROM dlq_events WHERE id = ? AND resolved_at IS NOT NULL`, id); got != "SKIPPED|duplicates; reason: INC-5" {
			t.Errorf("event %s: %q", id, got)
		}
	}

	// A filter: refused without --yes, nothing written by a dry run, then all at once.
	if r := e.Run("dlq", "resolve", "--all", "--type", "UPLOAD_FAIL", "--as", "MANUAL", "--notes", "re-uploaded"); r.Code != 3 ||
		!strings.Contains(r.Stderr, fmt.Sprintf("Resolve %d DLQ event(s) as MANUAL", uploads)) {
		t.Fatalf("without --yes: want the summary and exit 3:\n%s", r)
	}
	out = clidlq.BulkResolveJSON{}
	e.MustRun(0, "dlq", "resolve", "--all", "--type", "UPLOAD_FAIL", "--as", "MANUAL", "--notes", "re-uploaded", "--dry-run", "-o", "json").JSON(t, &out)
	if !out.DryRun || out.Counts["dry-run"] != uploads || depth(t, fx.Path) != d0-2 {
		t.Fatalf("dry run: %+v (depth %d, want %d)", out, depth(t, fx.Path), d0-2)
	}
	r = e.MustRun(0, "dlq", "resolve", "--all", "--type", "upload_fail", "--as", "MANUAL", "--reason", "INC-81", "--yes")
	if !strings.Contains(r.Stderr, fmt.Sprintf("%d DLQ event(s) resolved as MANUAL", uploads)) || !strings.Contains(r.Stdout, "RESULT") {
		t.Errorf("text:\n%s", r)
	}
	if left := count(`SELECT count(*) FROM dlq_events WHERE resolved_at IS NULL AND type = 'UPLOAD_FAIL'`); left != 0 || depth(t, fx.Path) != d0-2-uploads {
		t.Errorf("%d UPLOAD_FAIL rows left unresolved; depth %d, want %d", left, depth(t, fx.Path), d0-2-uploads)
	}
	if n := count(`SELECT count(*) FROM dlq_events WHERE type = 'UPLOAD_FAIL' AND resolution_notes = 'INC-81' AND resolution_type = 'MANUAL'`); n != uploads {
		t.Errorf("%d rows carry the reason, want %d", n, uploads)
	}
	// Nothing left to match: said, exit 0, and an empty list in JSON.
	r = e.MustRun(0, "dlq", "resolve", "--all", "--type", "UPLOAD_FAIL", "--as", "MANUAL", "--notes", "again", "--yes")
	if !strings.Contains(r.Stderr, "nothing to resolve") {
		t.Errorf("no match:\n%s", r)
	}
	out = clidlq.BulkResolveJSON{}
	e.MustRun(0, "dlq", "resolve", "--all", "--type", "UPLOAD_FAIL", "--as", "MANUAL", "--notes", "again", "--yes", "-o", "json").JSON(t, &out)
	if out.Rows == nil || len(out.Rows) != 0 {
		t.Errorf("no match json: %+v", out)
	}
}
