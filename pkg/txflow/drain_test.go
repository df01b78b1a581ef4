package txflow_test

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/txflow/txflowtest"
)

func TestDrainLeavesExactlyKeep(t *testing.T) {
	t.Parallel()
	for _, keep := range []*big.Int{nil, big.NewInt(12345), eth(1)} {
		e := newEnv(t)
		d, err := e.flow("wallet drain").Drain(ctxT(t), txflow.DrainRequest{To: to, Keep: keep, Args: []txflow.Arg{{Name: "key", Value: "env://OLD"}}})
		if err != nil {
			t.Fatal(err)
		}
		want := new(big.Int)
		if keep != nil {
			want.Set(keep)
		}
		if got := e.c.Balance(e.s.Address()); got.Cmp(want) != 0 || d.ActualLeftoverWei != want.String() || d.ExpectedLeftoverWei != want.String() {
			t.Errorf("keep %v: left %s wei (reported %s, expected %s)", keep, got, d.ActualLeftoverWei, d.ExpectedLeftoverWei)
		}
		fee := d.Mined.TotalFee()
		if moved := e.c.Balance(to); new(big.Int).Add(new(big.Int).Add(moved, fee), want).Cmp(eth(10)) != 0 {
			t.Errorf("moved %s + fee %s + kept %s is not the 10 ETH there was", moved, fee, want)
		}
		if !strings.Contains(d.Call, "drain(to="+to.Hex()+", keep=") || !strings.HasSuffix(d.Call, "key=env://OLD)") {
			t.Errorf("call %q", d.Call)
		}
	}
}

func TestDrainRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.flow("wallet drain").Drain(ctxT(t), txflow.DrainRequest{To: to, Keep: eth(11)})
	if !errors.Is(err, txflow.ErrKeepAboveBalance) || errs.KindOf(err) != errs.Usage {
		t.Fatalf("keep above the balance: %v", err)
	}
	e.c.SetBalance(e.s.Address(), big.NewInt(1000))
	_, err = e.flow("wallet drain").Drain(ctxT(t), txflow.DrainRequest{To: to})
	if !errors.Is(err, chain.ErrNothingToSend) || errs.KindOf(err) != errs.Refused {
		t.Fatalf("dust: %v", err)
	}
	if e.c.Broadcasts() != 0 {
		t.Fatal("a refused drain sent something")
	}
}

