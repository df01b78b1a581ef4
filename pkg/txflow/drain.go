package txflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// Sentinels of a drain (errors.Is finds them).
var (
	// ErrKeepAboveBalance: the amount to keep is more than the account holds.
	ErrKeepAboveBalance = errors.New("the amount to keep is more than the balance")
	// ErrStillPending: the account's pending transactions were not mined in time.
	ErrStillPending = errors.New("pending transactions")
)

// DrainRequest is one drain: everything the signer holds but Keep goes to To.
type DrainRequest struct {
	To common.Address
	// Keep stays behind (nil: nothing).
	Keep *big.Int
	Fees chain.FeePolicy
	// Settle waits first until the account has no pending transactions (until ctx
	// ends: ErrStillPending), so the sweep is priced on what will really be left;
	// SettleHint is shown with the wait (how to skip it).
	Settle     bool
	SettleHint string
	// SecondSweep, on an OP-stack chain, sends what the L1-fee reserve left behind
	// in a second transaction when that covers its own fees.
	SecondSweep bool
	// Emergency outbids the account's lowest pending transaction (see outbid).
	Emergency bool
	// Args are shown after to and keep in the summary and the audit log (the key's
	// reference, say); Warnings in the summary.
	Args     []Arg
	Warnings []string
}

// Drained is a drain's outcome (the -o json shape of wallet drain).
type Drained struct {
	*Result
	KeepWei string `json:"keepWei"`
	// ExpectedLeftoverWei is Keep, plus on an OP-stack chain the L1-fee bound the
	// sweep reserved minus the fee quoted (the chain charges the quote).
	ExpectedLeftoverWei string `json:"expectedLeftoverWei"`
	// ActualLeftoverWei is the balance once mined (after the second sweep if any).
	ActualLeftoverWei string  `json:"actualLeftoverWei,omitempty"`
	SecondSweep       *Result `json:"secondSweep,omitempty"`
	// Mined is the drain's receipt (nil on a dry run).
	Mined *chain.Receipt `json:"-"`
	// Replaced is the pending transaction an emergency drain took the nonce of.
	Replaced *chain.TxInfo `json:"-"`
}

// Drain sends everything the signer holds but req.Keep to req.To, leaving exactly
// Keep on an L1 chain: the sweep's gas limit is its estimate and its price per gas
// is fixed (priority fee = fee cap), so its cost is known before it is signed. On
// an OP-stack chain the L1 data fee is fixed only at inclusion: the sweep reserves
// the oracle's upper bound, and the difference from the fee charged stays behind
// (or goes in the second sweep). A balance that does not cover the transfer's own
// fees is refused with chain.ErrNothingToSend, nothing sent.
func (f *Flow) Drain(ctx context.Context, req DrainRequest) (*Drained, error) {
	from := f.Signer.Address()
	keep := req.Keep
	if keep == nil {
		keep = new(big.Int)
	}
	if req.Settle {
		poll := f.Poll
		if poll <= 0 {
			poll = time.Second
		}
		w := f.IO.Waiting(ctx, "the pending transactions of "+from.Hex()+" to be mined")
		_, err := WaitSettled(ctx, f.Chain, from, poll, func(s *chain.AccountState, first bool) {
			if first {
				hint := ""
				if req.SettleHint != "" {
					hint = " (" + req.SettleHint + ")"
				}
				w.Clear()
				f.IO.Warnf("%s has %d pending transaction(s); waiting for them to be mined%s", from.Hex(), s.Waiting(), hint)
			}
			w.Tick()
		})
		w.Clear()
		if err != nil {
			return nil, err
		}
	}
	bal, err := f.Chain.BalanceAt(ctx, from, chain.Latest)
	if err != nil {
		return nil, err
	}
	if keep.Cmp(bal) > 0 {
		return nil, errs.Usagef("%s ETH to keep is more than the balance of %s (%s ETH)", units.FormatEther(keep), from.Hex(), units.FormatEther(bal)).
			Marks(ErrKeepAboveBalance)
	}
	tx := chain.TxRequest{To: req.To, Fees: req.Fees, Sweep: true, Keep: keep}
	out := &Drained{KeepWei: keep.String()}
	if req.Emergency {
		if out.Replaced, err = f.outbid(ctx, from, &tx); err != nil {
			return nil, err
		}
	}
	call := Call{Action: "drain", Args: append([]Arg{{Name: "to", Value: req.To.Hex()}, {Name: "keep", Value: units.FormatEther(keep) + " ETH"}}, req.Args...),
		Warnings: req.Warnings}
	res, rcpt, err := f.Execute(ctx, tx, call)
	if err != nil {
		return nil, err
	}
	out.Result, out.Mined = res, rcpt
	expected := new(big.Int).Set(keep)
	if res.L1FeeBoundWei != "" {
		bound, _ := new(big.Int).SetString(res.L1FeeBoundWei, 10)
		quoted, _ := new(big.Int).SetString(res.L1FeeWei, 10)
		expected.Add(expected, bound).Sub(expected, quoted)
	}
	out.ExpectedLeftoverWei = expected.String()
	if rcpt == nil {
		return out, nil
	}
	left, err := f.Chain.BalanceAt(ctx, from, chain.BlockNumber(uint64(rcpt.BlockNumber)))
	if err != nil {
		return nil, err
	}
	out.ActualLeftoverWei = left.String()
	if !req.SecondSweep || left.Cmp(keep) <= 0 {
		return out, nil
	}
	tx.Nonce = nil
	second, _, err := f.Execute(ctx, tx, Call{Action: "drain (second sweep)", Args: call.Args})
	switch {
	case errors.Is(err, chain.ErrNothingToSend):
		f.IO.Warnf("second sweep skipped: the %s wei left do not cover its own fees", new(big.Int).Sub(left, keep))
	case err != nil:
		return nil, err
	default:
		out.SecondSweep = second
		if left, err = f.Chain.BalanceAt(ctx, from, chain.Latest); err == nil {
			out.ActualLeftoverWei = left.String()
		}
	}
	return out, nil
}

