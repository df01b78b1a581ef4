// Package txflow is the one path every vrwxctl write takes: take the signer's send
// lock, build the transaction with the runbook's fee caps, simulate it (reverts
// decoded to the spec's errors with the runbook's fix), check the audit log so a
// rerun never pays twice, sign, quote the L1 data fee, show a summary, ask for
// confirmation, journal the hash in the audit log, print it, broadcast, reconcile
// with the chain after any send error, and wait for the receipt.
package txflow

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// Signer signs transactions; *signer.Signer is one.
type Signer interface {
	Address() common.Address
	SignTx(tx *types.Transaction, chainID *big.Int) (*types.Transaction, error)
}

// Flow holds what every send needs.
type Flow struct {
	Chain   Chain
	Signer  Signer
	IO      *ui.IO
	Audit   *audit.Log
	Profile string
	Command string
	Reason  string
	Yes     bool
	DryRun  bool
	// NewPayment says this is a new, separate payment even when the chain shows one
	// of the same intent pending or mined within Window, or the audit log one whose
	// outcome was never reported.
	NewPayment bool
	// Window is how far back the chain is searched for the same payment (the
	// profile's payment_window; 0: DefaultWindow).
	Window time.Duration
	// LockDir holds the per-signer send locks (the state directory); "" sends
	// without the lock.
	LockDir string
	// Next words the operator's next steps in the driving program's terms.
	Next Next
	// Poll is the receipt polling interval (default 500ms), and how often a drain
	// that settles first reads the nonces (default 1s).
	Poll time.Duration
	// ReconcileTimeout bounds the questions asked after a send error (default 10s).
	// They are asked even when the command's own deadline has passed: "did it go
	// out?" must be answered before anything is said.
	ReconcileTimeout time.Duration
	// Preflight, when set, runs alongside the transaction's preparation (both only
	// read); its error stops the send before anything is signed.
	Preflight func(ctx context.Context) error
	// Terse prints one line per transaction instead of the block summary: for bulk
	// sends, which showed one summary of all of them and asked once.
	Terse bool
	// Signed, when set, is told the signed transaction's hash and nonce once its
	// "sent" line is in the audit log and before the broadcast, so a workflow with
	// its own journal (key rotate) holds the hash too if it is killed mid-send. Its
	// error stops the send: nothing is broadcast.
	Signed func(hash common.Hash, nonce uint64) error
}

// Next words an operator's next step. The CLI names its own commands; a nil func
// falls back to plain words, so library text never names a command.
type Next struct {
	// Wait: how to follow a sent transaction until it is mined.
	Wait func(h common.Hash) string
	// Status: how to look at a transaction.
	Status func(h common.Hash) string
	// Fund: how to add ETH to an account.
	Fund func(a common.Address) string
	// NewPayment: how to say "this is a new, separate payment".
	NewPayment string
}

func (n Next) wait(h common.Hash) string {
	if n.Wait != nil {
		return n.Wait(h)
	}
	return "follow " + h.Hex() + " until it is mined"
}

func (n Next) status(h common.Hash) string {
	if n.Status != nil {
		return n.Status(h)
	}
	return "look up " + h.Hex() + " on the chain"
}

func (n Next) fund(a common.Address) string {
	if n.Fund != nil {
		return n.Fund(a)
	}
	return "fund " + a.Hex() + " first"
}

func (n Next) newPayment() string {
	if n.NewPayment != "" {
		return n.NewPayment
	}
	return "the new-payment option"
}

// Call describes the transaction for people: the action and its arguments by name.
type Call struct {
	Action string
	Args   []Arg
	// Warnings are shown in the summary, before the confirmation (an unchecksummed
	// recipient, say). They are not part of the transaction's intent.
	Warnings []string
	// Replaces is the pending transaction this one replaces at its nonce (tx speedup
	// and cancel), shown in the summary.
	Replaces *types.Transaction
}

// Arg is one named argument of a call.
type Arg struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (c Call) String() string {
	parts := make([]string, len(c.Args))
	for i, a := range c.Args {
		parts[i] = a.Name + "=" + a.Value
	}
	return c.Action + "(" + strings.Join(parts, ", ") + ")"
}

