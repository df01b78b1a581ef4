package chain

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// signedTransfer signs a 1-wei transfer from dev account i at its pending nonce.
func signedTransfer(t *testing.T, c *Client, i int) *types.Transaction {
	t.Helper()
	p, err := c.Prepare(context.Background(), TxRequest{From: devchain.DevAddress(i), To: devchain.DevAddress(9), Value: big.NewInt(1)})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := types.SignTx(p.Tx, types.LatestSignerForChainID(p.ChainID), devchain.DevKey(i))
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// A hung endpoint costs one AttemptTimeout, then the next URL answers.
func TestHungEndpointFailsOverAfterAttemptTimeout(t *testing.T) {
	a := devchain.StartAnvilT(t, devchain.AnvilOptions{})
	hung := devchain.StartFaultProxy(t, a.URL)
	hung.Inject("", devchain.Hang, -1)
	var log strings.Builder
	c := New(Options{URLs: []string{hung.URL, a.URL}, ChainID: 31337, AttemptTimeout: 300 * time.Millisecond,
		Logf: func(f string, args ...any) { log.WriteString(f + "\n") }})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.BalanceAt(ctx, devchain.DevAddress(1), Latest); err != nil {
		t.Fatal(err)
	}
	if c.URL() != a.URL || strings.Count(log.String(), "failed") != 1 || strings.Contains(log.String(), "retrying") {
		t.Fatalf("want one failover and no retry on the hung URL (now on %s):\n%s", c.URL(), log.String())
	}
	// Every URL hung: a timeout (exit 4), not "failed".
	only := New(Options{URLs: []string{hung.URL}, ChainID: 31337, AttemptTimeout: 200 * time.Millisecond})
	defer only.Close()
	if _, err := only.BalanceAt(ctx, devchain.DevAddress(1), Latest); errs.KindOf(err) != errs.Timeout {
		t.Fatalf("want a timeout, got %v", err)
	}
}

func TestSendRawAndReconcile(t *testing.T) {
	a := devchain.StartAnvilT(t, devchain.AnvilOptions{})
	ctx := context.Background()
	p := devchain.StartFaultProxy(t, a.URL)
	c := New(Options{URLs: []string{p.URL}, ChainID: 31337, AttemptTimeout: 500 * time.Millisecond, Retries: -1})
	defer c.Close()

	// Answer lost after the node took it: a SendError, and the chain says mined.
	p.Inject("eth_sendRawTransaction", devchain.ForwardThenDrop, 1)
	tx := signedTransfer(t, c, 6)
	h, err := c.SendRaw(ctx, tx)
	var se *SendError
	if !errors.As(err, &se) || se.Rejected || h != tx.Hash() {
		t.Fatalf("want a transport SendError for %s, got %v", tx.Hash().Hex(), err)
	}
	// anvil admits the transaction before its automine has written the receipt, so a
	// reconciliation right after the send may see it pending first.
	rec := c.Reconcile(ctx, h, devchain.DevAddress(6))
	for deadline := time.Now().Add(5 * time.Second); rec.State == StatePending && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		rec = c.Reconcile(ctx, h, devchain.DevAddress(6))
	}
	if rec.State != StateMined || rec.Receipt == nil || !rec.Receipt.Succeeded() || rec.Answered != 1 || !rec.NonceUsed(tx.Nonce()) {
		t.Fatalf("reconciliation %+v", rec)
	}
	// The same bytes again: the node answers with its own error (rejected), still mined.
	if _, err := c.SendRaw(ctx, tx); !errors.As(err, &se) || !se.Rejected {
		t.Fatalf("resending mined bytes: want a node rejection, got %v", err)
	}

	// Never reached a node: absent, nonce unused.
	p.Inject("eth_sendRawTransaction", devchain.Hang, 1)
	tx2 := signedTransfer(t, c, 6)
	if _, err := c.SendRaw(ctx, tx2); err == nil {
		t.Fatal("a hung send should fail")
	}
	if n := p.Forwarded("eth_sendRawTransaction"); n != 2 {
		t.Fatalf("%d broadcasts reached the node, want 2 (the hung one never does)", n)
	}
	rec = c.Reconcile(ctx, tx2.Hash(), devchain.DevAddress(6))
	if rec.State != StateAbsent || rec.NonceUsed(tx2.Nonce()) {
		t.Fatalf("reconciliation %+v", rec)
	}

	// Pending in a pool that is not mining.
	if err := a.SetAutomine(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendRaw(ctx, tx2); err != nil {
		t.Fatal(err)
	}
	if rec = c.Reconcile(ctx, tx2.Hash(), devchain.DevAddress(6)); rec.State != StatePending {
		t.Fatalf("reconciliation %+v", rec)
	}

	// Nobody answers: unknown.
	p.Inject("", devchain.Hang, -1)
	if rec = c.Reconcile(ctx, tx2.Hash(), devchain.DevAddress(6)); rec.State != StateUnknown || rec.Answered != 0 || len(rec.Failures) != 1 {
		t.Fatalf("reconciliation %+v", rec)
	}
}

// Reconcile counts only endpoints on the profile's chain: one on another chain is an
// endpoint that did not answer, so "absent" cannot be concluded.
func TestReconcileIgnoresOtherChains(t *testing.T) {
	a := devchain.StartAnvilT(t, devchain.AnvilOptions{})
	other := devchain.StartAnvilT(t, devchain.AnvilOptions{ChainID: 8453})
	c := New(Options{URLs: []string{a.URL, other.URL}, ChainID: 31337})
	defer c.Close()
	tx := signedTransfer(t, c, 6)
	rec := c.Reconcile(context.Background(), tx.Hash(), devchain.DevAddress(6))
	if rec.State != StateUnknown || rec.Answered != 1 || !strings.Contains(rec.Summary(), "on chain 8453") {
		t.Fatalf("reconciliation %+v", rec)
	}
}

func TestFeePolicyValidate(t *testing.T) {
	for _, p := range []FeePolicy{
		{GasLimitMultiplier: big.NewRat(1, 2)},
		{GasLimitMultiplier: big.NewRat(11, 1)},
		{MaxFeeCap: big.NewInt(0)},
		{MaxPriorityCap: big.NewInt(-1)},
	} {
		if err := p.Validate(); errs.KindOf(err) != errs.Usage {
			t.Errorf("%+v: want a usage error, got %v", p, err)
		}
	}
	if err := (FeePolicy{GasLimitMultiplier: big.NewRat(6, 5), MaxFeeCap: big.NewInt(1), MaxPriorityCap: big.NewInt(1)}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// On an OP-stack chain Prepare quotes the L1 fee of the transaction and its bound,
// and a sweep reserves the bound: worst case = balance − keep.
func TestPrepareQuotesL1FeeOnOPStack(t *testing.T) {
	a, _ := devchain.StartOPStackT(t)
	c := New(Options{URLs: []string{a.URL}, ChainID: 31337})
	defer c.Close()
	ctx := context.Background()
	p, err := c.Prepare(ctx, TxRequest{From: devchain.DevAddress(6), To: devchain.DevAddress(9), Value: big.NewInt(1)})
	if err != nil {
		t.Fatal(err)
	}
	if !p.OPStack || p.L1Fee.Sign() <= 0 || p.L1FeeBound.Cmp(p.L1Fee) < 0 {
		t.Fatalf("OP-stack %v, L1 fee %s, bound %s", p.OPStack, p.L1Fee, p.L1FeeBound)
	}
	keep := big.NewInt(12345)
	s, err := c.Prepare(ctx, TxRequest{From: devchain.DevAddress(6), To: devchain.DevAddress(9), Sweep: true, Keep: keep})
	if err != nil {
		t.Fatal(err)
	}
	if got := new(big.Int).Sub(s.Balance, keep); s.WorstCase().Cmp(got) != 0 {
		t.Fatalf("sweep worst case %s, want balance − keep = %s", s.WorstCase(), got)
	}
}
