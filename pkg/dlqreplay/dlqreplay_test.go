package dlqreplay_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/completion"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/dlqreplay"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/signer"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

func TestMain(m *testing.M) {
	code := m.Run()
	apidbtest.Cleanup()
	os.Exit(code)
}

// The inspection the API scored 92 with 47 work units (45 of 50 covered, two
// artifacts): the live API's payload, which carries neither value.
var inspection92 = map[string]any{
	"inspection": map[string]any{"coverageVisited": 45, "coverageTotal": 50},
	"artifacts":  []map[string]any{{"type": "photo", "sha256": "ab", "bytes": 10}, {"type": "thermal_scan", "sha256": "cd", "bytes": 20}},
	"startTs":    1_760_000_000, "endTs": 1_760_000_400,
}

// row is a TX_FAIL row of the seeded job name, signed by the active robot's
// controller over quality and workUnits, with the live API's inspection payload.
func row(t *testing.T, d *devchain.Deployment, name string, quality uint8, workUnits uint32) apidbtest.TxFailRow {
	t.Helper()
	c, err := devchain.SignJobCompletion(context.Background(), d, d.Jobs[name], crypto.Keccak256Hash([]byte("replay-"+name)), quality, workUnits,
		devchain.DevKey(devchain.AccountActiveController), d.ChainID, d.Escrow)
	if err != nil {
		t.Fatal(err)
	}
	return apidbtest.TxFailRow{JobID: fmt.Sprint(c.JobID), ManifestHash: c.CompletionHash.Hex(), ControllerSig: hexutil.Encode(c.Signature),
		ServiceType: "inspection", Body: inspection92}
}

// env is a chain with its contracts and the API's database holding rows.
type env struct {
	d      *devchain.Deployment
	c      *chain.Client
	db     *sql.DB
	fx     *apidbtest.Fixture
	audit  string
	stderr *bytes.Buffer
}