// Result is the -o json shape of every sending command's transaction part.
type Result struct {
	DryRun           bool     `json:"dryRun"`
	TxHash           string   `json:"txHash"`
	ChainID          uint64   `json:"chainId"`
	From             string   `json:"from"`
	To               string   `json:"to"`
	ValueWei         string   `json:"valueWei"`
	Nonce            uint64   `json:"nonce"`
	Call             string   `json:"call"`
	GasLimit         uint64   `json:"gasLimit"`
	GasEstimate      uint64   `json:"gasEstimate"`
	MaxFeePerGas     string   `json:"maxFeePerGasWei"`
	MaxPriorityFee   string   `json:"maxPriorityFeePerGasWei"`
	BaseFee          string   `json:"baseFeeWei"`
	L1FeeWei         string   `json:"l1FeeWei"`
	L1FeeBoundWei    string   `json:"l1FeeBoundWei,omitempty"`
	WorstCaseCostWei string   `json:"worstCaseCostWei"`
	EarlierPending   []string `json:"earlierPending,omitempty"`
	// EarlierPayments are the payments of the same intent the chain showed when this
	// one was sent anyway as a new payment (--new-payment).
	EarlierPayments []string     `json:"earlierPayments,omitempty"`
	Warnings        []string     `json:"warnings,omitempty"`
	Reconciled      string       `json:"reconciled,omitempty"`
	Receipt         *ReceiptJSON `json:"receipt,omitempty"`
}

// ReceiptJSON is a decoded receipt.
type ReceiptJSON struct {
	Status            string `json:"status"`
	Block             uint64 `json:"block"`
	GasUsed           uint64 `json:"gasUsed"`
	EffectiveGasPrice string `json:"effectiveGasPriceWei"`
	L1FeeWei          string `json:"l1FeeWei"`
	TotalFeeWei       string `json:"totalFeeWei"`
}

