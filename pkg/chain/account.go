package chain

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// AccountState is an account's balance and nonces with the fee market around it,
// read in one batch: what a drain, a wait for pending transactions or a replacement
// decides on.
type AccountState struct {
	Address common.Address
	Balance *big.Int
	// NonceLatest is the next nonce after the mined transactions; NoncePending
	// counts the pool's too.
	NonceLatest, NoncePending uint64
	// BaseFee is the latest block's (nil when the node did not say); Tip is the
	// node's priority-fee suggestion (nil when it has none).
	BaseFee, Tip *big.Int
}

// Waiting is how many of the account's transactions are pending.
func (s *AccountState) Waiting() uint64 {
	if s.NoncePending <= s.NonceLatest {
		return 0
	}
	return s.NoncePending - s.NonceLatest
}

// Account reads a's balance, its latest and pending nonce, the latest base fee and
// the node's tip suggestion in one round trip. The balance and the nonces must be
// read; the fees are left nil when they cannot be.
func (c *Client) Account(ctx context.Context, a common.Address) (*AccountState, error) {
	b := c.NewBatch()
	bal := b.Balance(a, Latest)
	latest := b.Nonce(a, Latest)
	pending := b.Nonce(a, Pending)
	head := b.Header(Latest)
	tip := b.MaxPriorityFee()
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	for what, err := range map[string]error{"balance": bal.Err(), "nonce": latest.Err(), "pending nonce": pending.Err()} {
		if err != nil {
			return nil, errs.Failedf("reading the %s of %s", what, a.Hex()).Wrap(err)
		}
	}
	s := &AccountState{Address: a, Balance: bal.Value.ToInt(), NonceLatest: uint64(latest.Value), NoncePending: uint64(pending.Value)}
	if head.Err() == nil && head.Value != nil && head.Value.BaseFee != nil {
		s.BaseFee = head.Value.BaseFee.ToInt()
	}
	if tip.Err() == nil {
		s.Tip = tip.Value.ToInt()
	}
	return s, nil
}
