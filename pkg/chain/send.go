package chain

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// SendError is a broadcast that did not end in a plain "accepted". The signed bytes
// may or may not have reached a node: only Reconcile can tell.
type SendError struct {
	Hash common.Hash
	// Rejected is true when a node answered with an error of its own ("nonce too
	// low", "already known", "insufficient funds", ...) rather than the transport
	// failing (reset, 5xx, no answer).
	Rejected bool
	Err      error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("broadcasting %s: %v", e.Hash.Hex(), e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// SendRaw broadcasts a signed transaction and returns its hash. The same signed
// bytes may go to several URLs (retries, failover): that can never make a second
// payment, since every copy has the same hash and nonce. Any failure comes back as
// *SendError; the caller reconciles before saying "not sent".
func (c *Client) SendRaw(ctx context.Context, signed *types.Transaction) (common.Hash, error) {
	raw, err := signed.MarshalBinary()
	if err != nil {
		return common.Hash{}, fmt.Errorf("encode signed transaction: %w", err)
	}
	h := signed.Hash()
	var got common.Hash
	elems := []rpc.BatchElem{{Method: "eth_sendRawTransaction", Args: []any{hexutil.Bytes(raw)}, Result: &got}}
	if err := c.BatchCall(ctx, elems); err != nil {
		return h, &SendError{Hash: h, Err: err}
	}
	if err := elems[0].Error; err != nil {
		from, _ := types.Sender(types.LatestSignerForChainID(signed.ChainId()), signed)
		return h, &SendError{Hash: h, Rejected: true, Err: classifyNodeError(err, from)}
	}
	if got != h {
		return h, &SendError{Hash: h, Rejected: true, Err: fmt.Errorf("the node answered with hash %s for transaction %s", got.Hex(), h.Hex())}
	}
	return h, nil
}

// TxState is what the chain says about a transaction hash.
type TxState int

const (
	// StateUnknown: no endpoint answered; the transaction may or may not be out.
	StateUnknown TxState = iota
	// StateAbsent: every endpoint answered and none knows the hash.
	StateAbsent
	// StatePending: an endpoint has it in its pool.
	StatePending
	// StateMined: an endpoint has its receipt.
	StateMined
)

func (s TxState) String() string {
	return [...]string{"unknown", "absent", "pending", "mined"}[s]
}

// Reconciliation is the chain's answer about one transaction, asked of every URL.
type Reconciliation struct {
	Hash    common.Hash
	State   TxState
	Receipt *Receipt // when mined
	// NextNonce is the highest mined transaction count of the sender any endpoint
	// reported: the transaction's nonce is used when NextNonce > its nonce.
	NextNonce uint64
	// Answered and Asked count endpoints; Failures name the ones that did not answer.
	Answered, Asked int
	Failures        []string
}

// NonceUsed reports whether some transaction (this one or another) was mined at nonce.
func (r *Reconciliation) NonceUsed(nonce uint64) bool { return r.NextNonce > nonce }

// Reconcile asks every URL, in parallel and each within AttemptTimeout, whether it
// knows h (receipt, or transaction in its pool) and the sender's mined nonce. One
// endpoint is enough to call it mined or pending; "absent" needs every endpoint to
// have answered, since the one that did not may be the one that got the bytes.
// Endpoints on another chain are ignored.
func (c *Client) Reconcile(ctx context.Context, h common.Hash, from common.Address) *Reconciliation {
	n := len(c.opts.URLs)
	out := &Reconciliation{Hash: h, Asked: n}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rcpt, known, next, err := c.lookup(ctx, i, h, from)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out.Failures = append(out.Failures, fmt.Sprintf("%s: %s", RedactURL(c.opts.URLs[i]), redact.Text(err.Error())))
				return
			}
			out.Answered++
			out.NextNonce = max(out.NextNonce, next)
			switch {
			case rcpt != nil:
				out.State, out.Receipt = StateMined, rcpt
			case known && out.State != StateMined:
				out.State = StatePending
			}
		}()
	}
	wg.Wait()
	if out.State == StateUnknown && out.Answered == n {
		out.State = StateAbsent
	}
	return out
}

// lookup asks URL i about h in one batch that also carries the chain-id guard.
func (c *Client) lookup(ctx context.Context, i int, h common.Hash, from common.Address) (*Receipt, bool, uint64, error) {
	rc, err := c.conn(ctx, i)
	if err != nil {
		return nil, false, 0, err
	}
	var id hexutil.Uint64
	var rcpt *Receipt
	var tx *json.RawMessage
	var next hexutil.Uint64
	batch := []rpc.BatchElem{
		{Method: "eth_chainId", Result: &id},
		{Method: "eth_getTransactionReceipt", Args: []any{h}, Result: &rcpt},
		{Method: "eth_getTransactionByHash", Args: []any{h}, Result: &tx},
		{Method: "eth_getTransactionCount", Args: []any{from, string(Latest)}, Result: &next},
	}
	if err := c.attempt(ctx, rc, batch); err != nil {
		return nil, false, 0, err
	}
	for _, e := range batch {
		if e.Error != nil {
			return nil, false, 0, fmt.Errorf("%s: %w", e.Method, e.Error)
		}
	}
	if uint64(id) != c.opts.ChainID {
		return nil, false, 0, fmt.Errorf("on chain %d, not %d", uint64(id), c.opts.ChainID)
	}
	return rcpt, tx != nil && string(*tx) != "null", uint64(next), nil
}

// ReconcileSettled is Reconcile that asks once more after a short pause when the
// answer is "absent": a node may still be admitting bytes it received a moment ago.
func (c *Client) ReconcileSettled(ctx context.Context, h common.Hash, from common.Address) *Reconciliation {
	r := c.Reconcile(ctx, h, from)
	if r.State != StateAbsent {
		return r
	}
	select {
	case <-time.After(300 * time.Millisecond):
	case <-ctx.Done():
		return r
	}
	return c.Reconcile(ctx, h, from)
}

// Summary says in one line what the endpoints answered, for logs and errors.
func (r *Reconciliation) Summary() string {
	s := fmt.Sprintf("%d of %d RPC endpoints answered", r.Answered, r.Asked)
	if len(r.Failures) > 0 {
		s += " (" + strings.Join(r.Failures, "; ") + ")"
	}
	return s
}
