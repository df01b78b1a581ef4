package txflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// DefaultWindow is how far back the chain is searched for the same payment when the
// profile does not say (payment_window).
const DefaultWindow = time.Hour

// ErrAlreadyPaid marks a send refused because the same payment was made already
// (pending, or mined and successful): the chain shows it within the window, made
// by this run's machine or any other, or this machine's audit log records it and
// the chain confirms it pending or mined.
var ErrAlreadyPaid = errors.New("the same payment was already made")

// Intent is what makes two transactions the same payment on chain: the sender,
// the recipient, the value and the calldata. A sweep's value is whatever the
// balance allows, so a sweep matches any value to the same recipient with the same
// calldata.
type Intent struct {
	From  common.Address
	To    common.Address
	Value *big.Int // nil: any value (a sweep)
	Data  []byte
}

// IntentOf is the intent of a transaction about to be sent.
func IntentOf(from common.Address, tx *types.Transaction, sweep bool) Intent {
	in := Intent{From: from, Data: tx.Data()}
	if tx.To() != nil {
		in.To = *tx.To()
	}
	if !sweep {
		in.Value = tx.Value()
	}
	return in
}

// Matches reports whether t (a transaction of the same sender) has this intent.
func (in Intent) Matches(t chain.SentTx) bool {
	if t.To == nil || *t.To != in.To || !bytes.Equal(t.Data, in.Data) {
		return false
	}
	return in.Value == nil || (t.Value != nil && t.Value.Cmp(in.Value) == 0)
}

// Paid lists the transactions in r that made this payment: pending, or mined with
// success within the window (a reverted one paid only its fee), newest first.
func (in Intent) Paid(r *chain.Recent) []chain.SentTx {
	if r == nil {
		return nil
	}
	var out []chain.SentTx
	for _, t := range r.Txs {
		if !in.Matches(t) {
			continue
		}
		if t.Pending || (t.Succeeded && !t.Time.Before(r.Since)) {
			out = append(out, t)
		}
	}
	return out
}

func (f *Flow) window() time.Duration {
	if f.Window > 0 {
		return f.Window
	}
	return DefaultWindow
}

// Describe says in a few words where t stands: "pending in the node's pool", or
// "mined in block B at T (D before the latest block) and succeeded".
func Describe(t chain.SentTx, r *chain.Recent) string {
	if t.Pending {
		return "pending in the node's pool (not mined yet)"
	}
	how := "succeeded"
	if !t.Succeeded {
		how = "reverted"
	}
	when := ""
	if !t.Time.IsZero() {
		when = " at " + t.Time.UTC().Format(time.RFC3339)
		if r != nil && !r.HeadTime.IsZero() && !r.HeadTime.Before(t.Time) {
			when += fmt.Sprintf(" (%s before the latest block)", ui.Duration(r.HeadTime.Sub(t.Time)))
		}
	}
	return fmt.Sprintf("mined in block %d%s and %s", t.Block, when, how)
}

// alreadyPaid is the refusal of a send whose payment the chain shows made.
func (f *Flow) alreadyPaid(call Call, from common.Address, paid []chain.SentTx, r *chain.Recent) error {
	t := paid[0]
	more := ""
	if len(paid) > 1 {
		more = fmt.Sprintf(" (and %d more of the same within the last %s)", len(paid)-1, ui.Duration(f.window()))
	}
	return errs.Refusedf("the same payment, %s from %s, was already made as %s (nonce %d), %s%s: this run sends nothing",
		call.String(), from.Hex(), t.Hash.Hex(), t.Nonce, Describe(t, r), more).
		WithFix(fmt.Sprintf("do NOT resend: %s; if this really is a new, separate payment, add %s", f.Next.wait(t.Hash), f.Next.newPayment())).
		Marks(ErrAlreadyPaid)
}

