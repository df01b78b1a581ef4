package txflow

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// Bump is the replacement-fee rule: a fee raised by 12.5%, rounded up. A node takes
// a transaction in place of a pending one at the same nonce only when both its tip
// and its fee cap are at least 10% higher (geth's pool); 12.5% clears that with
// room for rounding. Every replacement vrwxctl signs — tx speedup, tx cancel, the
// emergency drain — raises its fees by this rule.
func Bump(fee *big.Int) *big.Int {
	v := new(big.Int).Mul(fee, big.NewInt(1125))
	v.Add(v, big.NewInt(999))
	return v.Div(v, big.NewInt(1000))
}

// Outbid raises req's fees so that it replaces tx: both at least Bump of tx's.
func Outbid(req *chain.TxRequest, tx *types.Transaction) {
	req.MinMaxFee, req.MinPriority = Bump(tx.GasFeeCap()), Bump(tx.GasTipCap())
}

// FindStuck finds from's pending transaction at nonce: by hash when one is given
// (it must be from's, at that nonce), else in the node's txpool. It returns nil
// when the pool shows none there, and an error when the nonce is mined already:
// nothing is left to replace.
func FindStuck(ctx context.Context, c Chain, from common.Address, nonce uint64, hash common.Hash) (*chain.TxInfo, error) {
	acct, err := c.Account(ctx, from)
	if err != nil {
		return nil, err
	}
	if nonce < acct.NonceLatest {
		return nil, errs.Failedf("nonce %d of %s is already mined (next nonce is %d): nothing to replace", nonce, from.Hex(), acct.NonceLatest).
			WithFix("check `vrwxctl wallet nonce`; the stuck transaction is at the mined nonce or later")
	}
	if hash != (common.Hash{}) {
		info, err := c.TransactionByHash(ctx, hash)
		if err != nil {
			return nil, err
		}
		if info == nil {
			return nil, errs.Failedf("transaction %s is unknown to the node", hash.Hex())
		}
		if info.From != from || info.Tx.Nonce() != nonce {
			return nil, errs.Usagef("transaction %s is from %s at nonce %d, not from %s at nonce %d", hash.Hex(), info.From.Hex(), info.Tx.Nonce(), from.Hex(), nonce)
		}
		return info, nil
	}
	pending, err := c.PendingFrom(ctx, from)
	if err != nil {
		return nil, err
	}
	for _, info := range pending {
		if info.Tx.Nonce() == nonce {
			return info, nil
		}
	}
	return nil, nil
}

// ReplaceRequest replaces the signer's pending transaction at Nonce.
type ReplaceRequest struct {
	Nonce uint64
	// Hash names the stuck transaction when the node does not show its pool.
	Hash common.Hash
	// Cancel sends a zero-value transfer to the signer itself instead of a copy.
	Cancel bool
	Fees   chain.FeePolicy
}

// Replaced is a replacement's outcome (the -o json shape of tx speedup and cancel).
type Replaced struct {
	// Replaced is the hash of the transaction that can no longer be mined.
	Replaced string `json:"replacedTxHash,omitempty"`
	*Result
}

// Replace sends the replacement of the signer's stuck transaction at req.Nonce: the
// same call (or, to cancel, a zero-value self-transfer) with both fees raised by
// Bump. With nothing pending at that nonce it signs nothing and says what is
// pending instead: a replacement there would leave a nonce gap (cancel) or have
// nothing to copy (speedup). The receipt is nil on a dry run.
func (f *Flow) Replace(ctx context.Context, req ReplaceRequest) (*Replaced, *chain.Receipt, error) {
	from := f.Signer.Address()
	stuck, err := FindStuck(ctx, f.Chain, from, req.Nonce, req.Hash)
	if err != nil {
		return nil, nil, err
	}
	if stuck == nil {
		return nil, nil, f.nothingPending(ctx, from, req.Nonce)
	}
	verb := "speedup"
	if req.Cancel {
		verb = "cancel"
	}
	nonce := req.Nonce
	tx := chain.TxRequest{Nonce: &nonce, Fees: req.Fees}
	Outbid(&tx, stuck.Tx)
	call := Call{Action: verb, Args: []Arg{{Name: "nonce", Value: fmt.Sprint(nonce)}, {Name: "replaces", Value: stuck.Tx.Hash().Hex()}}, Replaces: stuck.Tx}
	if req.Cancel {
		tx.To, tx.Value, tx.GasLimit = from, new(big.Int), 21000
	} else {
		if stuck.Tx.To() == nil {
			return nil, nil, errs.Usagef("the stuck transaction creates a contract; vrwxctl only replaces calls and transfers (cancel it instead)")
		}
		tx.To, tx.Value, tx.Data, tx.GasLimit = *stuck.Tx.To(), stuck.Tx.Value(), stuck.Tx.Data(), stuck.Tx.Gas()
		call.Args = append(call.Args, Arg{Name: "to", Value: tx.To.Hex()}, Arg{Name: "value", Value: units.FormatEther(tx.Value) + " ETH"})
	}
	res, rcpt, err := f.Execute(ctx, tx, call)
	if err != nil {
		return nil, nil, err
	}
	return &Replaced{Replaced: stuck.Tx.Hash().Hex(), Result: res}, rcpt, nil
}

// nothingPending refuses a replacement at a nonce where nothing is pending, saying
// what is pending instead.
func (f *Flow) nothingPending(ctx context.Context, from common.Address, nonce uint64) error {
	pending, err := f.Chain.PendingFrom(ctx, from)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		return errs.Failedf("nothing from %s is pending at nonce %d, and the node's txpool shows nothing pending from it; nothing was signed", from.Hex(), nonce).
			WithFix("check `vrwxctl wallet nonce`; if the node hides its txpool, pass --hash of the stuck transaction")
	}
	sort.Slice(pending, func(i, j int) bool { return pending[i].Tx.Nonce() < pending[j].Tx.Nonce() })
	var list []string
	for _, p := range pending {
		list = append(list, fmt.Sprintf("nonce %d: %s", p.Tx.Nonce(), p.Tx.Hash().Hex()))
	}
	return errs.Failedf("nothing from %s is pending at nonce %d; nothing was signed. Pending instead: %s", from.Hex(), nonce, strings.Join(list, ", ")).
		WithFix(fmt.Sprintf("run it again with --nonce %d (the oldest pending)", pending[0].Tx.Nonce()))
}
