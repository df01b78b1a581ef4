package dlq_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	clidlq "github.com/vrwx/vrwxctl/pkg/cli/dlq"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/dlq"
)

func TestMain(m *testing.M) { clitest.Main(m) }

func fixture(t *testing.T, txFails ...apidbtest.TxFailRow) *apidbtest.Fixture {
	t.Helper()
	fx, err := apidbtest.BuildFixture(context.Background(), filepath.Join(t.TempDir(), "vrwx.db"),
		apidbtest.FixtureOptions{JobCompletions: 20, Payments: 5, TxFails: txFails})
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// query answers one SQL question about the file, independently of package dlq.
func query(t *testing.T, path, q string, args ...any) string {
	t.Helper()
	d, err := apidb.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var v sql.NullString
	if err := d.QueryRow(q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v.String
}

func depth(t *testing.T, path string) int {
	n, _ := strconv.Atoi(query(t, path, `SELECT count(*) FROM dlq_events WHERE resolved_at IS NULL`))
	return n
}

func TestStatsExitCodesFollowThresholds(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	fx := fixture(t)
	e.Vars["DATABASE_PATH"] = fx.Path
	d := depth(t, fx.Path)
	if d < 3 {
		t.Fatalf("fixture has only %d unresolved events", d)
	}
	for _, tc := range []struct {
		warn, crit int
		code       int
		level      string
	}{
		{d, d + 10, 0, "ok"}, // depth == warn is not above it
		{d - 1, d + 10, 5, "warn"},
		{d - 2, d - 1, 1, "crit"},
	} {
		e.WriteConfig(fmt.Sprintf("profiles:\n  local:\n    dlq_warn: %d\n    dlq_crit: %d\n", tc.warn, tc.crit))
		var out clidlq.StatsJSON
		r := e.Run("dlq", "stats", "-o", "json")
		r.JSON(t, &out)
		if r.Code != tc.code || string(out.Level) != tc.level || out.Summary.Depth != int64(d) || out.Warn != int64(tc.warn) {
			t.Fatalf("warn %d crit %d depth %d: want exit %d level %s, got %d %+v", tc.warn, tc.crit, d, tc.code, tc.level, r.Code, out)
		}
		var txFail int64
		fmt.Sscan(query(t, fx.Path, `SELECT count(*) FROM dlq_events WHERE resolved_at IS NULL AND type = 'TX_FAIL'`), &txFail)
		if out.Summary.UnresolvedByType["TX_FAIL"] != txFail {
			t.Fatalf("TX_FAIL unresolved %d, the table has %d", out.Summary.UnresolvedByType["TX_FAIL"], txFail)
		}
	}
	// The brief's example: warning threshold 2 with the default critical 50.
	e.WriteConfig("profiles:\n  local:\n    dlq_warn: 2\n")
	r := e.Run("dlq", "stats")
	want := 5
	if d > 50 {
		want = 1
	}
	if r.Code != want || !strings.Contains(r.Stdout, fmt.Sprintf("%d unresolved", d)) || !strings.Contains(r.Stdout, "warning > 2, critical > 50") || !strings.Contains(r.Stdout, "exceeded retries") {
		t.Fatalf("text stats:\n%s", r)
	}
}

func TestListShowResolve(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	fx := fixture(t)
	d := depth(t, fx.Path)

	var events []dlq.Event
	e.MustRun(0, "dlq", "list", "--db", fx.Path, "--unresolved", "--limit", "1000", "-o", "json").JSON(t, &events)
	if len(events) != d {
		t.Fatalf("list --unresolved: %d events, the table has %d", len(events), d)
	}
	e.MustRun(0, "dlq", "list", "--db", fx.Path, "--type", "tx_fail", "-o", "json").JSON(t, &events)
	if len(events) == 0 {
		t.Fatal("no TX_FAIL events listed")
	}
	for _, ev := range events {
		if ev.Type != "TX_FAIL" {
			t.Fatalf("--type TX_FAIL listed %s", ev.Type)
		}
	}
	job := events[0].JobID
	e.MustRun(0, "dlq", "list", "--db", fx.Path, "--job", job, "-o", "json").JSON(t, &events)
	if len(events) == 0 || events[0].JobID != job {
		t.Fatalf("--job %s: %+v", job, events)
	}
	r := e.MustRun(0, "dlq", "list", "--db", fx.Path, "--job", "999999999", "-o", "json")
	if strings.TrimSpace(r.Stdout) != "[]" {
		t.Fatalf("empty list must be []: %q", r.Stdout)
	}
	for _, args := range [][]string{{"--type", "NOPE"}, {"--limit", "0"}, {"--job", "x"}} {
		e.MustRun(2, append([]string{"dlq", "list", "--db", fx.Path}, args...)...)
	}

	id := query(t, fx.Path, `SELECT min(id) FROM dlq_events WHERE resolved_at IS NULL`)
	r = e.MustRun(0, "dlq", "show", id, "--db", fx.Path)
	if !strings.Contains(r.Stdout, "DLQ EVENT "+id) || !strings.Contains(r.Stdout, "unresolved") || !strings.Contains(r.Stdout, "{\n  \"") {
		t.Fatalf("show: want the event with its payload indented:\n%s", r)
	}
	var shown dlq.Event
	e.MustRun(0, "dlq", "show", id, "--db", fx.Path, "-o", "json").JSON(t, &shown)
	if strconv.FormatInt(shown.ID, 10) != id || shown.Payload != query(t, fx.Path, `SELECT payload FROM dlq_events WHERE id = ?`, id) {
		t.Fatalf("show -o json: %+v", shown)
	}
	if r := e.Run("dlq", "show", "99999", "--db", fx.Path); r.Code != 1 || !strings.Contains(r.Stderr, "does not exist") {
		t.Fatalf("show of a missing id:\n%s", r)
	}
	e.MustRun(2, "dlq", "show", "abc", "--db", fx.Path)

	// Resolve: refused without --yes, then done once, then an error.
	e.Vars["DATABASE_PATH"] = fx.Path
	if r := e.Run("dlq", "resolve", id, "--as", "MANUAL", "--notes", "INC-77"); r.Code != 3 {
		t.Fatalf("resolve without --yes and without a terminal: want exit 3:\n%s", r)
	}
	if got := query(t, fx.Path, `SELECT resolved_at FROM dlq_events WHERE id = ?`, id); got != "" {
		t.Fatalf("an unconfirmed resolve wrote resolved_at %s", got)
	}
	e.MustRun(0, "dlq", "resolve", id, "--as", "MANUAL", "--notes", "INC-77", "--dry-run")
	if got := query(t, fx.Path, `SELECT resolved_at FROM dlq_events WHERE id = ?`, id); got != "" {
		t.Fatalf("a dry-run resolve wrote resolved_at %s", got)
	}
	var res clidlq.ResolveJSON
	e.MustRun(0, "dlq", "resolve", id, "--as", "manual", "--notes", "INC-77: relayed by hand", "--yes", "-o", "json").JSON(t, &res)
	if res.Event.ResolutionType != "MANUAL" || res.Event.ResolvedAt == nil {
		t.Fatalf("resolve -o json: %+v", res)
	}
	if got := query(t, fx.Path, `SELECT resolution_type || '|' || resolution_notes FROM dlq_events WHERE id = ? AND resolved_at IS NOT NULL`, id); got != "MANUAL|INC-77: relayed by hand" {
		t.Fatalf("row after resolve: %q", got)
	}
	if got := depth(t, fx.Path); got != d-1 {
		t.Fatalf("depth after one resolve: %d, want %d", got, d-1)
	}
	if r := e.Run("dlq", "resolve", id, "--as", "SKIPPED", "--notes", "again", "--yes"); r.Code != 1 || !strings.Contains(r.Stderr, "already resolved") {
		t.Fatalf("second resolve: want exit 1:\n%s", r)
	}
	if r := e.Run("dlq", "resolve", "99999", "--as", "SKIPPED", "--notes", "x", "--yes"); r.Code != 1 || !strings.Contains(r.Stderr, "does not exist") {
		t.Fatalf("resolve of a missing id: want exit 1:\n%s", r)
	}
	for _, args := range [][]string{
		{id, "--as", "RETRIED", "--notes", "x", "--yes"},
		{id, "--as", "MANUAL", "--yes"},
		{"0", "--as", "MANUAL", "--notes", "x", "--yes"},
	} {
		e.MustRun(2, append([]string{"dlq", "resolve"}, args...)...)
	}
	if r := e.Run("dlq", "stats", "--db", filepath.Join(t.TempDir(), "nope.db")); r.Code != 2 {
		t.Fatalf("stats on a missing file: want exit 2:\n%s", r)
	}
}

// sign signs the completion claim for the seeded job name with controller key ctrl.
func sign(t *testing.T, e *clitest.Env, name string, ctrl int) (id string, hash common.Hash, sig string) {
	t.Helper()
	c, err := devchain.SignJobCompletion(context.Background(), e.D, e.D.Jobs[name], crypto.Keccak256Hash([]byte("manifest-"+name)), 100, 12,
		devchain.DevKey(ctrl), e.D.ChainID, e.D.Escrow)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatUint(c.JobID, 10), c.CompletionHash, hexutil.Encode(c.Signature)
}

func relayerNonce(t *testing.T, e *clitest.Env) string {
	var n string
	if err := e.Anvil.RPC(context.Background(), &n, "eth_getTransactionCount", e.D.Relayer, "pending"); err != nil {
		t.Fatal(err)
	}
	return n
}

// Replaying a TX_FAIL row on the local chain completes the job and marks the row
// RETRIED with the transaction hash; a row whose signature fails the preflight sends
// nothing and stays unresolved; a row without quality and work units needs them.
func TestReplayTxFail(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["RELAYER_PRIVATE_KEY"] = devchain.DevKeyHex(devchain.AccountRelayer)
	id, hash, sig := sign(t, e, devchain.JobFunded, devchain.AccountActiveController)
	_, _, wrongSig := sign(t, e, devchain.JobFunded, 7)
	q, w := uint64(100), uint64(12)
	fx := fixture(t,
		apidbtest.TxFailRow{JobID: id, ManifestHash: hash.Hex(), ControllerSig: wrongSig, QualityScore: &q, WorkUnits: &w},
		apidbtest.TxFailRow{JobID: id, ManifestHash: hash.Hex(), ControllerSig: sig, ServiceType: "cleaning"},
		apidbtest.TxFailRow{JobID: id, ManifestHash: hash.Hex(), ControllerSig: sig, QualityScore: &q, WorkUnits: &w, RetryCount: 3},
	)
	e.Vars["DATABASE_PATH"] = fx.Path
	bad, noQW, good := fx.TxFailIDs[0], fx.TxFailIDs[1], fx.TxFailIDs[2]
	n0 := relayerNonce(t, e)

	r := e.Run("dlq", "replay", fmt.Sprint(bad), "--signer", "env://RELAYER_PRIVATE_KEY", "--yes")
	if r.Code != 1 || !strings.Contains(r.Stderr, "preflight failed") || !strings.Contains(r.Stderr, "nothing was sent") {
		t.Fatalf("replay with a wrong signer's signature: want exit 1 from the preflight:\n%s", r)
	}
	if got := query(t, fx.Path, `SELECT resolved_at FROM dlq_events WHERE id = ?`, bad); got != "" {
		t.Fatalf("a failed replay resolved the row at %s", got)
	}
	if n := relayerNonce(t, e); n != n0 {
		t.Fatalf("a failed preflight sent a transaction (nonce %s -> %s)", n0, n)
	}

	r = e.Run("dlq", "replay", fmt.Sprint(noQW), "--signer", "env://RELAYER_PRIVATE_KEY", "--yes")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--quality") || !strings.Contains(r.Stderr, "--work-units") || !strings.Contains(r.Stderr, `service type "cleaning"`) {
		t.Fatalf("replay of a payload without quality and work units that derives none: want exit 2 naming both flags and why:\n%s", r)
	}
	r = e.Run("dlq", "replay", fmt.Sprint(good), "--signer", "env://RELAYER_PRIVATE_KEY", "--quality", "99", "--yes")
	if r.Code != 2 || !strings.Contains(r.Stderr, "signed") {
		t.Fatalf("a --quality contradicting the payload: want exit 2:\n%s", r)
	}
	e.MustRun(2, "dlq", "replay", fmt.Sprint(good))

	var out clidlq.ReplayJSON
	r = e.Run("dlq", "replay", fmt.Sprint(good), "--signer", "env://RELAYER_PRIVATE_KEY", "--yes", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	r.JSON(t, &out)
	if out.Complete == nil || out.Complete.JobStatus != "COMPLETED" || !out.Complete.Event || out.Event == nil || out.Event.ResolutionType != "RETRIED" {
		t.Fatalf("replay json: %+v", out)
	}
	row := query(t, fx.Path, `SELECT resolution_type || '|' || resolution_notes FROM dlq_events WHERE id = ? AND resolved_at IS NOT NULL`, good)
	if row != "RETRIED|replayed by vrwxctl: tx "+out.Complete.Tx.TxHash {
		t.Fatalf("row after replay: %q (tx %s)", row, out.Complete.Tx.TxHash)
	}
	var gj struct {
		Job struct {
			Status         string `json:"status"`
			CompletionHash string `json:"completionHash"`
		} `json:"job"`
	}
	e.MustRun(0, "job", "get", id, "-o", "json").JSON(t, &gj)
	if gj.Job.Status != "COMPLETED" || !strings.EqualFold(gj.Job.CompletionHash, hash.Hex()) {
		t.Fatalf("job after replay: %+v", gj)
	}
	if r := e.Run("dlq", "replay", fmt.Sprint(good), "--signer", "env://RELAYER_PRIVATE_KEY", "--yes"); r.Code != 1 || !strings.Contains(r.Stderr, "already resolved") {
		t.Fatalf("second replay: want exit 1:\n%s", r)
	}
	// A row of another type is not replayable.
	other := query(t, fx.Path, `SELECT min(id) FROM dlq_events WHERE type <> 'TX_FAIL' AND resolved_at IS NULL`)
	if r := e.Run("dlq", "replay", other, "--signer", "env://RELAYER_PRIVATE_KEY", "--yes"); r.Code != 2 {
		t.Fatalf("replay of a non-TX_FAIL row: want exit 2:\n%s", r)
	}
}
