// Package txflow is the one path every vrwxctl write takes: build the transaction
// with the runbook's fee caps, simulate it (reverts decoded to the spec's errors with
// the runbook's fix), sign, quote the L1 data fee, show a summary, ask for
// confirmation, journal it in the audit log, broadcast, print the hash, and wait for
// the receipt.
package txflow

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
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
	Chain   *chain.Client
	Signer  Signer
	IO      *ui.IO
	Audit   *audit.Log
	Profile string
	Command string
	Reason  string
	Yes     bool
	DryRun  bool
	// Poll is the receipt polling interval (default 500ms).
	Poll time.Duration
	// Preflight, when set, runs alongside the transaction's preparation (both only
	// read); its error stops the send before anything is signed.
	Preflight func(ctx context.Context) error
}

// Call describes the transaction for people: the action and its arguments by name.
type Call struct {
	Action string
	Args   []Arg
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
	DryRun           bool         `json:"dryRun"`
	TxHash           string       `json:"txHash"`
	ChainID          uint64       `json:"chainId"`
	From             string       `json:"from"`
	To               string       `json:"to"`
	ValueWei         string       `json:"valueWei"`
	Nonce            uint64       `json:"nonce"`
	Call             string       `json:"call"`
	GasLimit         uint64       `json:"gasLimit"`
	GasEstimate      uint64       `json:"gasEstimate"`
	MaxFeePerGas     string       `json:"maxFeePerGasWei"`
	MaxPriorityFee   string       `json:"maxPriorityFeePerGasWei"`
	BaseFee          string       `json:"baseFeeWei"`
	L1FeeWei         string       `json:"l1FeeWei"`
	L1FeeBoundWei    string       `json:"l1FeeBoundWei,omitempty"`
	WorstCaseCostWei string       `json:"worstCaseCostWei"`
	Receipt          *ReceiptJSON `json:"receipt,omitempty"`
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
func (f *Flow) Execute(ctx context.Context, req chain.TxRequest, call Call) (*Result, *chain.Receipt, error) {
	req.From = f.Signer.Address()
	var preErr error
	var wg sync.WaitGroup
	if f.Preflight != nil {
		wg.Add(1)
		go func() { defer wg.Done(); preErr = f.Preflight(ctx) }()
	}
	p, err := f.Chain.Prepare(ctx, req)
	wg.Wait()
	if preErr != nil {
		return nil, nil, preErr
	}
	if err != nil {
		return nil, nil, explain(err, call)
	}
	signed, err := f.Signer.SignTx(p.Tx, p.ChainID)
	if err != nil {
		return nil, nil, err
	}
	l1, err := f.Chain.L1Fee(ctx, p, signed, func(raw []byte) []byte { return vrwx.Pack(vrwx.L1OracleABI(), "getL1Fee", raw) })
	if err != nil {
		return nil, nil, err
	}
	res := &Result{
		DryRun: f.DryRun, TxHash: signed.Hash().Hex(), ChainID: p.ChainID.Uint64(), From: req.From.Hex(), To: req.To.Hex(),
		ValueWei: signed.Value().String(), Nonce: signed.Nonce(), Call: call.String(), GasLimit: signed.Gas(), GasEstimate: p.GasEstimate,
		MaxFeePerGas: signed.GasFeeCap().String(), MaxPriorityFee: signed.GasTipCap().String(), BaseFee: p.BaseFee.String(),
		L1FeeWei: l1.String(), WorstCaseCostWei: p.WorstCase(l1).String(),
	}
	if p.L1FeeBound != nil && p.L1FeeBound.Sign() > 0 {
		res.L1FeeBoundWei = p.L1FeeBound.String()
	}
	f.summary(p, signed, l1, call)
	entry := audit.Entry{Profile: f.Profile, ChainID: res.ChainID, Command: f.Command, From: res.From, To: res.To,
		Value: res.ValueWei, Nonce: ptr(signed.Nonce()), Method: call.Action, TxHash: res.TxHash, Reason: f.Reason}
	if worst := p.WorstCase(l1); worst.Cmp(p.Balance) > 0 {
		return nil, nil, errs.Refusedf("%s has %s ETH but this transaction may cost up to %s ETH (value + gas limit × fee cap + L1 fee)",
			req.From.Hex(), units.FormatEther(p.Balance), units.FormatEther(worst)).
			WithFix("fund the account first (vrwxctl wallet fund), or send less")
	}
	if f.DryRun {
		entry.Outcome = "dry-run"
		if err := f.Audit.Append(entry); err != nil {
			return nil, nil, err
		}
		f.IO.Successf("dry run: signed %s and simulated it; nothing was sent", res.TxHash)
		return res, nil, nil
	}
	if !f.Yes {
		if err := f.IO.Confirm("Send this transaction?"); err != nil {
			return nil, nil, err
		}
	}
	// The journal line exists before the broadcast: if vrwxctl dies after sending, the
	// hash is on disk and a rerun can follow it instead of paying twice.
	entry.Outcome = "sent"
	if err := f.Audit.Append(entry); err != nil {
		return nil, nil, errs.Failedf("not sent: the audit log could not be written").Wrap(err)
	}
	h, err := f.Chain.SendRaw(ctx, signed)
	if err != nil {
		entry.Outcome, entry.Error = "failed", err.Error()
		_ = f.Audit.Append(entry)
		return nil, nil, err
	}
	f.IO.Successf("sent %s", h.Hex())
	rcpt, err := f.Wait(ctx, h)
	if err != nil {
		entry.Outcome, entry.Error = "timeout", err.Error()
		_ = f.Audit.Append(entry)
		return res, nil, err
	}
	res.Receipt = DecodeReceipt(rcpt)
	entry.Outcome, entry.Block, entry.FeeWei = "mined", uint64(rcpt.BlockNumber), rcpt.TotalFee().String()
	if !rcpt.Succeeded() {
		entry.Outcome = "reverted"
	}
	if err := f.Audit.Append(entry); err != nil {
		return res, rcpt, err
	}
	if !rcpt.Succeeded() {
		return res, rcpt, errs.Failedf("transaction %s reverted in block %d (gas used %d)", h.Hex(), rcpt.BlockNumber, rcpt.GasUsed).
			WithFix("the state changed between simulation and inclusion; check with `vrwxctl tx status " + h.Hex() + "`")
	}
	return res, rcpt, nil
}

// Wait waits for h's receipt, showing progress on a terminal.
func (f *Flow) Wait(ctx context.Context, h common.Hash) (*chain.Receipt, error) {
	last := time.Duration(0)
	return f.Chain.WaitMined(ctx, h, f.Poll, func(elapsed time.Duration) {
		if elapsed-last >= 5*time.Second {
			last = elapsed
			f.IO.Infof("  waiting for %s to be mined… %s", h.Hex(), elapsed.Truncate(time.Second))
		}
	})
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
		return errs.Failedf("simulation: %s would revert with %s — %s; nothing was sent", call.Action, ce.Name, ce.Cause).WithFix(ce.Fix)
	}
	return errs.Failedf("simulation: %s would revert; nothing was sent", call.Action).Wrap(se.Err)
}