// WaitSettled waits until a has no pending transactions, reading its nonces every
// poll, and returns its state then. seen is told of every read that finds some
// pending (first is true the first time). A failed read ends the wait with its
// error; ctx ending first is a timeout marked ErrStillPending (an interruption
// when a signal ended it).
func WaitSettled(ctx context.Context, c Chain, a common.Address, poll time.Duration, seen func(s *chain.AccountState, first bool)) (*chain.AccountState, error) {
	var last *chain.AccountState
	stillPending := func() error {
		return errs.Stopped(ctx, fmt.Sprintf("waiting for the %d pending transaction(s) of %s to be mined", last.Waiting(), a.Hex()),
			errs.Timeoutf("%s still has %d pending transaction(s) (nonces %d..%d)", a.Hex(), last.Waiting(), last.NonceLatest, last.NoncePending-1).
				Marks(ErrStillPending))
	}
	for {
		s, err := c.Account(ctx, a)
		switch {
		case err != nil && last != nil && ctx.Err() != nil:
			return nil, stillPending()
		case err != nil:
			return nil, err
		case s.Waiting() == 0:
			return s, nil
		case seen != nil:
			seen(s, last == nil)
		}
		last = s
		select {
		case <-ctx.Done():
			return nil, stillPending()
		case <-time.After(poll):
		}
	}
}

// outbid prepares an emergency drain: fees well above the market and, when the
// account has transactions pending, the lowest pending nonce with fees that replace
// what is pending there.
//
// Why replace rather than take the next nonce: a drain queued behind a pending
// transaction is mined only after it, and that transaction may be stuck (fee cap
// below the base fee) or be an attacker's own transfer out. Taking its nonce with
// Bump of both its fees makes the node drop it for the drain; transactions at later
// nonces can no longer pay once the wallet is empty. The profile's fee caps are
// lifted: beating an attacker to the balance is worth more than the fee.
func (f *Flow) outbid(ctx context.Context, from common.Address, req *chain.TxRequest) (*chain.TxInfo, error) {
	s, err := f.Chain.Account(ctx, from)
	if err != nil {
		return nil, errs.Failedf("reading the fees and nonces for the emergency drain of %s", from.Hex()).Wrap(err)
	}
	if s.BaseFee == nil {
		return nil, errs.Failedf("the chain reports no base fee: vrwxctl sends EIP-1559 transactions only")
	}
	tip := big.NewInt(1_000_000_000)
	if s.Tip != nil {
		tip = s.Tip
	}
	// Twice the usual fee cap (2 × base fee + tip); a sweep pays its whole cap per
	// gas, so all of it above the base fee goes to the block producer as priority.
	target := new(big.Int).Mul(new(big.Int).Add(new(big.Int).Mul(s.BaseFee, big.NewInt(2)), tip), big.NewInt(2))
	req.Fees.MaxFeeCap, req.Fees.MaxPriorityCap = nil, nil
	var replaced *chain.TxInfo
	if s.Waiting() > 0 {
		n := s.NonceLatest
		req.Nonce = &n
		info, err := FindStuck(ctx, f.Chain, from, n, common.Hash{})
		switch {
		case err != nil:
			f.IO.Warnf("could not read the pending transaction at nonce %d of %s (%v); the drain replaces it with fees raised blind", n, from.Hex(), err)
		case info == nil:
			f.IO.Warnf("%s has %d pending transaction(s) but the node does not show its pool; the drain takes nonce %d with fees raised blind", from.Hex(), s.Waiting(), n)
		case info.Tx.To() != nil && *info.Tx.To() == req.To && bytes.Equal(info.Tx.Data(), req.Data):
			// The same drain, sent by another run: replacing it would only pay its fee
			// again. It is what this run came to do.
			return nil, errs.Refusedf("a drain of %s into %s is already pending as %s (nonce %d), sent by another run: this run does not replace it",
				from.Hex(), req.To.Hex(), info.Tx.Hash().Hex(), n).
				WithFix("do NOT resend: " + f.Next.wait(info.Tx.Hash())).Marks(ErrAlreadyPaid)
		default:
			replaced = info
			for _, fee := range []*big.Int{info.Tx.GasFeeCap(), info.Tx.GasTipCap()} {
				if m := Bump(fee); m.Cmp(target) > 0 {
					target = m
				}
			}
			f.IO.Warnf("%s has %d pending transaction(s); the drain replaces %s at nonce %d (fee cap %s gwei) with a fee cap of %s gwei",
				from.Hex(), s.Waiting(), info.Tx.Hash().Hex(), n, units.FormatGwei(info.Tx.GasFeeCap()), units.FormatGwei(target))
		}
	}
	req.MinMaxFee = target
	return replaced, nil
}
