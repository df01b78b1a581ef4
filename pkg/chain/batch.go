package chain

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
)

// Batch collects reads to send in one round trip. Add calls, then Do; each returned
// handle then holds its value or its own error.
type Batch struct {
	c     *Client
	elems []rpc.BatchElem
}

// NewBatch starts an empty batch.
func (c *Client) NewBatch() *Batch { return &Batch{c: c} }

// Result is the outcome of one call in a batch.
type Result[T any] struct {
	b     *Batch
	i     int
	Value T
}

// Err is the call's own error (for example an eth_call revert), after Do.
func (r *Result[T]) Err() error { return r.b.elems[r.i].Error }

func add[T any](b *Batch, method string, args ...any) *Result[T] {
	r := &Result[T]{b: b, i: len(b.elems)}
	b.elems = append(b.elems, rpc.BatchElem{Method: method, Args: args, Result: &r.Value})
	return r
}

// Len is the number of calls in the batch.
func (b *Batch) Len() int { return len(b.elems) }

// Do sends the batch (split and parallelised per the client's limits).
func (b *Batch) Do(ctx context.Context) error { return b.c.BatchCall(ctx, b.elems) }

// Block names a block for reads: "latest", "pending", "safe", "finalized" or a number.
type Block string

const (
	Latest  Block = "latest"
	Pending Block = "pending"
)

// BlockNumber names a block by number.
func BlockNumber(n uint64) Block { return Block(hexutil.EncodeUint64(n)) }

// Balance queues eth_getBalance.
func (b *Batch) Balance(addr common.Address, at Block) *Result[hexutil.Big] {
	return add[hexutil.Big](b, "eth_getBalance", addr, string(at))
}

// Nonce queues eth_getTransactionCount.
func (b *Batch) Nonce(addr common.Address, at Block) *Result[hexutil.Uint64] {
	return add[hexutil.Uint64](b, "eth_getTransactionCount", addr, string(at))
}

// GasPrice queues eth_gasPrice.
func (b *Batch) GasPrice() *Result[hexutil.Big] { return add[hexutil.Big](b, "eth_gasPrice") }

// MaxPriorityFee queues eth_maxPriorityFeePerGas.
func (b *Batch) MaxPriorityFee() *Result[hexutil.Big] {
	return add[hexutil.Big](b, "eth_maxPriorityFeePerGas")
}

// Code queues eth_getCode.
func (b *Batch) Code(addr common.Address, at Block) *Result[hexutil.Bytes] {
	return add[hexutil.Bytes](b, "eth_getCode", addr, string(at))
}

// Head is the part of a block header vrwxctl reads.
type Head struct {
	Number  hexutil.Uint64 `json:"number"`
	Time    hexutil.Uint64 `json:"timestamp"`
	BaseFee *hexutil.Big   `json:"baseFeePerGas"`
	Hash    common.Hash    `json:"hash"`
}

// Header queues eth_getBlockByNumber without transactions.
func (b *Batch) Header(at Block) *Result[*Head] {
	return add[*Head](b, "eth_getBlockByNumber", string(at), false)
}

// CallMsg is an eth_call request. The calldata goes in both "input" and "data":
// geth accepts either (and both when equal), some other nodes read only "data".
type CallMsg struct {
	From  *common.Address `json:"from,omitempty"`
	To    common.Address  `json:"to"`
	Input hexutil.Bytes   `json:"input"`
	Data  hexutil.Bytes   `json:"data"`
}

// Call queues eth_call.
func (b *Batch) Call(to common.Address, data []byte, at Block) *Result[hexutil.Bytes] {
	return add[hexutil.Bytes](b, "eth_call", CallMsg{To: to, Input: data, Data: data}, string(at))
}

// BalanceAt reads one balance (one round trip, chain-id guard included).
func (c *Client) BalanceAt(ctx context.Context, addr common.Address, at Block) (*big.Int, error) {
	b := c.NewBatch()
	r := b.Balance(addr, at)
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("eth_getBalance %s: %w", addr.Hex(), err)
	}
	return r.Value.ToInt(), nil
}