func (f *Flow) summary(p *chain.Prepared, tx *types.Transaction, l1 *big.Int, call Call) {
	s := f.IO.ErrStyles()
	w := f.IO.ErrOut
	row := func(k, v string) { fmt.Fprintf(w, "  %-9s %s\n", s.Faint.Render(k), v) }
	fmt.Fprintln(w, s.Bold.Render("Transaction"))
	row("call", call.String())
	row("from", fmt.Sprintf("%s (balance %s ETH)", p.From.Hex(), units.FormatEther(p.Balance)))
	row("to", tx.To().Hex())
	row("value", units.FormatEther(tx.Value())+" ETH")
	row("chain", fmt.Sprintf("%s (%s) via %s", f.Profile, p.ChainID, chain.RedactURL(f.Chain.URL())))
	waiting := ""
	if p.NoncePending > p.NonceLatest {
		waiting = fmt.Sprintf(" — %d earlier transaction(s) still pending", p.NoncePending-p.NonceLatest)
	}
	row("nonce", fmt.Sprintf("%d%s", tx.Nonce(), waiting))
	if p.GasEstimate > 0 {
		row("gas", fmt.Sprintf("limit %d (estimate %d)", tx.Gas(), p.GasEstimate))
	} else {
		row("gas", fmt.Sprintf("limit %d", tx.Gas()))
	}
	row("fees", fmt.Sprintf("max %s gwei/gas, priority %s gwei (base fee %s gwei)", units.FormatGwei(tx.GasFeeCap()), units.FormatGwei(tx.GasTipCap()), units.FormatGwei(p.BaseFee)))
	if p.OPStack {
		row("L1 fee", units.FormatEther(l1)+" ETH (OP-stack data fee, quoted now; fixed at inclusion)")
	}
	row("at most", units.FormatEther(p.WorstCase(l1))+" ETH")
}

func ptr[T any](v T) *T { return &v }
