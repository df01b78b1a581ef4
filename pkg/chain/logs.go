package chain

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// DefaultLogChunk is the block span of one eth_getLogs request before any provider
// pushes back. Most public endpoints accept 10,000 blocks or fewer logs than that.
const DefaultLogChunk = 10_000

// DefaultLogParallel is how many eth_getLogs requests of one query are out at once:
// the batch path's 4 in flight.
const DefaultLogParallel = 4

// DefaultLogTarget is how many logs one chunk is sized for. An answer holding more
// shrinks the span of the chunks after it in proportion, and the span grows back only
// while twice it would still hold no more: the chunks held at once stay a few MiB
// however dense the events are, not only however long the range is.
const DefaultLogTarget = 2_000

// growAfter is how many chunks in a row a span must be answered before it is doubled
// again (back towards LogQuery.Chunk) after a refusal halved it; each refusal of a
// grown span doubles the count (up to maxGrowAfter), so a provider with a hard limit
// is asked to go over it less and less often.
const (
	growAfter    = 8
	maxGrowAfter = 1024
)

// LogQuery is an eth_getLogs query over an inclusive block range.
type LogQuery struct {
	Addresses []common.Address
	// Topics is eth_getLogs' topic filter: position by position, any of the hashes.
	Topics   [][]common.Hash
	From, To uint64
	// Chunk is the block span per request and the most it grows back to
	// (DefaultLogChunk when 0). A provider's "range too large" or "too many results"
	// answer halves it; after growAfter answered chunks in a row it doubles again.
	Chunk uint64
	// Parallel is how many requests may be out at once (DefaultLogParallel when 0).
	Parallel int
	// Target is the number of logs a chunk is sized for (DefaultLogTarget when 0).
	Target int
	// Progress, when set, is called after each chunk's logs with its last block.
	Progress func(done uint64)
	// OnHalve, when set, is told each time a provider refuses a span; OnGrow each time
	// the span grows back, with the new span.
	OnHalve func(from, to uint64, err error)
	OnGrow  func(chunk uint64)
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

// Logs returns the logs matching q, in chain order (EachLogs, collected).
func (c *Client) Logs(ctx context.Context, q LogQuery) ([]types.Log, error) {
	var out []types.Log
	err := c.EachLogs(ctx, q, func(logs []types.Log) error {
		out = append(out, logs...)
		return nil
	})
	return out, err
}

// logSpan is one eth_getLogs request of a query and, once answered, its logs.
type logSpan struct {
	from, to uint64
	sent     bool
	done     bool
	logs     []types.Log
	err      error
}

func (s *logSpan) size() uint64 { return s.to - s.from + 1 }

// EachLogs reads the logs matching q in chunks, up to q.Parallel requests at once,
// and calls fn with each chunk's logs strictly in chain order as soon as every chunk
// before it has been handed over. New chunks are asked for only while fewer than
// q.Parallel are held (asked for, or answered and waiting for an earlier one; a
// refused chunk's parts take its place), and a chunk is sized for q.Target logs, so
// memory is flat in the range's length and in the events' density.
//
// A span nobody has answered yet — the first, and the first after a halving or a
// growth — is asked alone, so a provider's limit costs one refusal, not one per
// request in flight. A refused span is split in place (later chunks keep their
// place in the output), and the span stays halved for the chunks after it until
// enough have been answered in a row to try twice the span again. An error from fn
// stops the query and is returned.
func (c *Client) EachLogs(ctx context.Context, q LogQuery, fn func([]types.Log) error) error {
	if q.From > q.To {
		return errs.Usagef("block range %d..%d is empty: the first block is after the last", q.From, q.To)
	}
	limit := q.Chunk
	if limit == 0 {
		limit = DefaultLogChunk
	}
	parallel := q.Parallel
	if parallel <= 0 {
		parallel = DefaultLogParallel
	}
	target := uint64(DefaultLogTarget)
	if q.Target > 0 {
		target = uint64(q.Target)
	}
	// The chain-id guard runs once, before the requests fan out.
	if err := c.EnsureChain(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	answers := make(chan *logSpan, parallel)
	inFlight := 0
	defer func() {
		cancel()
		for ; inFlight > 0; inFlight-- {
			<-answers
		}
	}()

	var (
		pending   []*logSpan // in block order; the first is the next to hand over
		next      = q.From   // the first block no span covers yet
		remaining = true     // whether next is still in the range
		size      = limit    // the span of new requests
		tested    bool       // whether a span of this size has been answered
		probe     *logSpan   // the span out to test an untested size
		streak    int        // spans answered in a row at this size
		needed    = growAfter
		grown     bool // size was reached by growing and is not yet answered
	)
	send := func(s *logSpan) {
		s.sent = true
		inFlight++
		if !tested && probe == nil {
			probe = s
		}
		go func() {
			s.logs, s.err = c.getLogs(ctx, q, s.from, s.to)
			answers <- s
		}()
	}
	for {
		for len(pending) > 0 && pending[0].done {
			s := pending[0]
			pending[0] = nil
			pending = pending[1:]
			if err := fn(s.logs); err != nil {
				return err
			}
			if q.Progress != nil {
				q.Progress(s.to)
			}
		}
		if len(pending) == 0 && !remaining {
			return nil
		}
		// Split spans first (they come first in the output), then new ones while fewer
		// than parallel are held; a span of an untested size goes alone.
		for i := 0; i < len(pending); i++ {
			if inFlight >= parallel || (!tested && probe != nil) {
				break
			}
			if s := pending[i]; !s.sent {
				if s.size() > size {
					// Split before the span shrank: split again at the current size.
					pending = split(pending, i, size)
				}
				send(pending[i])
			}
		}
		for remaining && len(pending) < parallel && inFlight < parallel && (tested || probe == nil) {
			s := &logSpan{from: next, to: q.To}
			if q.To-next >= size {
				s.to = next + size - 1
			}
			next, remaining = s.to+1, s.to < q.To
			pending = append(pending, s)
			send(s)
		}

		s := <-answers
		inFlight--
		if s == probe {
			probe = nil
		}
		if s.err == nil {
			s.done = true
			n := uint64(len(s.logs))
			if fit := max(1, s.size()*target/max(n, 1)); n > target && fit < size {
				// Too dense: later spans are sized for target logs. A span smaller than
				// one the provider answered needs no probe.
				size, tested, streak, grown = fit, true, 0, false
				continue
			}
			if s.size() >= size || s.to == q.To {
				tested, grown = true, false
				streak++
			}
			// Grow only while twice the span, at this chunk's density, fits the target.
			if streak >= needed && size < limit && n*2*size <= target*s.size() {
				size, tested, streak, grown = min(limit, 2*size), false, 0, true
				if q.OnGrow != nil {
					q.OnGrow(size)
				}
			}
			continue
		}
		if ctx.Err() != nil || !isRangeError(s.err) {
			return s.err
		}
		if s.from == s.to {
			return errs.Failedf("eth_getLogs for the single block %d was refused by %s", s.from, RedactURL(c.URL())).Wrap(s.err).
				WithFix("narrow the query (--type, --job) or use an RPC without a result limit")
		}
		if q.OnHalve != nil {
			q.OnHalve(s.from, s.to, s.err)
		}
		if grown {
			// The grown span was too much: wait longer before the next try.
			needed, grown = min(2*needed, maxGrowAfter), false
		}
		if half := max(1, s.size()/2); half < size {
			size, tested, streak = half, false, 0
		}
		// The refused span is replaced, in its place, by spans of the current size.
		for i, p := range pending {
			if p == s {
				pending = split(pending, i, size)
				break
			}
		}
	}
}

// split replaces spans[i] by unsent spans of at most size blocks covering its range.
func split(spans []*logSpan, i int, size uint64) []*logSpan {
	s := spans[i]
	var parts []*logSpan
	for from := s.from; ; from += size {
		to := min(s.to, from+size-1)
		parts = append(parts, &logSpan{from: from, to: to})
		if to == s.to {
			break
		}
	}
	return append(spans[:i], append(parts, spans[i+1:]...)...)
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
	if nodeSays(err, "deadline exceeded", "timeout", "rate limit", "per second", "daily request") {
		return false
	}
	return nodeSays(err, rangeErrorHints...)
}
