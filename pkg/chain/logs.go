package chain

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// DefaultLogChunk is the block span of one eth_getLogs request before any provider
// pushes back. Most public endpoints accept 10,000 blocks or fewer logs than that.
const DefaultLogChunk = 10_000

// LogQuery is an eth_getLogs query over an inclusive block range.
type LogQuery struct {
	Addresses []common.Address
	// Topics is eth_getLogs' topic filter: position by position, any of the hashes.
	Topics   [][]common.Hash
	From, To uint64
	// Chunk is the first block span per request (DefaultLogChunk when 0). A provider's
	// "range too large" or "too many results" answer halves it, and the scan carries
	// on from the same block with the smaller span.
	Chunk uint64
	// Progress, when set, is called after each chunk with the last block scanned.
	Progress func(done uint64)
	// OnHalve, when set, is told each time a provider refuses a span.
	OnHalve func(from, to uint64, err error)
}

// HeadNumber reads the latest block number (eth_blockNumber).
func (c *Client) HeadNumber(ctx context.Context) (uint64, error) {
	var n hexutil.Uint64
	elems := []rpc.BatchElem{{Method: "eth_blockNumber", Result: &n}}
	if err := c.BatchCall(ctx, elems); err != nil {
		return 0, err
	}
	if elems[0].Error != nil {
		return 0, fmt.Errorf("eth_blockNumber from %s: %w", RedactURL(c.URL()), elems[0].Error)
	}
	return uint64(n), nil
}

// Logs returns the logs matching q, in chain order, reading the range in chunks.
func (c *Client) Logs(ctx context.Context, q LogQuery) ([]types.Log, error) {
	if q.From > q.To {
		return nil, errs.Usagef("block range %d..%d is empty: the first block is after the last", q.From, q.To)
	}
	chunk := q.Chunk
	if chunk == 0 {
		chunk = DefaultLogChunk
	}
	var out []types.Log
	for from := q.From; ; {
		to := q.To
		if q.To-from >= chunk {
			to = from + chunk - 1
		}
		logs, err := c.getLogs(ctx, q, from, to)
		if err != nil {
			if ctx.Err() != nil || !isRangeError(err) {
				return nil, err
			}
			if to == from {
				return nil, errs.Failedf("eth_getLogs for the single block %d was refused by %s", from, RedactURL(c.URL())).Wrap(err).
					WithFix("narrow the query (--type, --job) or use an RPC without a result limit")
			}
			if q.OnHalve != nil {
				q.OnHalve(from, to, err)
			}
			chunk = max(1, (to-from+1)/2)
			continue
		}
		out = append(out, logs...)
		if q.Progress != nil {
			q.Progress(to)
		}
		if to == q.To {
			return out, nil
		}
		from = to + 1
	}
}

type logFilter struct {
	Addresses []common.Address `json:"address,omitempty"`
	Topics    [][]common.Hash  `json:"topics,omitempty"`
	FromBlock hexutil.Uint64   `json:"fromBlock"`
	ToBlock   hexutil.Uint64   `json:"toBlock"`
}

// getLogs asks the endpoint in use directly first: the batch path treats a
// provider's -32005 "limit exceeded" as transient and would retry and fail over on an
// answer that only means "ask for less". Transport trouble falls back to the batch
// path, which retries and fails over.
func (c *Client) getLogs(ctx context.Context, q LogQuery, from, to uint64) ([]types.Log, error) {
	arg := logFilter{Addresses: q.Addresses, Topics: q.Topics, FromBlock: hexutil.Uint64(from), ToBlock: hexutil.Uint64(to)}
	if err := c.EnsureChain(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	i := c.idx
	c.mu.Unlock()
	var logs []types.Log
	var err error
	if rc, cerr := c.conn(ctx, i); cerr == nil {
		err = rc.CallContext(ctx, &logs, "eth_getLogs", arg)
		if err == nil {
			return logs, nil
		}
		var rpcErr rpc.Error
		if isRangeError(err) || (errors.As(err, &rpcErr) && !transient(err)) {
			return nil, fmt.Errorf("eth_getLogs %d..%d: %w", from, to, err)
		}
	}
	logs = nil
	elems := []rpc.BatchElem{{Method: "eth_getLogs", Args: []any{arg}, Result: &logs}}
	if err := c.BatchCall(ctx, elems); err != nil {
		return nil, err
	}
	if elems[0].Error != nil {
		return nil, fmt.Errorf("eth_getLogs %d..%d: %w", from, to, elems[0].Error)
	}
	return logs, nil
}

// rangeErrorHints are fragments of the answers providers give when an eth_getLogs
// span or result set is too big (Alchemy, Infura, QuickNode, Ankr, geth, Erigon,
// Base's public RPC, …). They differ in wording and error code, so the text is what
// can be matched.
var rangeErrorHints = []string{
	"range", "too many", "too large", "too wide", "too big", "exceed", "more than",
	"max results", "response size", "limit",
}

// isRangeError reports whether err is a provider refusing an eth_getLogs span as too
// large. Rate limiting is not: that is retried, not halved.
func isRangeError(err error) bool {
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var httpErr rpc.HTTPError
	if errors.As(err, &httpErr) && httpErr.StatusCode == 429 {
		return false
	}
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, "deadline exceeded") || strings.Contains(msg, "timeout") || strings.Contains(msg, "rate limit") || strings.Contains(msg, "per second") || strings.Contains(msg, "daily request") {
		return false
	}
	for _, h := range rangeErrorHints {
		if strings.Contains(msg, h) {
			return true
		}
	}
	return false
}
