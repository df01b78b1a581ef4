package txflow

import (
	"context"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// earlierTx is a transaction this signer sent before whose outcome the operator was
// never told, with what the chain says about it now.
type earlierTx struct {
	audit.Track
	State chain.TxState
	// Succeeded is the receipt's status when State is mined.
	Succeeded bool
	Block     uint64
}

// earlierTxs are the signer's unsettled transactions. A nil *earlierTxs has none.
type earlierTxs struct {
	txs []earlierTx
}

// checkEarlier reads the audit log for from's transactions whose sending run never
// reported a final outcome (killed, timed out, or the broadcast's answer lost),
// asks every RPC endpoint about each, and appends the outcome it learns as a final
// line, marked as reconciled by this command.
func (f *Flow) checkEarlier(ctx context.Context, from common.Address) (*earlierTxs, error) {
	tracks, err := f.Audit.Tracks(f.Chain.ChainID(), from.Hex())
	if err != nil {
		e := errs.Failedf("reading the audit log for earlier transactions of %s; nothing was sent", from.Hex()).Wrap(err)
		if errs.KindOf(err) == errs.Refused {
			e.Kind = errs.Refused // a log others can change is a safety rail's refusal
		}
		return nil, e
	}
	out := &earlierTxs{}
	for _, t := range tracks {
		if t.Reported || t.Acknowledged {
			continue
		}
		e := earlierTx{Track: t}
		switch {
		case t.Last.Outcome == audit.Mined:
			e.State, e.Succeeded, e.Block = chain.StateMined, true, t.Last.Block
		case audit.Final(t.Last.Outcome):
			continue // reverted or not sent: nothing was paid
		default:
			rec := f.Chain.Reconcile(ctx, common.HexToHash(t.Sent.TxHash), from)
			e.State = rec.State
			line := t.Sent
			line.Time, line.User, line.Error, line.After, line.ReconciledBy = time.Time{}, "", "", nil, f.Command
			switch rec.State {
			case chain.StateMined:
				e.Succeeded, e.Block = rec.Receipt.Succeeded(), uint64(rec.Receipt.BlockNumber)
				line.Outcome, line.Block, line.FeeWei = audit.Mined, e.Block, rec.Receipt.TotalFee().String()
				if !e.Succeeded {
					line.Outcome = audit.Reverted
				}
			case chain.StateAbsent:
				line.Outcome = audit.NotSent
				line.Error = "no RPC endpoint knows it"
			default:
				line.Outcome = ""
			}
			if line.Outcome != "" {
				if err := f.Audit.Append(line); err != nil {
					return nil, err
				}
			}
			if rec.State == chain.StateUnknown {
				f.IO.Warnf("could not tell what became of the earlier transaction %s (%s)", t.Sent.TxHash, rec.Summary())
			}
		}
		out.txs = append(out.txs, e)
	}
	return out, nil
}

// refuse stops a send whose intent matches an earlier transaction that is pending or
// was mined successfully, unless the operator said it is a new, separate payment.
func (e *earlierTxs) refuse(entry audit.Entry, f *Flow) error {
	if e == nil || f.NewPayment {
		return nil
	}
	for _, t := range e.txs {
		if t.Sent.Intent() != entry.Intent() {
			continue
		}
		h := common.HexToHash(t.Sent.TxHash)
		var state string
		switch {
		case t.State == chain.StatePending:
			state = "still pending"
		case t.State == chain.StateMined && t.Succeeded:
			state = fmt.Sprintf("mined in block %d", t.Block)
		default:
			continue
		}
		return errs.Refusedf("the same %s was already sent as %s (nonce %d, %s) and is %s: this run sends nothing",
			t.Sent.Command, t.Sent.TxHash, deref(t.Sent.Nonce), t.Sent.Time.Local().Format("2006-01-02 15:04:05"), state).
			WithFix(fmt.Sprintf("do NOT resend: %s; if this really is a new, separate payment, add %s", f.Next.wait(h), f.Next.newPayment())).
			Marks(ErrAlreadyPaid)
	}
	return nil
}

// sameIntentHashes lists the earlier pending or mined transactions of entry's intent:
// a new payment records that it was sent knowing of them.
func (e *earlierTxs) sameIntentHashes(entry audit.Entry) []string {
	if e == nil {
		return nil
	}
	var out []string
	for _, t := range e.txs {
		if t.Sent.Intent() == entry.Intent() && (t.State == chain.StatePending || t.State == chain.StateMined) {
			out = append(out, t.Sent.TxHash)
		}
	}
	return out
}

// pending lists the earlier transactions still in a pool.
func (e *earlierTxs) pending() []earlierTx {
	if e == nil {
		return nil
	}
	var out []earlierTx
	for _, t := range e.txs {
		if t.State == chain.StatePending {
			out = append(out, t)
		}
	}
	return out
}

func (e *earlierTxs) pendingHashes() []string {
	var out []string
	for _, t := range e.pending() {
		out = append(out, t.Sent.TxHash)
	}
	return out
}