// On an OP-stack chain the drain reserves the L1 fee's bound; what the chain did not
// charge of it stays behind, exactly as expected, and a second sweep that cannot pay
// for itself is skipped with a word.
func TestDrainOPStackReserve(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.c.L1Fee, e.c.L1Bound = big.NewInt(160e9), big.NewInt(200e9)
	d, err := e.flow("wallet drain").Drain(ctxT(t), txflow.DrainRequest{To: to, SecondSweep: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.ExpectedLeftoverWei != "40000000000" || d.ActualLeftoverWei != d.ExpectedLeftoverWei || d.L1FeeBoundWei != "200000000000" {
		t.Errorf("expected %s, actual %s, bound %s", d.ExpectedLeftoverWei, d.ActualLeftoverWei, d.L1FeeBoundWei)
	}
	if d.SecondSweep != nil || !strings.Contains(e.stderrText(), "second sweep skipped") {
		t.Errorf("second sweep %+v:\n%s", d.SecondSweep, e.stderrText())
	}
}

// Settle waits for the account's pending transactions, and gives up at the deadline
// with ErrStillPending.
func TestDrainSettlesFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.pendingAtDeadline(eth(1))
	// The deadline ends while the wait sees the pending one.
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	e.c.OnAccount = func(s *chain.AccountState) {
		if s.Waiting() > 0 {
			cancel()
		}
	}
	_, err := e.flow("wallet drain").Drain(ctx, txflow.DrainRequest{To: to, Settle: true, SettleHint: "--force skips this"})
	if !errors.Is(err, txflow.ErrStillPending) || errs.KindOf(err) != errs.Timeout || !strings.Contains(e.stderrText(), "(--force skips this)") {
		t.Fatalf("still pending: %v\n%s", err, e.stderrText())
	}
	// It is mined while the drain waits: the drain goes on after it.
	e.c.OnAccount = func(s *chain.AccountState) {
		if s.Waiting() > 0 {
			e.c.Mine()
		}
	}
	d, err := e.flow("wallet drain").Drain(ctxT(t), txflow.DrainRequest{To: to, Settle: true})
	if err != nil || d.Nonce != 1 || e.c.Balance(e.s.Address()).Sign() != 0 {
		t.Fatalf("after the pending one was mined: %v, nonce %v, left %s", err, d, e.c.Balance(e.s.Address()))
	}
}

// An emergency drain takes the nonce of what the account has pending — a stuck
// transaction or an attacker's — with fees that replace it, lifted above the caps.
func TestEmergencyDrainOutbidsThePending(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.c.Automine = false
	thief := common.HexToAddress("0x000000000000000000000000000000000000dEaD")
	stolen := signTx(t, e, 0, thief, eth(9), big.NewInt(30e9), big.NewInt(20e9))
	if err := e.c.Add(stolen); err != nil {
		t.Fatal(err)
	}
	e.c.Automine = true
	d, err := e.flow("key rotate").Drain(ctxT(t), txflow.DrainRequest{To: to, Emergency: true, Fees: chain.FeePolicy{MaxFeeCap: big.NewInt(5e9)}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Replaced == nil || d.Replaced.Tx.Hash() != stolen.Hash() || d.Nonce != 0 {
		t.Fatalf("replaced %v at nonce %d, want the thief's transaction at 0", d.Replaced, d.Nonce)
	}
	fee, _ := new(big.Int).SetString(d.MaxFeePerGas, 10)
	if fee.Cmp(txflow.Bump(stolen.GasFeeCap())) < 0 {
		t.Errorf("fee cap %s below the replacement minimum %s", fee, txflow.Bump(stolen.GasFeeCap()))
	}
	if e.c.Balance(thief).Sign() != 0 || e.c.Balance(e.s.Address()).Sign() != 0 {
		t.Errorf("thief %s, old wallet %s", e.c.Balance(thief), e.c.Balance(e.s.Address()))
	}
	// With nothing pending it still pays well above the market: twice 2 × base + tip.
	e2 := newEnv(t)
	d, err = e2.flow("key rotate").Drain(ctxT(t), txflow.DrainRequest{To: to, Emergency: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Replaced != nil || d.MaxFeePerGas != "6000000000" {
		t.Errorf("fee cap %s (replaced %v), want 6 gwei", d.MaxFeePerGas, d.Replaced)
	}
}

func signTx(t *testing.T, e *env, nonce uint64, recipient common.Address, value, feeCap, tip *big.Int) *types.Transaction {
	t.Helper()
	tx, err := e.s.SignTx(types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(chainID), Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: 21000,
		To: &recipient, Value: value}), big.NewInt(chainID))
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestBumpIsTwelveAndAHalfPercentRoundedUp(t *testing.T) {
	t.Parallel()
	for in, want := range map[int64]int64{0: 0, 1: 2, 8: 9, 1000: 1125, 1001: 1127, 1_000_000_000: 1_125_000_000} {
		if got := txflow.Bump(big.NewInt(in)); got.Int64() != want {
			t.Errorf("Bump(%d) = %s, want %d", in, got, want)
		}
	}
}

func TestReplaceSpeedsUpOrCancels(t *testing.T) {
	t.Parallel()
	for _, cancel := range []bool{false, true} {
		e := newEnv(t)
		e.c.Automine = false
		stuck := signTx(t, e, 0, to, eth(1), big.NewInt(2e9), big.NewInt(1e9))
		if err := e.c.Add(stuck); err != nil {
			t.Fatal(err)
		}
		e.c.Automine = true
		r, rcpt, err := e.flow("tx speedup").Replace(ctxT(t), txflow.ReplaceRequest{Nonce: 0, Cancel: cancel})
		if err != nil {
			t.Fatal(err)
		}
		if r.Replaced != stuck.Hash().Hex() || rcpt == nil || r.Nonce != 0 {
			t.Fatalf("replaced %s at %d, want %s at 0", r.Replaced, r.Nonce, stuck.Hash().Hex())
		}
		fee, _ := new(big.Int).SetString(r.MaxFeePerGas, 10)
		tip, _ := new(big.Int).SetString(r.MaxPriorityFee, 10)
		if fee.Cmp(txflow.Bump(stuck.GasFeeCap())) < 0 || tip.Cmp(txflow.Bump(stuck.GasTipCap())) < 0 {
			t.Errorf("fees %s/%s below Bump of %s/%s", fee, tip, stuck.GasFeeCap(), stuck.GasTipCap())
		}
		wantTo, wantValue := to, eth(1)
		if cancel {
			wantTo, wantValue = e.s.Address(), new(big.Int)
		}
		if r.To != wantTo.Hex() || r.ValueWei != wantValue.String() {
			t.Errorf("cancel %v: to %s value %s", cancel, r.To, r.ValueWei)
		}
	}
}

func TestReplaceRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	// Nothing pending at all: say so, and how to name a hidden one.
	_, _, err := e.flow("tx cancel").Replace(ctx, txflow.ReplaceRequest{Nonce: 0, Cancel: true})
	if errs.KindOf(err) != errs.Failed || !strings.Contains(err.Error(), "shows nothing pending") || !strings.Contains(errs.FixOf(err), "--hash") {
		t.Fatalf("nothing pending: %v (%s)", err, errs.FixOf(err))
	}
	// Pending elsewhere: name it.
	e.c.Automine = false
	pending := signTx(t, e, 0, to, eth(1), big.NewInt(2e9), big.NewInt(1e9))
	_ = e.c.Add(pending)
	_, _, err = e.flow("tx cancel").Replace(ctx, txflow.ReplaceRequest{Nonce: 3, Cancel: true})
	if errs.KindOf(err) != errs.Failed || !strings.Contains(err.Error(), "Pending instead: nonce 0: "+pending.Hash().Hex()) ||
		!strings.Contains(errs.FixOf(err), "--nonce 0") {
		t.Fatalf("pending at another nonce: %v (%s)", err, errs.FixOf(err))
	}
	// By hash: it must be this signer's, at this nonce.
	_, _, err = e.flow("tx cancel").Replace(ctx, txflow.ReplaceRequest{Nonce: 1, Hash: pending.Hash(), Cancel: true})
	if errs.KindOf(err) != errs.Usage || !strings.Contains(err.Error(), "at nonce 0, not from") {
		t.Fatalf("hash at another nonce: %v", err)
	}
	_, _, err = e.flow("tx cancel").Replace(ctx, txflow.ReplaceRequest{Nonce: 0, Hash: common.HexToHash("0x01"), Cancel: true})
	if errs.KindOf(err) != errs.Failed || !strings.Contains(err.Error(), "unknown to the node") {
		t.Fatalf("unknown hash: %v", err)
	}
	// Mined already: nothing to replace.
	e.c.Mine()
	_, _, err = e.flow("tx cancel").Replace(ctx, txflow.ReplaceRequest{Nonce: 0, Cancel: true})
	if errs.KindOf(err) != errs.Failed || !strings.Contains(err.Error(), "already mined") {
		t.Fatalf("mined nonce: %v", err)
	}
	if e.c.Broadcasts() != 1 {
		t.Fatalf("%d broadcasts, want only the pending one added", e.c.Broadcasts())
	}
	// A replacement by hand below the rule is refused by the node; the rule clears it.
	e.c.Automine = false
	next := signTx(t, e, 1, to, eth(1), big.NewInt(2e9), big.NewInt(1e9))
	_ = e.c.Add(next)
	if err := e.c.Add(signTx(t, e, 1, to, eth(1), big.NewInt(2e9+1), big.NewInt(1e9+1))); err == nil {
		t.Fatal("a replacement with 1 wei more was taken")
	}
	if err := e.c.Add(signTx(t, e, 1, to, eth(1), txflow.Bump(big.NewInt(2e9)), txflow.Bump(big.NewInt(1e9)))); err != nil {
		t.Fatalf("Bump did not clear the node's replacement rule: %v", err)
	}
}

func TestFundingLimit(t *testing.T) {
	t.Parallel()
	if err := txflow.CheckFundingLimit(eth(5), nil); err != nil {
		t.Error(err)
	}
	if err := txflow.CheckFundingLimit(eth(1), eth(1)); err != nil {
		t.Error(err)
	}
	err := txflow.CheckFundingLimit(eth(2), eth(1))
	if !errors.Is(err, txflow.ErrAboveFundingLimit) || errs.KindOf(err) != errs.Refused {
		t.Errorf("above: %v", err)
	}
	e := newEnv(t)
	req := fund(eth(2))
	req.Limit, req.Force = eth(1), true
	if _, _, err := e.flow("wallet fund").Fund(ctxT(t), req); err != nil {
		t.Errorf("forced past the limit: %v", err)
	}
}

func TestWaitSettledEndsOnAFailedRead(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := txflow.WaitSettled(ctx, txflowtest.New(1), to, time.Millisecond, nil)
	if err == nil || errors.Is(err, txflow.ErrStillPending) {
		t.Fatalf("a failed read: %v", err)
	}
}
