package chain

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// Receipt is a mined transaction's outcome, fees included.
type Receipt struct {
	TxHash            common.Hash    `json:"transactionHash"`
	Status            hexutil.Uint64 `json:"status"`
	BlockNumber       hexutil.Uint64 `json:"blockNumber"`
	BlockHash         common.Hash    `json:"blockHash"`
	GasUsed           hexutil.Uint64 `json:"gasUsed"`
	EffectiveGasPrice *hexutil.Big   `json:"effectiveGasPrice"`
	// L1Fee is set by OP-stack nodes: the L1 data fee paid on top of gas.
	L1Fee *hexutil.Big    `json:"l1Fee"`
	Logs  []*types.Log    `json:"logs"`
	From  common.Address  `json:"from"`
	To    *common.Address `json:"to"`
}

// Succeeded reports status 1.
func (r *Receipt) Succeeded() bool { return r.Status == 1 }

// TotalFee is gasUsed × effectiveGasPrice + L1 data fee.
func (r *Receipt) TotalFee() *big.Int {
	fee := new(big.Int).Mul(new(big.Int).SetUint64(uint64(r.GasUsed)), r.EffectiveGasPrice.ToInt())
	if r.L1Fee != nil {
		fee.Add(fee, r.L1Fee.ToInt())
	}
	return fee
}

// ReceiptOf returns the receipt, or nil while the transaction is not mined.
func (c *Client) ReceiptOf(ctx context.Context, h common.Hash) (*Receipt, error) {
	b := c.NewBatch()
	r := add[*Receipt](b, "eth_getTransactionReceipt", h)
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("eth_getTransactionReceipt %s: %w", h.Hex(), err)
	}
	return r.Value, nil
}

// WaitMined polls for the receipt until ctx ends, calling progress between polls.
// Polls start 2 ms apart and back off to poll: a dev chain mines at once, Base every
// 2 s. An endpoint that fails a poll does not end the wait; only ctx does. On timeout
// it returns an errs.Timeout that names the hash and warns against resending.
func (c *Client) WaitMined(ctx context.Context, h common.Hash, poll time.Duration, progress func(elapsed time.Duration)) (*Receipt, error) {
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	start := time.Now()
	wait := 2 * time.Millisecond
	for {
		r, err := c.ReceiptOf(ctx, h)
		if err == nil && r != nil {
			return r, nil
		}
		if ctx.Err() != nil {
			return nil, errs.Timeoutf("transaction %s was sent but no receipt came within the timeout: do NOT resend it (that risks paying twice)", h.Hex()).
				WithFix("follow it by its hash until it is mined, or replace it at the same nonce with higher fees")
		}
		if err != nil {
			c.logf("waiting for %s: %v", h.Hex(), err)
		}
		if progress != nil {
			progress(time.Since(start))
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, poll)
	}
}

// TxInfo is a transaction as the node reports it.
type TxInfo struct {
	Tx          *types.Transaction
	From        common.Address
	BlockNumber *big.Int // nil while pending
}

// TransactionByHash returns the transaction, or nil when the node does not know it.
func (c *Client) TransactionByHash(ctx context.Context, h common.Hash) (*TxInfo, error) {
	b := c.NewBatch()
	r := add[*json.RawMessage](b, "eth_getTransactionByHash", h)
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("eth_getTransactionByHash %s: %w", h.Hex(), err)
	}
	if r.Value == nil {
		return nil, nil
	}
	return decodeTxInfo(*r.Value)
}

func decodeTxInfo(raw json.RawMessage) (*TxInfo, error) {
	info := &TxInfo{Tx: new(types.Transaction)}
	if err := json.Unmarshal(raw, info.Tx); err != nil {
		return nil, fmt.Errorf("decode transaction: %w", err)
	}
	var meta struct {
		BlockNumber *hexutil.Big   `json:"blockNumber"`
		From        common.Address `json:"from"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("decode transaction: %w", err)
	}
	info.From = meta.From
	if meta.BlockNumber != nil {
		info.BlockNumber = meta.BlockNumber.ToInt()
	}
	return info, nil
}

// PendingByNonce finds from's pending transaction with nonce in the node's txpool:
// txpool_contentFrom (geth, op-geth), else txpool_content (anvil has only this one).
// ok is false when the pool has none or the node does not expose its pool.
func (c *Client) PendingByNonce(ctx context.Context, from common.Address, nonce uint64) (*TxInfo, bool, error) {
	pending, err := c.PendingFrom(ctx, from)
	if err != nil {
		return nil, false, err
	}
	for _, info := range pending {
		if info.Tx.Nonce() == nonce {
			return info, true, nil
		}
	}
	return nil, false, nil
}

// PendingFrom lists from's transactions in the node's txpool (pending and queued),
// by txpool_contentFrom, else txpool_content. Empty when the node has none or does
// not expose its pool.
func (c *Client) PendingFrom(ctx context.Context, from common.Address) ([]*TxInfo, error) {
	type pool = map[string]map[string]json.RawMessage
	b := c.NewBatch()
	mine := add[pool](b, "txpool_contentFrom", from)
	all := add[map[string]map[string]map[string]json.RawMessage](b, "txpool_content")
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	var byNonce []map[string]json.RawMessage
	if mine.Err() == nil {
		byNonce = append(byNonce, mine.Value["pending"], mine.Value["queued"])
	} else if all.Err() == nil {
		for _, section := range []string{"pending", "queued"} {
			for addr, txs := range all.Value[section] {
				if strings.EqualFold(addr, from.Hex()) {
					byNonce = append(byNonce, txs)
				}
			}
		}
	}
	var out []*TxInfo
	for _, txs := range byNonce {
		for _, raw := range txs {
			info, err := decodeTxInfo(raw)
			if err != nil {
				return nil, err
			}
			out = append(out, info)
		}
	}
	return out, nil
}
