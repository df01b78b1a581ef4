package dlqreplay

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// CheckSigned asks the chain, in one round trip, where a signed transaction that a
// DLQ reason carries stands: mined, waiting in the pool, replaced by another
// transaction of the same nonce, or unused — then anyone holding the database can
// broadcast it, and it spends the relayer's ETH when mined. A transaction signed for
// another chain, or one whose sender does not recover, is not asked about.
func CheckSigned(ctx context.Context, c *chain.Client, s *dlq.SignedTx) *dlq.SignedState {
	out := &dlq.SignedState{State: dlq.SignedUnchecked}
	if s.From == "" {
		out.Note = "the sender does not recover from the signature"
		return out
	}
	if want := strconv.FormatUint(c.ChainID(), 10); s.ChainID != want {
		out.Note = fmt.Sprintf("signed for chain %s; the profile is chain %s: ask a profile of chain %s", s.ChainID, want, s.ChainID)
		return out
	}
	from, hash := common.HexToAddress(s.From), common.HexToHash(s.Hash)
	b := c.NewBatch()
	nonce := b.Nonce(from, chain.Latest)
	rcpt := chain.Raw[*struct {
		BlockNumber hexutil.Uint64 `json:"blockNumber"`
	}](b, "eth_getTransactionReceipt", hash)
	tx := chain.Raw[json.RawMessage](b, "eth_getTransactionByHash", hash)
	if err := b.Do(ctx); err != nil {
		out.Note = "the chain did not answer: " + err.Error()
		return out
	}
	if err := nonce.Err(); err != nil {
		out.Note = "the sender's nonce could not be read: " + err.Error()
		return out
	}
	n := uint64(nonce.Value)
	out.SenderNonce = &n
	switch {
	case rcpt.Err() == nil && rcpt.Value != nil:
		out.State, out.Block = dlq.SignedMined, uint64(rcpt.Value.BlockNumber)
		out.Note = fmt.Sprintf("this very transaction was mined in block %d: someone broadcast it after the API gave up", out.Block)
	case n > s.Nonce:
		out.State = dlq.SignedReplaced
		out.Note = fmt.Sprintf("the sender's nonce is %d: another transaction took nonce %d, so this one can never be mined", n, s.Nonce)
	case tx.Err() == nil && len(tx.Value) > 0 && string(tx.Value) != "null":
		out.State = dlq.SignedPending
		out.Note = "the node's pool holds it: it may still be mined"
	default:
		out.State = dlq.SignedUnused
		spend := ""
		if m := s.MaxCost(); m != nil {
			spend = fmt.Sprintf(" and spend up to %s ETH of %s", units.FormatEther(m), s.From)
		}
		out.Note = fmt.Sprintf("nonce %d is still unused (the sender's nonce is %d): anyone holding the database file can broadcast this signed transaction%s once the account has the ETH", s.Nonce, n, spend)
	}
	return out
}
