package chain

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
)

// Replayed is a mined transaction's call run again with eth_call.
type Replayed struct {
	// Block is the block whose state the call ran on: the parent of the
	// transaction's block.
	Block uint64
	// Reverted is true when the replay reverted; RevertData is what it reverted with
	// (empty for a bare revert or when the node does not return revert data) and
	// Message the node's own text.
	Reverted   bool
	RevertData []byte
	Message    string
}

// Replay runs the call of a transaction mined in block again — its from, to, data,
// value and gas limit — to learn what it reverted with: receipts carry no revert
// reason.
//
// The exact state the transaction ran on is its parent block's state plus every
// transaction before it in its own block; eth_call cannot start from that point
// (debug_traceTransaction can, but providers seldom expose it). Replay uses the
// parent block's state, the usual approximation, which differs only when an earlier
// transaction of the same block changed what the call depends on; then the replay
// may not revert, and Reverted says so.
func (c *Client) Replay(ctx context.Context, info *TxInfo, block uint64) (*Replayed, error) {
	if block == 0 {
		return nil, fmt.Errorf("replay: the genesis block has no parent state")
	}
	at := block - 1
	msg := NewReplayMsg(info.From, info.Tx.To(), info.Tx.Value(), info.Tx.Gas(), info.Tx.Data())
	b := c.NewBatch()
	r := add[hexutil.Bytes](b, "eth_call", msg, string(BlockNumber(at)))
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	out := &Replayed{Block: at}
	err := r.Err()
	if err == nil {
		return out, nil
	}
	var de rpc.DataError
	if errors.As(err, &de) {
		if s, ok := de.ErrorData().(string); ok {
			out.RevertData, _ = hexutil.Decode(s)
		}
	}
	if len(out.RevertData) == 0 && !nodeSays(err, "revert", "out of gas") {
		return nil, fmt.Errorf("eth_call replay of %s on block %d: %w", info.Tx.Hash().Hex(), at, err)
	}
	out.Reverted, out.Message = true, err.Error()
	return out, nil
}