func setup(t *testing.T, rows func(d *devchain.Deployment) []apidbtest.TxFailRow) *env {
	t.Helper()
	_, d := devchain.StartT(t)
	c := chain.New(chain.Options{URLs: []string{d.RPCURL}, ChainID: d.ChainID})
	t.Cleanup(c.Close)
	fx, err := apidbtest.BuildFixture(context.Background(), filepath.Join(t.TempDir(), "vrwx.db"),
		apidbtest.FixtureOptions{JobCompletions: 20, Payments: 5, TxFails: rows(d)})
	if err != nil {
		t.Fatal(err)
	}
	db, err := apidb.Open(fx.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &env{d: d, c: c, db: db, fx: fx, audit: filepath.Join(t.TempDir(), "audit.log"), stderr: &bytes.Buffer{}}
}

// replayer is the workflow as a command builds it: the relayer's key, the shared
// send path on buffers, the profile's escrow.
func (e *env) replayer(t *testing.T, dryRun bool, fees chain.FeePolicy) *dlqreplay.Replayer {
	t.Helper()
	key := devchain.DevKeyHex(devchain.AccountRelayer)
	s, err := signer.Open(context.Background(), "env://RELAYER_KEY", secrets.Options{LookupEnv: func(k string) (string, bool) {
		return key, k == "RELAYER_KEY"
	}})
	if err != nil {
		t.Fatal(err)
	}
	flow := &txflow.Flow{Chain: e.c, Signer: s, IO: ui.Test(strings.NewReader(""), &bytes.Buffer{}, e.stderr), Audit: audit.Open(e.audit),
		Profile: "local", Command: "test", DryRun: dryRun, Poll: 10 * time.Millisecond}
	return &dlqreplay.Replayer{DB: e.db, Flow: flow, Checker: completion.Checker{Escrow: e.d.Escrow, Registry: e.d.Identity, Now: time.Now},
		Fees: fees, Now: time.Now, Reason: "INC-9"}
}

func (e *env) nonce(t *testing.T) uint64 {
	t.Helper()
	b := e.c.NewBatch()
	n := b.Nonce(e.d.Relayer, chain.Pending)
	if err := b.Do(context.Background()); err != nil || n.Err() != nil {
		t.Fatal(err, n.Err())
	}
	return uint64(n.Value)
}

func (e *env) jobStatus(t *testing.T, id string) vrwx.Status {
	t.Helper()
	job, _ := new(big.Int).SetString(id, 10)
	b := e.c.NewBatch()
	r := b.Call(e.d.Escrow, vrwx.PackJobs(job), chain.Latest)
	if err := b.Do(context.Background()); err != nil || r.Err() != nil {
		t.Fatal(err, r.Err())
	}
	j, err := vrwx.DecodeJob(job, r.Value)
	if err != nil {
		t.Fatal(err)
	}
	return j.Status
}

// event reads a row back from the file.
func (e *env) event(t *testing.T, id int64) dlq.Event {
	t.Helper()
	ev, err := dlq.Get(context.Background(), e.db, id)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func outcomes(rows []dlqreplay.Row) map[int64]string {
	out := map[int64]string{}
	for _, r := range rows {
		out[r.ID] = r.Outcome
	}
	return out
}

// Read and Plan judge every row before anything is sent: rows that cannot be
// replayed say why (missing, resolved, another type, a preflight that fails — with
// the hint that derived values may not be what the controller signed); a dry run
// sends nothing; Run sends the rest, marks them RETRIED with the transaction and
// the reason, and counts the outcomes.
func TestPlanAndRun(t *testing.T) {
	e := setup(t, func(d *devchain.Deployment) []apidbtest.TxFailRow {
		return []apidbtest.TxFailRow{
			row(t, d, devchain.JobFunded, 92, 47),          // derives 92/47: what was signed
			row(t, d, devchain.JobFundedReopened, 100, 12), // derives 92/47: the controller signed others
			row(t, d, devchain.JobFundedSoon, 92, 47),
		}
	})
	ctx := context.Background()
	good, wrong, soon := e.fx.TxFailIDs[0], e.fx.TxFailIDs[1], e.fx.TxFailIDs[2]
	all, err := dlq.List(ctx, e.db, dlq.Filter{Type: "TX_FAIL", All: true})
	if err != nil {
		t.Fatal(err)
	}
	resolved := slices.DeleteFunc(all, func(ev dlq.Event) bool { return !ev.Resolved() })
	if len(resolved) == 0 {
		t.Fatal("fixture: no resolved TX_FAIL row")
	}
	other, err := dlq.List(ctx, e.db, dlq.Filter{Type: "UPLOAD_FAIL", Unresolved: true, Limit: 1})
	if err != nil || len(other) != 1 {
		t.Fatalf("fixture: an unresolved UPLOAD_FAIL row: %v %v", other, err)
	}
	sel := dlqreplay.Selection{IDs: []int64{wrong, 99999, good, resolved[0].ID, other[0].ID, soon}}
	n0 := e.nonce(t)

	rows, err := dlqreplay.Read(ctx, e.db, sel, dlqreplay.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range sel.IDs {
		if rows[i].ID != id {
			t.Fatalf("rows not in the order asked for: %+v", rows)
		}
	}
	dry := e.replayer(t, true, chain.FeePolicy{})
	plan := dry.Plan(ctx, rows)
	if plan.Sendable() != 2 || !plan.Rows[2].Sendable() || !plan.Rows[5].Sendable() {
		t.Fatalf("plan: %d sendable, want events %d and %d: %+v", plan.Sendable(), good, soon, plan.Rows)
	}
	w := plan.Rows[0]
	if w.Outcome != dlqreplay.OutcomeSkipped || !strings.Contains(w.Reason, "preflight: signer") ||
		!strings.Contains(w.Hint, "the values are derived from the payload") || !strings.Contains(w.Hint, fmt.Sprintf("vrwxctl dlq replay %d", wrong)) ||
		w.Values == nil || w.Values.QualityScore != 92 || w.Values.QualityFrom != "derived" || w.Values.WorkUnits != 47 {
		t.Errorf("a row whose derived values the controller did not sign: %+v", w)
	}
	for i, want := range []struct{ outcome, reason string }{
		1: {dlqreplay.OutcomeMissing, "no such DLQ event"},
		3: {dlqreplay.OutcomeAlreadyResolved, resolved[0].ResolutionType + " at "},
		4: {dlqreplay.OutcomeSkipped, "UPLOAD_FAIL events cannot be replayed"},
	} {
		if want.outcome == "" {
			continue
		}
		if r := plan.Rows[i]; r.Outcome != want.outcome || !strings.Contains(r.Reason, want.reason) || r.Sendable() {
			t.Errorf("row %d: %+v, want %s: %s", i, r, want.outcome, want.reason)
		}
	}

	// A dry run signs and simulates each sendable row and sends nothing.
	rep := dry.Run(ctx, plan)
	if got := outcomes(rep.Rows); got[good] != dlqreplay.OutcomeDryRun || got[soon] != dlqreplay.OutcomeDryRun || !rep.DryRun ||
		rep.Counts[dlqreplay.OutcomeDryRun] != 2 || rep.Failed() != 4 {
		t.Fatalf("dry run: %+v", rep)
	}
	if e.nonce(t) != n0 || e.event(t, good).Resolved() || e.jobStatus(t, fmt.Sprint(e.d.Jobs[devchain.JobFunded])) != vrwx.StatusFunded {
		t.Fatal("a dry run sent a transaction or resolved a row")
	}

	rows, err = dlqreplay.Read(ctx, e.db, sel, dlqreplay.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	r := e.replayer(t, false, chain.FeePolicy{})
	rep = r.Run(ctx, r.Plan(ctx, rows))
	if rep.DryRun || rep.From != e.d.Relayer.Hex() || rep.Counts[dlqreplay.OutcomeReplayed] != 2 || rep.Counts[dlqreplay.OutcomeSkipped] != 2 ||
		rep.Counts[dlqreplay.OutcomeMissing] != 1 || rep.Counts[dlqreplay.OutcomeAlreadyResolved] != 1 || rep.Failed() != 4 {
		t.Fatalf("run: %+v", rep)
	}
	if e.nonce(t) != n0+2 {
		t.Fatalf("want exactly two transactions, nonce %d -> %d", n0, e.nonce(t))
	}
	for _, i := range []int{2, 5} {
		row := rep.Rows[i]
		ev := e.event(t, row.ID)
		if row.Outcome != dlqreplay.OutcomeReplayed || row.JobStatus != "COMPLETED" || row.TxHash == "" ||
			ev.ResolutionType != dlq.ResolutionRetried || ev.ResolutionNotes != "replayed by vrwxctl: tx "+row.TxHash+"; reason: INC-9" ||
			e.jobStatus(t, row.JobID) != vrwx.StatusCompleted {
			t.Errorf("replayed row %d: %+v, event %+v", row.ID, row, ev)
		}
	}
	if e.event(t, wrong).Resolved() || e.jobStatus(t, fmt.Sprint(e.d.Jobs[devchain.JobFundedReopened])) != vrwx.StatusFunded {
		t.Error("the skipped row was sent or resolved")
	}
	if !strings.Contains(e.stderr.String(), fmt.Sprintf("DLQ event %d: job %s, quality 92, work units 47", good, rep.Rows[2].JobID)) {
		t.Errorf("stderr lacks the row's line before its send:\n%s", e.stderr)
	}
}

// A refused rail stops the run: the row it refused failed, the rows after it are
// not run, nothing is sent. A completion mined whose row was resolved meanwhile (by
// the API, or an operator) is sent-unresolved, with its transaction; the next row
// still goes.
func TestRunStopsAndSentUnresolved(t *testing.T) {
	e := setup(t, func(d *devchain.Deployment) []apidbtest.TxFailRow {
		return []apidbtest.TxFailRow{row(t, d, devchain.JobFunded, 92, 47), row(t, d, devchain.JobFundedSoon, 92, 47)}
	})
	ctx := context.Background()
	a, b := e.fx.TxFailIDs[0], e.fx.TxFailIDs[1]
	sel := dlqreplay.Selection{IDs: []int64{a, b}}
	n0 := e.nonce(t)

	// A fee cap of one wei is below any base fee: the send path refuses it.
	r := e.replayer(t, false, chain.FeePolicy{MaxFeeCap: big.NewInt(1)})
	rows, err := dlqreplay.Read(ctx, e.db, sel, dlqreplay.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Run(ctx, r.Plan(ctx, rows))
	if ra := rep.Rows[0]; ra.Outcome != dlqreplay.OutcomeFailed || !strings.Contains(ra.Reason, "fee cap") {
		t.Fatalf("the refused row: %+v", ra)
	}
	if rb := rep.Rows[1]; rb.Outcome != dlqreplay.OutcomeNotRun || !strings.HasPrefix(rb.Reason, fmt.Sprintf("the run stopped after DLQ event %d: ", a)) || rb.TxHash != "" {
		t.Fatalf("the row after a refusal: %+v", rb)
	}
	if rep.Failed() != 2 || e.nonce(t) != n0 || e.event(t, a).Resolved() || e.event(t, b).Resolved() {
		t.Fatalf("after a refusal nothing is sent or resolved: %+v", rep)
	}

	// The rows are judged; then the first is resolved by someone else before its send.
	r = e.replayer(t, false, chain.FeePolicy{})
	rows, err = dlqreplay.Read(ctx, e.db, sel, dlqreplay.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	plan := r.Plan(ctx, rows)
	if plan.Sendable() != 2 {
		t.Fatalf("plan: %+v", plan.Rows)
	}
	if _, err := dlq.Resolve(ctx, e.db, a, dlq.ResolutionManual, "fixed by hand", time.Now()); err != nil {
		t.Fatal(err)
	}
	rep = r.Run(ctx, plan)
	ra, rb := rep.Rows[0], rep.Rows[1]
	if ra.Outcome != dlqreplay.OutcomeSentUnresolved || ra.TxHash == "" || ra.JobStatus != "COMPLETED" ||
		!strings.HasPrefix(ra.Reason, "marking it RETRIED failed: ") || !strings.Contains(ra.Reason, "already resolved") {
		t.Fatalf("a mined completion whose row was resolved meanwhile: %+v", ra)
	}
	if ev := e.event(t, a); ev.ResolutionType != dlq.ResolutionManual || e.jobStatus(t, ra.JobID) != vrwx.StatusCompleted {
		t.Fatalf("event %d after the send: %+v", a, ev)
	}
	if rb.Outcome != dlqreplay.OutcomeReplayed || e.event(t, b).ResolutionType != dlq.ResolutionRetried || e.nonce(t) != n0+2 {
		t.Fatalf("the row after a sent-unresolved one: %+v", rb)
	}
	if rep.Counts[dlqreplay.OutcomeSentUnresolved] != 1 || rep.Counts[dlqreplay.OutcomeReplayed] != 1 || rep.Failed() != 1 {
		t.Fatalf("counts: %+v", rep.Counts)
	}
}

// One row: Build rebuilds the completion with its derived values, Send submits it
// and marks the row RETRIED; the same claim again fails its preflight.
func TestSendOne(t *testing.T) {
	e := setup(t, func(d *devchain.Deployment) []apidbtest.TxFailRow {
		return []apidbtest.TxFailRow{row(t, d, devchain.JobFunded, 92, 47)}
	})
	ctx := context.Background()
	id := e.fx.TxFailIDs[0]
	b, err := dlqreplay.Build(e.event(t, id), dlqreplay.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Values.QualityFrom != "derived" || b.Claim.QualityScore != 92 || b.Claim.WorkUnits != 47 || b.Claim.JobID.String() != b.Completion.JobID {
		t.Fatalf("built: %+v", b)
	}
	r := e.replayer(t, false, chain.FeePolicy{})
	r.Flow.Yes = true
	s, err := r.Send(ctx, id, b.Claim)
	if err != nil {
		t.Fatal(err)
	}
	if s.Event == nil || s.Event.ResolutionType != dlq.ResolutionRetried || s.Result.JobStatus != "COMPLETED" ||
		e.event(t, id).ResolutionNotes != "replayed by vrwxctl: tx "+s.Result.Tx.TxHash+"; reason: INC-9" {
		t.Fatalf("sent: %+v %+v", s.Result, s.Event)
	}
	// The same claim again: refused before anything is signed — the chain shows the
	// completion made (which is also why its preflight would fail) — and the row is
	// left as it is.
	if _, err := r.Send(ctx, id, b.Claim); errs.KindOf(err) != errs.Refused || !errors.Is(err, txflow.ErrAlreadyPaid) || !strings.Contains(err.Error(), s.Result.Tx.TxHash) {
		t.Fatalf("second send: %v", err)
	}
}

// Values come from the payload, else the operator's override, else the
// derivation; an override that contradicts the payload, or values neither given nor
// derivable, are bad input naming the overrides by the caller's names.
func TestChooseValues(t *testing.T) {
	u := func(n uint64) *uint64 { return &n }
	names := dlqreplay.Overrides{Quality: dlqreplay.Override{Name: "--quality"}, WorkUnits: dlqreplay.Override{Name: "--work-units"}}
	derived := dlq.Completion{Derived: &dlq.Derived{QualityScore: 92, WorkUnits: 47, Rule: "inspection"}}

	v, err := dlqreplay.ChooseValues(1, derived, names)
	if err != nil || v.QualityScore != 92 || v.QualityFrom != "derived" || v.WorkUnitsFrom != "derived" || v.Rule != "inspection" || !v.Derived() {
		t.Fatalf("derived: %+v %v", v, err)
	}
	o := names
	o.Quality.Value, o.Quality.Text = u(100), "0x64"
	v, err = dlqreplay.ChooseValues(1, derived, o)
	if err != nil || v.QualityScore != 100 || v.QualityFrom != "--quality, overriding the derived 92" || v.WorkUnitsFrom != "derived" {
		t.Fatalf("override: %+v %v", v, err)
	}
	pinned := dlq.Completion{QualityScore: u(88), WorkUnits: u(12), Derived: derived.Derived}
	v, err = dlqreplay.ChooseValues(1, pinned, names)
	if err != nil || v.QualityFrom != "payload" || v.WorkUnitsFrom != "payload" || v.Rule != "" || v.Derived() {
		t.Fatalf("payload: %+v %v", v, err)
	}
	if _, err := dlqreplay.ChooseValues(1, pinned, o); errs.KindOf(err) != errs.Usage || !strings.Contains(err.Error(), "--quality 0x64: the event's payload has qualityScore 88") {
		t.Fatalf("an override contradicting the payload: %v", err)
	}
	_, err = dlqreplay.ChooseValues(7, dlq.Completion{DeriveError: `service type "cleaning" has no rule`}, names)
	if errs.KindOf(err) != errs.Usage || !strings.Contains(err.Error(), "DLQ event 7") || !strings.Contains(err.Error(), "give --quality and --work-units") ||
		!strings.Contains(err.Error(), "cleaning") {
		t.Fatalf("nothing to derive: %v", err)
	}
	// Out of range for submitCompletionV2: bad input, before anything is read.
	ev := dlq.Event{ID: 3, Type: "TX_FAIL", JobID: "5", ManifestHash: "0x" + strings.Repeat("ab", 32),
		Payload: `{"jobId":5,"controllerSig":"0x` + strings.Repeat("cd", 65) + `","qualityScore":300,"workUnits":1}`}
	if _, err := dlqreplay.Build(ev, names); errs.KindOf(err) != errs.Usage || !strings.Contains(err.Error(), "quality score 300 (payload) is out of range") {
		t.Fatalf("quality 300: %v", err)
	}
}
