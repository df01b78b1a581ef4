package txflow_test

// The chain decides whether a payment was made, not the machine: each env.machine()
// is another host (its own audit log, lock directory and terminal) with the same
// signer on the same chain.

import (
	"context"
	"errors"
	"math/big"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/txflow/txflowtest"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// machine is another host running the same signer against the same chain.
func (e *env) machine() *env {
	m := &env{t: e.t, c: e.c, s: e.s, dir: e.t.TempDir(), stdout: &strings.Builder{}, stderr: &strings.Builder{}}
	m.log = &audit.Log{Path: filepath.Join(m.dir, "audit.log"), User: "op2"}
	m.io = ui.Test(strings.NewReader(""), m.stdout, m.stderr)
	return m
}

// The payment one machine made is refused on another — mined, or still in the pool
// — naming its hash, how it ended and the tx wait line; --new-payment sends it and
// says which earlier payments it knew of.
func TestSamePaymentFromAnotherMachine(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	b := a.machine()
	ctx := ctxT(t)
	first, _, err := a.flow("wallet fund").Fund(ctx, fund(eth(1)))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = b.flow("wallet fund").Fund(ctx, fund(eth(1)))
	if !errors.Is(err, txflow.ErrAlreadyPaid) || errs.KindOf(err) != errs.Refused {
		t.Fatalf("the same payment on another machine: %v", err)
	}
	for _, want := range []string{first.TxHash, "mined in block 1", "succeeded", "this run sends nothing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q lacks %q", err, want)
		}
	}
	if fix := errs.FixOf(err); !strings.Contains(fix, "tx wait "+first.TxHash) || !strings.Contains(fix, "--new-payment") {
		t.Errorf("fix %q", fix)
	}
	if got := b.outcomes("wallet fund"); !equal(got, []string{audit.Refused}) {
		t.Errorf("the refusing machine's audit log: %v", got)
	}
	// Another amount is another payment.
	if _, _, err := b.flow("wallet fund").Fund(ctx, fund(eth(2))); err != nil {
		t.Fatalf("another amount: %v", err)
	}
	// Pending in the pool counts too.
	a.c.Automine = false
	pending := a.pendingAtDeadline(eth(3))
	_, _, err = b.flow("wallet fund").Fund(ctx, fund(eth(3)))
	if !errors.Is(err, txflow.ErrAlreadyPaid) || !strings.Contains(err.Error(), pending.TxHash) || !strings.Contains(err.Error(), "pending in the node's pool") {
		t.Fatalf("the same payment pending elsewhere: %v", err)
	}
	a.c.Mine()
	a.c.Automine = true
	// --new-payment sends it, says which it knew of, and records them.
	f := b.flow("wallet fund")
	f.NewPayment = true
	again, _, err := f.Fund(ctx, fund(eth(1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(again.EarlierPayments) != 1 || again.EarlierPayments[0] != first.TxHash {
		t.Errorf("earlierPayments %v, want [%s]", again.EarlierPayments, first.TxHash)
	}
	if out := b.stderrText(); !strings.Contains(out, "new, separate payment") || !strings.Contains(out, first.TxHash) {
		t.Errorf("stderr should name the earlier payment it knew of:\n%s", out)
	}
	entries, _ := b.log.Read()
	named := false
	for _, en := range entries {
		named = named || (en.TxHash == again.TxHash && en.Outcome == audit.Sent && strings.Join(en.After, ",") == first.TxHash)
	}
	if !named {
		t.Errorf("the new payment's sent line does not name %s: %+v", first.TxHash, entries)
	}
	if got := a.c.Balance(to); got.Cmp(eth(1+2+3+1)) != 0 {
		t.Fatalf("recipient holds %s wei, want 7 ETH", got)
	}
}

// A payment older than the window is history, not a rerun.
func TestSamePaymentAfterTheWindow(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	now := time.Now()
	a.c.Now = func() time.Time { return now }
	ctx := ctxT(t)
	if _, _, err := a.flow("wallet fund").Fund(ctx, fund(eth(1))); err != nil {
		t.Fatal(err)
	}
	b := a.machine()
	f := b.flow("wallet fund")
	f.Window = 10 * time.Minute
	now = now.Add(11 * time.Minute)
	if _, _, err := f.Fund(ctx, fund(eth(1))); err != nil {
		t.Fatalf("11 minutes later with a 10 minute window: %v", err)
	}
	if _, _, err := b.flow("wallet fund").Fund(ctx, fund(eth(1))); !errors.Is(err, txflow.ErrAlreadyPaid) {
		t.Fatalf("the default window (1h) still holds the second one: %v", err)
	}
}

// A reverted transaction paid only its fee: the same call may be sent again.
func TestRevertedPaymentIsNotAPayment(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	ctx := ctxT(t)
	a.c.Reverts = func(*types.Transaction) bool { return true }
	if _, _, err := a.flow("wallet fund").Fund(ctx, fund(eth(1))); errs.KindOf(err) != errs.Failed {
		t.Fatalf("want the revert reported: %v", err)
	}
	a.c.Reverts = nil
	if _, _, err := a.machine().flow("wallet fund").Fund(ctx, fund(eth(1))); err != nil {
		t.Fatalf("after a revert: %v", err)
	}
}

// The answer to the broadcast is lost on one machine and nobody can say whether it
// got out (exit 4); the same command on another machine asks the chain and is
// refused. One payment.
func TestLostAnswerThenRerunElsewhere(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	ctx := ctxT(t)
	a.c.Fault = func(*types.Transaction) txflowtest.Fault { return txflowtest.LoseAnswer }
	a.c.Unknown = true
	res, _, err := a.flow("wallet fund").Fund(ctx, fund(eth(1)))
	if errs.KindOf(err) != errs.Timeout || !strings.Contains(err.Error(), "MAY have been sent") {
		t.Fatalf("first machine: %v", err)
	}
	a.c.Fault, a.c.Unknown = nil, false
	_, _, err = a.machine().flow("wallet fund").Fund(ctx, fund(eth(1)))
	if !errors.Is(err, txflow.ErrAlreadyPaid) || !strings.Contains(err.Error(), res.TxHash) {
		t.Fatalf("second machine: %v", err)
	}
	if got := a.c.Balance(to); got.Cmp(eth(1)) != 0 {
		t.Fatalf("recipient holds %s wei, want one payment", got)
	}
}

// barrier holds n senders after their snapshot until all n have read it: machines
// that read the same pool and nonce at the same instant.
func barrier(n int) func(common.Address) {
	wait := txflowtest.Barrier(n)
	return func(common.Address) { wait() }
}

type outcome struct {
	res *txflow.Result
	err error
	m   *env
}

// race runs the same payment on n machines that all read one snapshot, each with
// its own priority-fee cap (so their transactions differ, or not), and returns how
// each ended.
func race(t *testing.T, a *env, caps []int64, afterSends func()) []outcome {
	t.Helper()
	ctx := ctxT(t)
	a.c.AfterRead = barrier(len(caps))
	var sends sync.WaitGroup
	sends.Add(len(caps))
	a.c.Fault = func(*types.Transaction) txflowtest.Fault { sends.Done(); return txflowtest.Accept }
	out := make([]outcome, len(caps))
	var wg sync.WaitGroup
	for i, c := range caps {
		m := a.machine()
		f := m.flow("wallet fund")
		req := fund(eth(1))
		req.Fees.MaxPriorityCap = big.NewInt(c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, _, err := f.Fund(ctx, req)
			out[i] = outcome{res, err, m}
		}()
	}
	if afterSends != nil {
		done := make(chan struct{})
		go func() { sends.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("not every machine broadcast")
		}
		afterSends()
	}
	wg.Wait()
	return out
}

// checkOnePayment: the chain holds one payment; every machine either reports that
// payment (exit 0) or refuses naming it (exit 3, ErrAlreadyPaid); none says "MAY
// have been sent", none failed.
func checkOnePayment(t *testing.T, a *env, out []outcome) {
	t.Helper()
	if got := a.c.Balance(to); got.Cmp(eth(1)) != 0 {
		t.Fatalf("recipient holds %s wei, want exactly one payment", got)
	}
	var winner string
	for _, h := range a.c.MinedFrom(a.s.Address()) {
		winner = h.Hex()
	}
	paid := 0
	for i, o := range out {
		switch {
		case o.err == nil:
			paid++
			if o.res.TxHash != winner {
				t.Errorf("machine %d reports %s, but %s is the payment", i, o.res.TxHash, winner)
			}
		case errors.Is(o.err, txflow.ErrAlreadyPaid) && errs.KindOf(o.err) == errs.Refused:
			if !strings.Contains(o.err.Error(), winner) || !strings.Contains(errs.FixOf(o.err), "tx wait "+winner) {
				t.Errorf("machine %d refused without naming the payment %s: %v (fix %q)", i, winner, o.err, errs.FixOf(o.err))
			}
		default:
			t.Errorf("machine %d: %v (want success or a refusal naming the payment)", i, o.err)
		}
	}
	if paid == 0 {
		t.Errorf("no machine reports the payment")
	}
}

// Machines that read at the same instant and sign the same transaction (same nonce,
// same fees: the same bytes and hash) all hold the one payment; with different
// fees at one nonce the node keeps one and the rest lose the nonce — on a chain
// that mines at once ("nonce too low") and on one whose pool holds them
// ("replacement underpriced", or a replacement that drops the first: its machine
// sees its hash gone and names the payment that took its nonce).
func TestSimultaneousSamePaymentPaysOnce(t *testing.T) {
	t.Parallel()
	// The tip is the node's 1 gwei capped by each machine's cap, so caps below it
	// give different transactions; a low base fee lets a higher tip clear the pool's
	// 10% replacement rule on both fees.
	for name, tc := range map[string]struct {
		caps     []int64
		automine bool
	}{
		"same bytes, mined at once":            {[]int64{1e9, 1e9, 1e9, 1e9}, true},
		"different fees, mined at once":        {[]int64{1e8, 2e8, 3e8, 4e8}, true},
		"same bytes, held in the pool":         {[]int64{1e9, 1e9, 1e9, 1e9}, false},
		"different fees, held in the pool":     {[]int64{1e8, 1.05e8, 2e8, 4e8}, false},
		"one outbids the rest in the pool":     {[]int64{1e8, 1e8, 1e8, 5e8}, false},
		"all within 10% of each other in pool": {[]int64{1e8, 1.01e8, 1.02e8, 1.03e8}, false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for trial := range 20 {
				a := newEnv(t)
				a.c.Automine = tc.automine
				a.c.BaseFee = big.NewInt(1e6)
				var after func()
				if !tc.automine {
					after = func() {
						// Let the machines whose transaction was replaced see it gone
						// before the block.
						time.Sleep(20 * time.Millisecond)
						a.c.Mine()
					}
				}
				out := race(t, a, tc.caps, after)
				checkOnePayment(t, a, out)
				if t.Failed() {
					t.Fatalf("trial %d", trial)
				}
			}
		})
	}
}

// Another payment took this run's nonce at the same instant: not this payment, so
// it was not made — exit 1, "not sent", nothing left the account for it.
func TestNonceTakenByAnotherPayment(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	ctx := ctxT(t)
	b := a.machine()
	a.c.AfterRead = barrier(2)
	var wg sync.WaitGroup
	var errA, errB error
	var resA, resB *txflow.Result
	wg.Add(2)
	go func() { defer wg.Done(); resA, _, errA = a.flow("wallet fund").Fund(ctx, fund(eth(1))) }()
	go func() { defer wg.Done(); resB, _, errB = b.flow("wallet fund").Fund(ctx, fund(eth(2))) }()
	wg.Wait()
	ok, lost := errA, errB
	if errA != nil {
		ok, lost = errB, errA
	}
	if ok != nil || lost == nil {
		t.Fatalf("want one payment to go through and the other to lose the nonce: %v / %v", errA, errB)
	}
	if errs.KindOf(lost) != errs.Failed || errors.Is(lost, txflow.ErrAlreadyPaid) || !strings.Contains(lost.Error(), "not sent") ||
		!strings.Contains(lost.Error(), "was taken by another transaction") {
		t.Fatalf("the loser: %v", lost)
	}
	_, _ = resA, resB
	if got := a.c.Balance(to); got.Cmp(eth(1)) != 0 && got.Cmp(eth(2)) != 0 {
		t.Fatalf("recipient holds %s wei, want the one payment that won", got)
	}
}

// An emergency drain outbids what is pending — but not the same drain another run
// already has in the pool: that one is refused, not replaced.
func TestEmergencyDrainDoesNotReplaceTheSameDrain(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	ctx := ctxT(t)
	a.c.Automine = false
	// Another machine's drain, pending.
	pctx, cancel := context.WithCancel(ctx)
	a.c.Fault = func(*types.Transaction) txflowtest.Fault { cancel(); return txflowtest.Accept }
	first, err := a.flow("wallet drain").Drain(pctx, txflow.DrainRequest{To: to})
	if err == nil || first != nil {
		t.Fatalf("the first drain should still be pending at its deadline: %v", err)
	}
	a.c.Fault = nil
	pending := a.c.Pending()
	if len(pending) != 1 {
		t.Fatalf("pool %v", pending)
	}
	_, err = a.machine().flow("wallet drain").Drain(ctx, txflow.DrainRequest{To: to, Emergency: true})
	if !errors.Is(err, txflow.ErrAlreadyPaid) || !strings.Contains(err.Error(), pending[0].Hash().Hex()) {
		t.Fatalf("want the pending drain named, not replaced: %v", err)
	}
	if p := a.c.Pending(); len(p) != 1 || p[0].Hash() != pending[0].Hash() {
		t.Fatalf("the pending drain was replaced: %v", p)
	}
	// A different pending transaction is outbid as before.
	a.c.Mine()
	_ = chain.StatePending
}

// A node that hides its txpool cannot show whether a pending transaction is this
// payment: the send waits until the account's pending transactions are mined and
// reads again — then the chain shows the payment, and it is refused.
func TestHiddenPoolWaitsThenRefuses(t *testing.T) {
	t.Parallel()
	a := newEnv(t)
	a.c.Automine = false
	pending := a.pendingAtDeadline(eth(1))
	b := a.machine()
	a.c.HidePool = true
	waited := false
	a.c.OnAccount = func(s *chain.AccountState) {
		if s.Waiting() > 0 {
			waited = true
			a.c.Mine()
		}
	}
	_, _, err := b.flow("wallet fund").Fund(ctxT(t), fund(eth(1)))
	if !waited || !errors.Is(err, txflow.ErrAlreadyPaid) || !strings.Contains(err.Error(), pending.TxHash) || !strings.Contains(err.Error(), "mined in block") {
		t.Fatalf("waited %v: %v", waited, err)
	}
	if out := b.stderrText(); !strings.Contains(out, "does not show its txpool") {
		t.Errorf("stderr:\n%s", out)
	}
	if got := a.c.Balance(to); got.Cmp(eth(1)) != 0 {
		t.Fatalf("recipient holds %s wei, want one payment", got)
	}
}
