package txflow_test

// The send path's decisions, on a chain in memory (txflowtest): what is refused
// before anything is signed, what the audit log says, how a lost or failed
// broadcast is reconciled, and how a rerun is kept from paying twice. The same path
// runs against anvil in the CLI tests (pkg/cli/wallet, pkg/cli/tx, pkg/cli/key),
// which prove the wiring; these prove the decisions, in milliseconds.

import (
	"context"
	"errors"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/signer"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/txflow/txflowtest"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

const chainID = 31337

var (
	ether = big.NewInt(1e18)
	to    = common.HexToAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
)

func eth(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), ether) }

// env is one operator's machine: a chain, a funded signer, an audit log and the
// terminal's output.
type env struct {
	t              *testing.T
	c              *txflowtest.Chain
	s              *signer.Signer
	log            *audit.Log
	stdout, stderr *strings.Builder
	io             *ui.IO
	dir            string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	k, err := secrets.Generate()
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.New(k)
	if err != nil {
		t.Fatal(err)
	}
	c := txflowtest.New(chainID)
	c.SetBalance(s.Address(), eth(10))
	e := &env{t: t, c: c, s: s, dir: t.TempDir(), stdout: &strings.Builder{}, stderr: &strings.Builder{}}
	e.log = &audit.Log{Path: filepath.Join(e.dir, "audit.log"), User: "op"}
	e.io = ui.Test(strings.NewReader(""), e.stdout, e.stderr)
	return e
}

// flow is a send path as the CLI builds it: confirmed (--yes), with the lock.
func (e *env) flow(command string) *txflow.Flow {
	return &txflow.Flow{Chain: e.c, Signer: e.s, IO: e.io, Audit: e.log, Profile: "local", Command: command, Yes: true,
		LockDir: e.dir, Poll: time.Millisecond, ReconcileTimeout: time.Second,
		Next: txflow.Next{Wait: func(h common.Hash) string { return "run `tx wait " + h.Hex() + "`" }, NewPayment: "--new-payment"}}
}

// outcomes are the audit log's outcomes for command, in order.
func (e *env) outcomes(command string) []string {
	e.t.Helper()
	entries, err := e.log.Read()
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		if en.Command == command {
			out = append(out, en.Outcome)
		}
	}
	return out
}