// refusePaid refuses a send whose payment the chain shows made. When that payment
// is pending at the next nonce to be mined — another run's send of a moment ago —
// it is followed until a block holds that nonce (within the reconcile budget): in
// a pool a higher fee may still replace it, and the refusal names the payment that
// was mined, not one that was dropped for it.
func (f *Flow) refusePaid(ctx context.Context, call Call, from common.Address, paid []chain.SentTx, r *chain.Recent) error {
	t := paid[0]
	if !t.Pending || t.Nonce != r.NonceLatest {
		return f.alreadyPaid(call, from, paid, r)
	}
	d := f.ReconcileTimeout
	if d <= 0 {
		d = 10 * time.Second
	}
	fctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	held, nr := f.minedHolder(fctx, from, t.Nonce, common.Hash{}, t, r)
	in := Intent{From: from, To: *t.To, Value: t.Value, Data: t.Data}
	if !in.Matches(held) {
		return errs.Failedf("the same payment was pending as %s (nonce %d) when this run read the chain, but %s took that nonce instead (%s, %s); this run sent nothing",
			t.Hash.Hex(), t.Nonce, held.Hash.Hex(), summarize(held), Describe(held, nr)).
			WithFix("check the account's recent transactions, then run the command again if the payment is still to be made")
	}
	paid[0] = held
	return f.alreadyPaid(call, from, paid, nr)
}

// notes warns about what the chain read could not see, once per send.
func (f *Flow) notes(r *chain.Recent) {
	if r == nil {
		return
	}
	for _, n := range r.Notes {
		f.IO.Warnf("payment guard: %s", n)
	}
}