// Execute builds, simulates, signs, confirms, sends and waits for req. The returned
// receipt is nil on a dry run.
//
// The signer's lock is held from before the nonce is read until the transaction is
// journaled and its broadcast has an answer (or reconciliation gave one), so two
// vrwxctl processes on one host never sign the same nonce.
func (f *Flow) Execute(ctx context.Context, req chain.TxRequest, call Call) (*Result, *chain.Receipt, error) {
	req.From = f.Signer.Address()
	var lock *SignerLock
	if f.LockDir != "" && !f.DryRun {
		var err error
		lock, err = AcquireSignerLock(ctx, f.LockDir, req.From, func(holder int) {
			who := "another vrwxctl"
			if holder > 0 {
				who += fmt.Sprintf(" (pid %d)", holder)
			}
			f.IO.Warnf("%s is sending from %s; waiting for it to finish…", who, req.From.Hex())
		})
		if err != nil {
			return nil, nil, err
		}
	}
	defer lock.Release()

	var preErr, guardErr error
	var earlier *earlierTxs
	var wg sync.WaitGroup
	if f.Preflight != nil {
		wg.Add(1)
		go func() { defer wg.Done(); preErr = f.Preflight(ctx) }()
	}
	if f.Audit != nil {
		wg.Add(1)
		go func() { defer wg.Done(); earlier, guardErr = f.checkEarlier(ctx, req.From) }()
	}
	// The chain decides whether this payment was made already: the sender's pool and
	// recent blocks, read with the nonce in one batch. A replacement pins its nonce
	// on purpose (it is meant to take an earlier transaction's place) and is not
	// checked against it.
	guarded := req.Nonce == nil
	var p *chain.Prepared
	var recent *chain.Recent
	var err error
	if guarded {
		p, recent, err = f.Chain.PrepareSend(ctx, req, f.window())
		if recent != nil && !recent.PoolKnown && recent.NoncePending > recent.NonceLatest {
			// A node that hides its pool cannot show whether a pending transaction is
			// this payment: wait until they are mined (then they are in the blocks the
			// guard reads), and read again.
			f.IO.Warnf("the node does not show its txpool: waiting for the %d pending transaction(s) of %s to be mined, so the chain can tell whether this payment was already made",
				recent.NoncePending-recent.NonceLatest, req.From.Hex())
			poll := f.Poll
			if poll <= 0 {
				poll = time.Second
			}
			if _, werr := WaitSettled(ctx, f.Chain, req.From, poll, nil); werr != nil {
				wg.Wait()
				return nil, nil, errs.WithFix(werr, "nothing was sent; run it again once they are mined, or use an RPC endpoint that shows its txpool")
			}
			p, recent, err = f.Chain.PrepareSend(ctx, req, f.window())
		}
	} else {
		p, err = f.Chain.Prepare(ctx, req)
	}
	wg.Wait()
	// The intent (command, recipient, call, calldata) is known before anything is
	// built; an earlier transaction of the same intent outranks every other answer,
	// since it explains them (a completion already mined fails its preflight).
	entry := audit.Entry{Profile: f.Profile, ChainID: f.Chain.ChainID(), Command: f.Command, From: req.From.Hex(), To: req.To.Hex(),
		Method: call.Action, Call: call.String(), Reason: f.Reason}
	if len(req.Data) > 0 {
		entry.DataHash = crypto.Keccak256Hash(req.Data).Hex()
	}
	if call.Replaces != nil {
		entry.Replaces = call.Replaces.Hash().Hex()
	}
	if guardErr != nil {
		return nil, nil, guardErr
	}
	if err := earlier.refuse(entry, f); err != nil {
		return nil, nil, f.refusal(entry, err)
	}
	// The payment is the transaction's recipient, value and calldata; a sweep's value
	// is known once it is built (one that cannot be built has nothing to send).
	var paid []chain.SentTx
	switch {
	case p != nil:
		paid = IntentOf(req.From, p.Tx, false).Paid(recent)
	case !req.Sweep:
		in := Intent{From: req.From, To: req.To, Value: req.Value, Data: req.Data}
		if in.Value == nil {
			in.Value = new(big.Int)
		}
		paid = in.Paid(recent)
	}
	if len(paid) > 0 && !f.NewPayment {
		return nil, nil, f.refusal(entry, f.refusePaid(ctx, call, req.From, paid, recent))
	}
	if preErr != nil {
		return nil, nil, f.refusal(entry, preErr)
	}
	if err != nil {
		return nil, nil, f.refusal(entry, explain(err, call))
	}
	f.notes(recent)
	if len(paid) > 0 {
		f.IO.Warnf("sending a new, separate payment as asked; the chain shows %d earlier one(s) of the same intent: %s", len(paid), knownOf(paid, recent))
	}
	entry.Value, entry.Nonce = p.Tx.Value().String(), ptr(p.Tx.Nonce())
	signed, err := f.Signer.SignTx(p.Tx, p.ChainID)
	if err != nil {
		return nil, nil, err
	}
	entry.TxHash = signed.Hash().Hex()
	res := &Result{
		DryRun: f.DryRun, TxHash: signed.Hash().Hex(), ChainID: p.ChainID.Uint64(), From: req.From.Hex(), To: req.To.Hex(),
		ValueWei: signed.Value().String(), Nonce: signed.Nonce(), Call: call.String(), GasLimit: signed.Gas(), GasEstimate: p.GasEstimate,
		MaxFeePerGas: signed.GasFeeCap().String(), MaxPriorityFee: signed.GasTipCap().String(), BaseFee: p.BaseFee.String(),
		L1FeeWei: p.L1Fee.String(), WorstCaseCostWei: p.WorstCase().String(), EarlierPending: earlier.pendingHashes(),
		EarlierPayments: hashes(paid), Warnings: call.Warnings,
	}
	if p.L1FeeBound.Sign() > 0 {
		res.L1FeeBoundWei = p.L1FeeBound.String()
	}
	if f.Terse {
		f.IO.Infof("%s nonce %d, gas limit %d, at most %s ETH", call.String(), signed.Nonce(), signed.Gas(), units.FormatEther(p.WorstCase()))
	} else {
		f.summary(p, signed, call, earlier)
	}
	if worst := p.WorstCase(); worst.Cmp(p.Balance) > 0 {
		return nil, nil, f.refusal(entry, errs.Refusedf("%s has %s ETH but this transaction may cost up to %s ETH (value + gas limit × fee cap + L1 fee bound); nothing was sent",
			req.From.Hex(), units.FormatEther(p.Balance), units.FormatEther(worst)).
			WithFix(f.Next.fund(req.From)+", or send less"))
	}
	if f.DryRun {
		entry.Outcome = audit.DryRun
		if err := f.Audit.Append(entry); err != nil {
			return nil, nil, err
		}
		f.IO.Successf("dry run: signed %s (nonce %d) and simulated it; nothing was sent", res.TxHash, res.Nonce)
		return res, nil, nil
	}
	if !f.Yes {
		if err := f.IO.Confirm("Send this transaction?"); err != nil {
			return nil, nil, f.refusal(entry, err)
		}
	}
	// The journal line exists before the broadcast: if vrwxctl dies after sending, the
	// hash is on disk and a rerun follows it instead of paying twice.
	entry.Outcome = audit.Sent
	if f.NewPayment {
		entry.After = earlier.sameIntentHashes(entry)
		for _, h := range hashes(paid) {
			if !slices.Contains(entry.After, h) {
				entry.After = append(entry.After, h)
			}
		}
	}
	if err := f.Audit.Append(entry); err != nil {
		return nil, nil, errs.Failedf("not sent: the audit log could not be written").Wrap(err)
	}
	h := signed.Hash()
	if f.Signed != nil {
		if err := f.Signed(h, signed.Nonce()); err != nil {
			entry.Outcome, entry.Error = audit.NotSent, err.Error()
			_ = f.Audit.Append(entry)
			return nil, nil, errs.Failedf("not sent: %s could not be recorded before its broadcast", h.Hex()).Wrap(err)
		}
	}
	f.IO.Infof("signed %s (nonce %d); broadcasting", res.TxHash, res.Nonce)
	var rcpt *chain.Receipt
	if _, sendErr := f.Chain.SendRaw(ctx, signed); sendErr != nil {
		var se *chain.SendError
		if errors.As(sendErr, &se) {
			sendErr = se.Err
		}
		rec := f.reconcile(ctx, h, req.From)
		f.IO.Debugf("broadcast of %s failed (%v); reconciled: %s, %s", h.Hex(), sendErr, rec.State, rec.Summary())
		// A node that refused bytes it already had (the same signed transaction, from
		// a retry of this broadcast or from another run that signed the same payment
		// at the same moment) answered with an error of its own.
		lost := fmt.Sprintf("the node's answer to the broadcast was lost (%v)", sendErr)
		if se != nil && se.Rejected {
			lost = fmt.Sprintf("the node refused this copy (%v) because it already had the same signed transaction (a retry of this broadcast, or another run signing the same payment at the same moment)", sendErr)
		}
		switch rec.State {
		case chain.StateMined:
			f.IO.Warnf("%s; %s is mined in block %d", lost, h.Hex(), rec.Receipt.BlockNumber)
			res.Reconciled, rcpt = "mined", rec.Receipt
		case chain.StatePending:
			f.IO.Warnf("%s; %s is in the pool", lost, h.Hex())
			res.Reconciled = "pending"
		case chain.StateAbsent:
			if other, r, taken := f.takenBy(ctx, req.From, signed.Nonce(), h); taken {
				other, r = f.minedHolder(ctx, req.From, signed.Nonce(), h, other, r)
				err := f.lostRace(IntentOf(req.From, signed, false), call, h, signed.Nonce(), other, r)
				entry.Outcome, entry.Error = audit.NotSent, fmt.Sprintf("nonce %d taken by %s (%v)", signed.Nonce(), other.Hash.Hex(), sendErr)
				if aerr := f.Audit.Append(entry); aerr != nil {
					return nil, nil, aerr
				}
				return nil, nil, err
			}
			why := fmt.Sprintf("no RPC endpoint knows %s and nonce %d is unused", h.Hex(), signed.Nonce())
			if rec.NonceUsed(signed.Nonce()) {
				why = fmt.Sprintf("no RPC endpoint knows %s and nonce %d was used by another transaction, so it can never be mined", h.Hex(), signed.Nonce())
			}
			entry.Outcome, entry.Error = audit.NotSent, sendErr.Error()
			if err := f.Audit.Append(entry); err != nil {
				return nil, nil, err
			}
			e := errs.Failedf("not sent: %s (the broadcast failed: %s)", why, sendErr).
				WithFix("nothing left the account: once the cause is fixed, running the same command again sends it once")
			if se != nil && se.Rejected {
				if fix := errs.FixOf(sendErr); fix != "" {
					e = e.WithFix(fix)
				}
			}
			return nil, nil, e
		default:
			entry.Outcome, entry.Error = audit.Unknown, sendErr.Error()
			_ = f.Audit.Append(entry)
			return res, nil, errs.Timeoutf("transaction %s (nonce %d) MAY have been sent: the broadcast failed (%v) and %s",
				h.Hex(), signed.Nonce(), sendErr, rec.Summary()).
				WithFix("do NOT resend: " + f.Next.wait(h))
		}
	}
	lock.Release()
	if rcpt == nil {
		f.IO.Successf("sent %s", h.Hex())
		var err error
		var other *chain.SentTx
		var r *chain.Recent
		rcpt, other, r, err = f.waitOwn(ctx, h, req.From, signed.Nonce())
		if other != nil {
			*other, r = f.minedHolder(ctx, req.From, signed.Nonce(), h, *other, r)
			err := f.lostRace(IntentOf(req.From, signed, false), call, h, signed.Nonce(), *other, r)
			entry.Outcome, entry.Error = audit.NotSent, fmt.Sprintf("replaced at nonce %d by %s", signed.Nonce(), other.Hash.Hex())
			if aerr := f.Audit.Append(entry); aerr != nil {
				return res, nil, aerr
			}
			return res, nil, err
		}
		if err != nil {
			entry.Outcome, entry.Error = audit.Timeout, err.Error()
			_ = f.Audit.Append(entry)
			if errors.Is(err, errs.ErrInterrupted) {
				return res, nil, (&errs.Error{Kind: errs.KindOf(err), Msg: fmt.Sprintf("transaction %s (nonce %d) was sent", h.Hex(), signed.Nonce()), Err: err}).
					Marks(errs.ErrInterrupted).WithFix("do NOT resend it (that risks paying twice): " + f.Next.wait(h))
			}
			return res, nil, errs.Timeoutf("transaction %s (nonce %d) was sent but no receipt came within the timeout: do NOT resend it (that risks paying twice)", h.Hex(), signed.Nonce()).
				WithFix(f.Next.wait(h))
		}
	}
	res.Receipt = DecodeReceipt(rcpt)
	entry.Outcome, entry.Block, entry.FeeWei, entry.Error = audit.Mined, uint64(rcpt.BlockNumber), rcpt.TotalFee().String(), ""
	if !rcpt.Succeeded() {
		entry.Outcome = audit.Reverted
	}
	if err := f.Audit.Append(entry); err != nil {
		return res, rcpt, err
	}
	if !rcpt.Succeeded() {
		return res, rcpt, errs.Failedf("transaction %s reverted in block %d (gas used %d)", h.Hex(), rcpt.BlockNumber, rcpt.GasUsed).
			WithFix("the state changed between simulation and inclusion; " + f.Next.status(h))
	}
	return res, rcpt, nil
}

