package chain

import (
	"encoding/json"
	"maps"
	"math/big"
	"strings"

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

// PoolContent is txpool_content's answer: section ("pending", "queued") -> sender ->
// nonce -> transaction.
type PoolContent = map[string]map[string]map[string]json.RawMessage

// AccountPool is an account's part of txpool_content's answer, shaped like
// txpool_contentFrom's: section -> nonce -> transaction. Nodes key senders in any
// case, so they are compared without it.
func AccountPool(content PoolContent, addr common.Address) map[string]map[string]json.RawMessage {
	out := map[string]map[string]json.RawMessage{}
	for _, section := range []string{"pending", "queued"} {
		part := map[string]json.RawMessage{}
		for sender, txs := range content[section] {
			if strings.EqualFold(sender, addr.Hex()) {
				maps.Copy(part, txs)
			}
		}
		out[section] = part
	}
	return out
}

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