func (e *env) stderrText() string {
	e.io.Flush()
	return e.stderr.String()
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pendingAtDeadline sends a funding that is still pending when its command's
// deadline ends: the deadline ends as the node takes it (whatever the machine's
// load), so the send is out and its wait gives up.
func (e *env) pendingAtDeadline(amount *big.Int) *txflow.Result {
	e.t.Helper()
	automine, fault := e.c.Automine, e.c.Fault
	defer func() { e.c.Automine, e.c.Fault = automine, fault }()
	e.c.Automine = false
	ctx, cancel := context.WithCancel(ctxT(e.t))
	defer cancel()
	e.c.Fault = func(*types.Transaction) txflowtest.Fault { cancel(); return txflowtest.Accept }
	res, _, err := e.flow("wallet fund").Fund(ctx, fund(amount))
	if errs.KindOf(err) != errs.Timeout || !strings.Contains(err.Error(), "was sent but no receipt came") || !strings.Contains(err.Error(), "do NOT resend") {
		e.t.Fatalf("a send still pending at the deadline: %v", err)
	}
	return res
}

func fund(amount *big.Int) txflow.FundRequest { return txflow.FundRequest{To: to, Amount: amount} }

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func TestSendShowsTheHashBeforeBroadcastAndRecordsTheOutcome(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, rcpt, err := e.flow("wallet fund").Fund(ctxT(t), fund(eth(1)))
	if err != nil {
		t.Fatal(err)
	}
	if rcpt == nil || !rcpt.Succeeded() || res.Receipt == nil || res.Receipt.Status != "success" {
		t.Fatalf("receipt %+v, result %+v", rcpt, res.Receipt)
	}
	if got := e.c.Balance(to); got.Cmp(eth(1)) != 0 {
		t.Fatalf("recipient holds %s wei", got)
	}
	out := e.stderrText()
	signed, sent := strings.Index(out, "signed "+res.TxHash), strings.Index(out, "sent "+res.TxHash)
	if signed < 0 || sent < signed {
		t.Errorf("the hash is not shown before the broadcast:\n%s", out)
	}
	if !strings.Contains(out, "fund(to="+to.Hex()+", amount=1 ETH)") {
		t.Errorf("the summary does not show the call:\n%s", out)
	}
	if got := e.outcomes("wallet fund"); !equal(got, []string{audit.Sent, audit.Mined}) {
		t.Errorf("audit outcomes %v", got)
	}
	entries, _ := e.log.Read()
	if entries[0].TxHash != res.TxHash || entries[0].User != "op" || entries[0].Nonce == nil || *entries[0].Nonce != 0 {
		t.Errorf("the sent line %+v does not name the hash, the operator and the nonce", entries[0])
	}
}

func TestRefusalsSignNothing(t *testing.T) {
	t.Parallel()
	selector := crypto.Keccak256([]byte("JobNotFound()"))[:4]
	for _, c := range []struct {
		name    string
		setup   func(e *env, f *txflow.Flow)
		amount  *big.Int
		kind    errs.Kind
		words   string
		outcome []string
	}{
		{name: "not confirmed", setup: func(e *env, f *txflow.Flow) { f.Yes = false }, amount: eth(1),
			kind: errs.Refused, words: "not confirmed", outcome: []string{audit.Refused}},
		{name: "worst case above the balance", amount: eth(10), kind: errs.Refused, words: "may cost up to", outcome: []string{audit.Refused}},
		{name: "simulation reverts", setup: func(e *env, _ *txflow.Flow) {
			e.c.Simulate = func(chain.TxRequest) error {
				return &chain.SimulationError{Err: errors.New("execution reverted"), RevertData: selector}
			}
		}, amount: eth(1), kind: errs.Failed, words: "would revert with JobNotFound — no job with this id"},
		{name: "preflight fails", setup: func(e *env, f *txflow.Flow) {
			f.Preflight = func(context.Context) error { return errs.Failedf("preflight failed: job status") }
		}, amount: eth(1), kind: errs.Failed, words: "preflight failed"},
		{name: "fee cap below the base fee", setup: func(e *env, _ *txflow.Flow) { e.c.BaseFee = big.NewInt(100e9) }, amount: eth(1),
			kind: errs.Refused, words: "base fee", outcome: []string{audit.Refused}},
		{name: "above the funding limit", amount: eth(2), kind: errs.Refused, words: "funding limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			f := e.flow("wallet fund")
			if c.setup != nil {
				c.setup(e, f)
			}
			req := fund(c.amount)
			req.Fees.MaxFeeCap = big.NewInt(50e9)
			if c.name == "above the funding limit" {
				req.Limit = eth(1)
			}
			_, _, err := f.Fund(ctxT(t), req)
			if errs.KindOf(err) != c.kind || err == nil || !strings.Contains(err.Error(), c.words) {
				t.Fatalf("got %v (kind %d), want kind %d saying %q", err, errs.KindOf(err), c.kind, c.words)
			}
			if n := e.c.Broadcasts(); n != 0 {
				t.Fatalf("%d transactions reached the chain", n)
			}
			if got := e.outcomes("wallet fund"); !equal(got, c.outcome) {
				t.Errorf("audit outcomes %v, want %v", got, c.outcome)
			}
		})
	}
}

func TestDryRunSignsAndSendsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.flow("wallet fund")
	f.DryRun = true
	res, rcpt, err := f.Fund(ctxT(t), fund(eth(1)))
	if err != nil || rcpt != nil || !res.DryRun || res.TxHash == "" {
		t.Fatalf("dry run: %+v %v %v", res, rcpt, err)
	}
	if e.c.Broadcasts() != 0 || !equal(e.outcomes("wallet fund"), []string{audit.DryRun}) {
		t.Fatalf("a dry run broadcast %d, audit %v", e.c.Broadcasts(), e.outcomes("wallet fund"))
	}
}