// refusal records in the audit log a send that a safety rail stopped (no
// confirmation, an earlier identical payment, the balance, the chain id), so the log
// shows what was attempted and why it went nowhere; it returns err unchanged.
func (f *Flow) refusal(entry audit.Entry, err error) error {
	if f.Audit == nil || errs.KindOf(err) != errs.Refused {
		return err
	}
	entry.Outcome, entry.Error = audit.Refused, err.Error()
	if aerr := f.Audit.Append(entry); aerr != nil {
		f.IO.Warnf("the refusal could not be recorded in the audit log: %v", aerr)
	}
	return err
}

// reconcile asks the chain what became of h after a send error, with its own time
// budget: the command's deadline may be what ended the send.
func (f *Flow) reconcile(ctx context.Context, h common.Hash, from common.Address) *chain.Reconciliation {
	d := f.ReconcileTimeout
	if d <= 0 {
		d = 10 * time.Second
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	defer cancel()
	return f.Chain.ReconcileSettled(rctx, h, from)
}

// Wait waits for h's receipt, showing the time elapsed and left (a line rewritten
// in place on a terminal, a line every 5s elsewhere). ctx ending by a signal is an
// interruption (errs.ErrInterrupted, exit 130/143), by its deadline a timeout.
func (f *Flow) Wait(ctx context.Context, h common.Hash) (*chain.Receipt, error) {
	w := f.IO.Waiting(ctx, h.Hex()+" to be mined")
	defer w.Clear()
	rcpt, err := f.Chain.WaitMined(ctx, h, f.Poll, func(time.Duration) { w.Tick() })
	if err != nil {
		return nil, errs.Stopped(ctx, "waiting for "+h.Hex()+" to be mined", err)
	}
	return rcpt, nil
}

// DecodeReceipt turns a receipt into its JSON shape.
func DecodeReceipt(r *chain.Receipt) *ReceiptJSON {
	status := "success"
	if !r.Succeeded() {
		status = "reverted"
	}
	l1 := "0"
	if r.L1Fee != nil {
		l1 = r.L1Fee.ToInt().String()
	}
	return &ReceiptJSON{Status: status, Block: uint64(r.BlockNumber), GasUsed: uint64(r.GasUsed),
		EffectiveGasPrice: r.EffectiveGasPrice.ToInt().String(), L1FeeWei: l1, TotalFeeWei: r.TotalFee().String()}
}

// explain decodes a simulation revert into the spec's error with the runbook's fix.
func explain(err error, call Call) error {
	se, ok := err.(*chain.SimulationError)
	if !ok {
		return err
	}
	if ce := vrwx.DecodeRevert(se.RevertData); ce != nil {
		return errs.Failedf("simulation: %s would revert with %s — %s; nothing was sent", call.Action, ce.Title(), ce.Cause).WithFix(ce.Fix)
	}
	return errs.Failedf("simulation: %s would revert; nothing was sent", call.Action).Wrap(se.Err)
}

func (f *Flow) summary(p *chain.Prepared, tx *types.Transaction, call Call, earlier *earlierTxs) {
	s := f.IO.ErrStyles()
	var fl ui.Fields
	fl.Row("call", call.String())
	fl.Row("from", fmt.Sprintf("%s (balance %s ETH)", p.From.Hex(), units.FormatEther(p.Balance)))
	fl.Row("to", tx.To().Hex())
	fl.Row("value", units.FormatEther(tx.Value())+" ETH")
	fl.Row("chain", fmt.Sprintf("%s (%s) via %s", f.Profile, p.ChainID, chain.RedactURL(f.Chain.URL())))
	// Earlier pending transactions are the ones below this nonce: a replacement
	// takes the nonce of the one it replaces, which is not "earlier".
	waiting := ""
	if n := min(p.NoncePending, tx.Nonce()); n > p.NonceLatest {
		waiting = fmt.Sprintf(" — %d earlier transaction(s) still pending", n-p.NonceLatest)
	}
	if r := call.Replaces; r != nil {
		waiting += " — the nonce of the transaction it replaces"
	}
	fl.Row("nonce", fmt.Sprintf("%d%s", tx.Nonce(), waiting))
	if r := call.Replaces; r != nil {
		fl.Row("replaces", fmt.Sprintf("%s (max %s gwei/gas, priority %s gwei): whichever is mined first uses the nonce, the other never is",
			r.Hash().Hex(), units.FormatGwei(r.GasFeeCap()), units.FormatGwei(r.GasTipCap())))
	}
	for _, t := range earlier.pending() {
		if call.Replaces != nil && t.Sent.TxHash == call.Replaces.Hash().Hex() {
			continue // shown as what this one replaces
		}
		fl.Row("pending", fmt.Sprintf("%s nonce %d: %s %s (sent earlier, still pending)", t.Sent.TxHash, deref(t.Sent.Nonce), t.Sent.Command, t.Sent.Call))
	}
	if p.GasEstimate > 0 {
		fl.Row("gas", fmt.Sprintf("limit %d (estimate %d)", tx.Gas(), p.GasEstimate))
	} else {
		fl.Row("gas", fmt.Sprintf("limit %d", tx.Gas()))
	}
	fl.Row("fees", fmt.Sprintf("max %s gwei/gas, priority %s gwei (base fee %s gwei)", units.FormatGwei(tx.GasFeeCap()), units.FormatGwei(tx.GasTipCap()), units.FormatGwei(p.BaseFee)))
	if p.OPStack {
		fl.Row("L1 fee", fmt.Sprintf("%s ETH (OP-stack data fee, quoted now; fixed at inclusion; at most %s ETH)", units.FormatEther(p.L1Fee), units.FormatEther(p.L1FeeBound)))
	}
	fl.Row("at most", units.FormatEther(p.WorstCase())+" ETH")
	for _, warning := range call.Warnings {
		fl.Warn("warning", warning)
	}
	fmt.Fprintln(f.IO.ErrOut, s.Bold.Render("Transaction"))
	f.IO.RenderFields(&fl)
}

func deref(n *uint64) uint64 {
	if n == nil {
		return 0
	}
	return *n
}

func ptr[T any](v T) *T { return &v }
