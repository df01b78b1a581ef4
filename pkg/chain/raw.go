package chain

import (
	"encoding/json"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// Raw queues any JSON-RPC method in a batch, for reads the typed helpers do not
// cover (a node's txpool, its Otterscan index, full blocks). The answer is decoded
// into T; a method the node does not have is that call's own error.
func Raw[T any](b *Batch, method string, args ...any) *Result[T] {
	return add[T](b, method, args...)
}

// DecodeTx decodes a transaction object as nodes return it (eth_getTransactionByHash,
// txpool_content, full blocks).
func DecodeTx(raw json.RawMessage) (*TxInfo, error) { return decodeTxInfo(raw) }

// ReplayMsg is an eth_call that repeats a transaction: sender, value and gas limit
// included, so it fails where the transaction failed.
type ReplayMsg struct {
	From  common.Address  `json:"from"`
	To    *common.Address `json:"to,omitempty"`
	Gas   hexutil.Uint64  `json:"gas"`
	Value *hexutil.Big    `json:"value,omitempty"`
	Input hexutil.Bytes   `json:"input"`
	Data  hexutil.Bytes   `json:"data"`
}

// NewReplayMsg builds the eth_call of a transaction from `from`.
func NewReplayMsg(from common.Address, to *common.Address, value *big.Int, gas uint64, data []byte) ReplayMsg {
	m := ReplayMsg{From: from, To: to, Gas: hexutil.Uint64(gas), Input: data, Data: data}
	if value != nil && value.Sign() > 0 {
		m.Value = (*hexutil.Big)(value)
	}
	return m
}