// A broadcast whose answer is lost is asked about, not resent: mined is success,
// absent is "not sent", no answer is "MAY have been sent".
func TestBroadcastFailuresAreReconciled(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		fault   txflowtest.Fault
		unknown bool
		kind    errs.Kind
		words   string
		outcome []string
		paid    bool
	}{
		{name: "answer lost, mined", fault: txflowtest.LoseAnswer, kind: errs.OK, words: "answer to the broadcast was lost",
			outcome: []string{audit.Sent, audit.Mined}, paid: true},
		{name: "never arrived", fault: txflowtest.Drop, kind: errs.Failed, words: "not sent: no RPC endpoint knows",
			outcome: []string{audit.Sent, audit.NotSent}},
		{name: "nobody answers", fault: txflowtest.Drop, unknown: true, kind: errs.Timeout, words: "MAY have been sent",
			outcome: []string{audit.Sent, audit.Unknown}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.c.Fault = func(*types.Transaction) txflowtest.Fault { return c.fault }
			e.c.Unknown = c.unknown
			_, _, err := e.flow("wallet fund").Fund(ctxT(t), fund(eth(1)))
			if errs.KindOf(err) != c.kind {
				t.Fatalf("got %v (kind %d), want kind %d", err, errs.KindOf(err), c.kind)
			}
			if !strings.Contains(e.stderrText()+errText(err), c.words) {
				t.Errorf("nothing says %q: %v\n%s", c.words, err, e.stderrText())
			}
			if got := e.outcomes("wallet fund"); !equal(got, c.outcome) {
				t.Errorf("audit outcomes %v, want %v", got, c.outcome)
			}
			if paid := e.c.Balance(to).Sign() > 0; paid != c.paid {
				t.Errorf("paid %v, want %v", paid, c.paid)
			}
			if c.unknown && !strings.Contains(errs.FixOf(err), "do NOT resend: run `tx wait") {
				t.Errorf("fix %q does not say to wait instead of resending", errs.FixOf(err))
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// The rerun guard: a payment whose outcome was never reported is looked up before
// the same payment is sent again; pending or mined, the rerun is refused until the
// operator says it is a new payment. One that never went out does not stand in
// the way.
func TestRerunNeverPaysTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	first := e.pendingAtDeadline(eth(1))
	e.c.Automine = false
	// The same payment again: refused, naming the first, while it is pending …
	_, _, err := e.flow("wallet fund").Fund(ctx, fund(eth(1)))
	if errs.KindOf(err) != errs.Refused || !errors.Is(err, txflow.ErrAlreadyPaid) || !strings.Contains(err.Error(), first.TxHash) ||
		!strings.Contains(err.Error(), "still pending") || !strings.Contains(errs.FixOf(err), "--new-payment") {
		t.Fatalf("rerun while pending: %v (fix %q)", err, errs.FixOf(err))
	}
	// … and once it is mined (the guard settles it in the log, reconciledBy).
	e.c.Mine()
	_, _, err = e.flow("wallet fund").Fund(ctx, fund(eth(1)))
	if errs.KindOf(err) != errs.Refused || !errors.Is(err, txflow.ErrAlreadyPaid) || !strings.Contains(err.Error(), "mined in block") {
		t.Fatalf("rerun after it was mined: %v", err)
	}
	// Another payment is not held up by it.
	e.c.Automine = true
	if _, _, err := e.flow("wallet fund").Fund(ctx, fund(eth(2))); err != nil {
		t.Fatalf("a different amount: %v", err)
	}
	// --new-payment sends it anyway and records what it knew.
	f := e.flow("wallet fund")
	f.NewPayment = true
	second, _, err := f.Fund(ctx, fund(eth(1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.c.Balance(to); got.Cmp(eth(4)) != 0 {
		t.Fatalf("recipient holds %s wei, want 4 ETH (1 + 2 + the new 1)", got)
	}
	entries, _ := e.log.Read()
	var reconciled, after bool
	for _, en := range entries {
		reconciled = reconciled || (en.TxHash == first.TxHash && en.Outcome == audit.Mined && en.ReconciledBy == "wallet fund")
		after = after || (en.TxHash == second.TxHash && en.Outcome == audit.Sent && len(en.After) == 1 && en.After[0] == first.TxHash)
	}
	if !reconciled || !after {
		t.Errorf("audit log: reconciled %v, new payment names the earlier one %v", reconciled, after)
	}
	// The chain still shows both payments within the window: the same fund again is
	// refused, naming the newest, whatever the audit log says …
	_, _, err = e.flow("wallet fund").Fund(ctx, fund(eth(1)))
	if !errors.Is(err, txflow.ErrAlreadyPaid) || !strings.Contains(err.Error(), second.TxHash) || !strings.Contains(err.Error(), "and 1 more") {
		t.Fatalf("the same payment right after a new payment: %v", err)
	}
	// … and goes through once the window has passed.
	later := time.Now().Add(2 * time.Hour)
	e.c.Now = func() time.Time { return later }
	if _, _, err := e.flow("wallet fund").Fund(ctx, fund(eth(1))); err != nil {
		t.Fatalf("the same payment after the window: %v", err)
	}
}

func TestRerunAfterNotSentSendsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.c.Fault = func(*types.Transaction) txflowtest.Fault { return txflowtest.Drop }
	e.c.Unknown = true
	ctx := ctxT(t)
	if _, _, err := e.flow("wallet fund").Fund(ctx, fund(eth(1))); errs.KindOf(err) != errs.Timeout {
		t.Fatalf("first send: %v", err)
	}
	// The endpoints answer again: the guard learns it never went out and sends.
	e.c.Fault, e.c.Unknown = nil, false
	if _, _, err := e.flow("wallet fund").Fund(ctx, fund(eth(1))); err != nil {
		t.Fatal(err)
	}
	if got := e.c.Balance(to); got.Cmp(eth(1)) != 0 {
		t.Fatalf("recipient holds %s wei, want exactly one payment", got)
	}
	if got := e.outcomes("wallet fund"); !equal(got, []string{audit.Sent, audit.Unknown, audit.NotSent, audit.Sent, audit.Mined}) {
		t.Errorf("audit outcomes %v", got)
	}
}

func TestRevertedAndJournaledSends(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.c.Reverts = func(*types.Transaction) bool { return true }
	var journaled []common.Hash
	f := e.flow("job complete")
	f.Signed = func(h common.Hash, nonce uint64) error {
		if e.c.Broadcasts() != 0 {
			t.Error("Signed was told after the broadcast")
		}
		journaled = append(journaled, h)
		return nil
	}
	res, rcpt, err := f.Fund(ctxT(t), fund(eth(1)))
	if errs.KindOf(err) != errs.Failed || !strings.Contains(err.Error(), "reverted in block") || rcpt == nil || res.Receipt.Status != "reverted" {
		t.Fatalf("reverted: %v %+v", err, res)
	}
	if len(journaled) != 1 || journaled[0].Hex() != res.TxHash {
		t.Errorf("journaled %v, want %s", journaled, res.TxHash)
	}
	if got := e.outcomes("job complete"); !equal(got, []string{audit.Sent, audit.Reverted}) {
		t.Errorf("audit outcomes %v", got)
	}
	// A journal that cannot be written stops the send before the broadcast.
	f = e.flow("job complete")
	f.Signed = func(common.Hash, uint64) error { return errors.New("disk full") }
	if _, _, err := f.Fund(ctxT(t), fund(eth(2))); errs.KindOf(err) != errs.Failed || !strings.Contains(err.Error(), "could not be recorded") {
		t.Fatalf("journal failure: %v", err)
	}
	if e.c.Broadcasts() != 1 {
		t.Errorf("%d broadcasts, want only the first", e.c.Broadcasts())
	}
}

// What else the signer has pending is shown before the confirmation; a bulk send
// prints one line per transaction.
func TestSummaryShowsEarlierPendingAndTerseIsOneLine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	first := e.pendingAtDeadline(eth(1))
	e.stderr.Reset()
	f := e.flow("wallet fund")
	f.DryRun = true
	res, _, err := f.Fund(ctx, fund(eth(3)))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.EarlierPending) != 1 || res.EarlierPending[0] != first.TxHash || !strings.Contains(e.stderrText(), first.TxHash+" nonce 0") {
		t.Errorf("earlier pending %v; summary:\n%s", res.EarlierPending, e.stderrText())
	}
	if res.Nonce != 1 {
		t.Errorf("nonce %d, want 1 (after the pending one)", res.Nonce)
	}
	e.stderr.Reset()
	f.Terse = true
	if _, _, err := f.Fund(ctx, fund(eth(4))); err != nil {
		t.Fatal(err)
	}
	if out := e.stderrText(); strings.Contains(out, "Transaction\n") || !strings.Contains(out, "fund(to=") {
		t.Errorf("terse output:\n%s", out)
	}
}