// takenBy finds what holds nonce of from now that the node refused or dropped the
// transaction h: another transaction at the same nonce, in the pool or mined. It
// asks within the flow's reconcile budget (the command's deadline may be over).
func (f *Flow) takenBy(ctx context.Context, from common.Address, nonce uint64, h common.Hash) (chain.SentTx, *chain.Recent, bool) {
	d := f.ReconcileTimeout
	if d <= 0 {
		d = 10 * time.Second
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	defer cancel()
	r, err := f.Chain.SentBy(rctx, from, f.window())
	if err != nil {
		f.IO.Debugf("reading what took nonce %d of %s: %v", nonce, from.Hex(), err)
		return chain.SentTx{}, nil, false
	}
	t, ok := r.At(nonce, h)
	return t, r, ok
}

// minedHolder follows nonce of from until a transaction is mined there, when the
// one that took it from h is still pending: in a pool, a higher fee may yet replace
// it, and the payment is the one that is mined. It returns the mined one, or the
// last one seen pending when ctx ends first.
func (f *Flow) minedHolder(ctx context.Context, from common.Address, nonce uint64, h common.Hash, other chain.SentTx, r *chain.Recent) (chain.SentTx, *chain.Recent) {
	if !other.Pending {
		return other, r
	}
	f.IO.Infof("  nonce %d of %s is held by %s, pending; waiting for a block to hold it…", nonce, from.Hex(), other.Hash.Hex())
	poll := f.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	for other.Pending {
		select {
		case <-ctx.Done():
			return other, r
		case <-time.After(poll):
		}
		nr, err := f.Chain.SentBy(ctx, from, f.window())
		if err != nil {
			continue
		}
		if t, ok := nr.At(nonce, h); ok {
			other, r = t, nr
		}
	}
	return other, r
}

// lostRace is the outcome of a send whose nonce another transaction took (the node
// refused this one, or dropped it for a replacement): the same payment made by
// another run is a refusal (exit 3) naming it; anything else means this payment
// was not made (exit 1).
func (f *Flow) lostRace(in Intent, call Call, h common.Hash, nonce uint64, other chain.SentTx, r *chain.Recent) error {
	if in.Matches(other) {
		return errs.Refusedf("the same payment, %s from %s, was made by another run as %s (nonce %d), %s; the node took it instead of this run's %s: this run paid nothing",
			call.String(), in.From.Hex(), other.Hash.Hex(), nonce, Describe(other, r), h.Hex()).
			WithFix(fmt.Sprintf("do NOT resend: %s; if this really is a new, separate payment, add %s", f.Next.wait(other.Hash), f.Next.newPayment())).
			Marks(ErrAlreadyPaid)
	}
	return errs.Failedf("not sent: nonce %d of %s was taken by another transaction, %s (%s, %s), so %s can never be mined; nothing left the account for this payment",
		nonce, in.From.Hex(), other.Hash.Hex(), summarize(other), Describe(other, r), h.Hex()).
		WithFix("once that transaction is settled, run the same command again: it sends once")
}

// summarize names a transaction's call for a message.
func summarize(t chain.SentTx) string {
	to := "contract creation"
	if t.To != nil {
		to = "to " + t.To.Hex()
	}
	s := fmt.Sprintf("%s ETH %s", units.FormatEther(valueOf(t)), to)
	if len(t.Data) > 0 {
		s += fmt.Sprintf(" with %d bytes of calldata", len(t.Data))
	}
	return s
}

func valueOf(t chain.SentTx) *big.Int {
	if t.Value == nil {
		return new(big.Int)
	}
	return t.Value
}

// hashes lists the hashes of txs.
func hashes(txs []chain.SentTx) []string {
	out := make([]string, len(txs))
	for i, t := range txs {
		out[i] = t.Hash.Hex()
	}
	return out
}

// knownOf says which earlier payments a new payment was sent knowing of.
func knownOf(txs []chain.SentTx, r *chain.Recent) string {
	parts := make([]string, len(txs))
	for i, t := range txs {
		parts[i] = t.Hash.Hex() + " (" + Describe(t, r) + ")"
	}
	return strings.Join(parts, "; ")
}

// waitOwn waits for h's receipt like Wait, and meanwhile watches that h is still
// what the chain holds at its nonce: when the node dropped it because another
// transaction took the nonce (another run's identical payment at a higher fee, or
// a replacement), the wait ends with that transaction instead of running out the
// clock on a hash that can never be mined.
func (f *Flow) waitOwn(ctx context.Context, h common.Hash, from common.Address, nonce uint64) (*chain.Receipt, *chain.SentTx, *chain.Recent, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var taken *chain.SentTx
	var takenR *chain.Recent
	done := make(chan struct{})
	go func() {
		defer close(done)
		poll := f.Poll
		if poll <= 0 {
			poll = 500 * time.Millisecond
		}
		every := max(4*poll, 50*time.Millisecond)
		for {
			select {
			case <-wctx.Done():
				return
			case <-time.After(every):
			}
			if rec := f.Chain.Reconcile(wctx, h, from); rec.State != chain.StateAbsent {
				continue
			}
			if other, r, ok := f.takenBy(wctx, from, nonce, h); ok && wctx.Err() == nil {
				taken, takenR = &other, r
				cancel()
				return
			}
		}
	}()
	rcpt, err := f.Wait(wctx, h)
	cancel()
	<-done
	if err != nil && taken != nil {
		return nil, taken, takenR, nil
	}
	return rcpt, nil, nil, err
}

// Follow waits for h like Wait (tx wait). When the node dropped h because another
// transaction took its nonce — a replacement, or another run's payment at a higher
// fee — it follows that one until a block holds the nonce, and returns it as took
// (the chain then will never mine h). same says whether it is the same payment
// (recipient, value, calldata).
func (f *Flow) Follow(ctx context.Context, h common.Hash) (rcpt *chain.Receipt, took *chain.SentTx, same bool, err error) {
	info, err := f.Chain.TransactionByHash(ctx, h)
	if err != nil || info == nil {
		rcpt, err = f.Wait(ctx, h)
		return rcpt, nil, false, err
	}
	nonce := info.Tx.Nonce()
	rcpt, other, r, err := f.waitOwn(ctx, h, info.From, nonce)
	if other == nil {
		return rcpt, nil, false, err
	}
	held, _ := f.minedHolder(ctx, info.From, nonce, h, *other, r)
	return nil, &held, IntentOf(info.From, info.Tx, false).Matches(held), nil
}
