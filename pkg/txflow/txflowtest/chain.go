// Package txflowtest is a chain in memory for the tests of the send path's and the
// rotation's decisions (refusals, the rerun guard, reconciliation, resume): accounts
// with balances and nonces, a pool, blocks mined at once or on demand, and the
// faults a broadcast meets. It builds transactions with chain.Build, the program's
// own fee, nonce and sweep rules; what it does not model — execution, logs, gas
// beyond a transfer's, more than one endpoint — the anvil tests prove.
package txflowtest

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/txflow"
)

// Fault is what a broadcast meets.
type Fault int

const (
	// Accept: the node takes the transaction and answers.
	Accept Fault = iota
	// LoseAnswer: the node takes it, and its answer is lost (a reset after the
	// node acted).
	LoseAnswer
	// Drop: the bytes never reach a node (a reset before).
	Drop
)

// Chain is a chain in memory. Its zero value is not usable: call New.
type Chain struct {
	mu sync.Mutex
	id uint64
	// BaseFee and Tip are the market (1 gwei each by default).
	BaseFee, Tip *big.Int
	// Automine mines every accepted transaction at once (default); off, they wait
	// in the pool until Mine.
	Automine bool
	// L1Fee and L1Bound make it an OP-stack chain: every transaction is quoted Fee
	// (and charged it) with upper bound Bound.
	L1Fee, L1Bound *big.Int
	// Fault, when set, decides each broadcast's fate.
	Fault func(tx *types.Transaction) Fault
	// Unknown makes every reconciliation answer "no endpoint answered".
	Unknown bool
	// Simulate, when set, is the simulation: its error stops Prepare.
	Simulate func(req chain.TxRequest) error
	// Reverts, when set, decides which mined transactions revert.
	Reverts func(tx *types.Transaction) bool
	// Broadcast, when set, is told each transaction SendRaw got to the chain, after
	// the chain took it and before the answer (a test kills the sender there).
	Broadcast func(tx *types.Transaction)
	// OnAccount, when set, is told every Account read (after it): a test acts at
	// the moment a wait sees what is pending.
	OnAccount func(s *chain.AccountState)
	// AfterRead, when set, is told every PrepareSend snapshot of from (after it,
	// before the transaction is built): a test holds several senders there until
	// all have read, the race of machines that read at the same instant.
	AfterRead func(from common.Address)
	// Now is the chain's clock: the time of each block mined (time.Now when nil).
	Now func() time.Time
	// HidePool makes the chain's reads of an account's recent transactions say
	// the pool is unknown, as a provider that hides its txpool does.
	HidePool bool

	balances map[common.Address]*big.Int
	nonces   map[common.Address]uint64
	pool     map[common.Hash]*chain.TxInfo
	txs      map[common.Hash]*chain.TxInfo
	receipts map[common.Hash]*chain.Receipt
	history  map[uint64]map[common.Address]*big.Int
	times    map[uint64]time.Time
	block    uint64
	mined    chan struct{}
	// Broadcasts counts the transactions that reached the chain.
	broadcasts int
}

var _ txflow.Chain = (*Chain)(nil)

// New is an empty chain with id, mining at once.
func New(id uint64) *Chain {
	return &Chain{id: id, BaseFee: big.NewInt(1e9), Tip: big.NewInt(1e9), Automine: true,
		balances: map[common.Address]*big.Int{}, nonces: map[common.Address]uint64{}, pool: map[common.Hash]*chain.TxInfo{},
		txs: map[common.Hash]*chain.TxInfo{}, receipts: map[common.Hash]*chain.Receipt{},
		history: map[uint64]map[common.Address]*big.Int{}, times: map[uint64]time.Time{}, mined: make(chan struct{})}
}

// SetBalance sets a's balance.
func (c *Chain) SetBalance(a common.Address, wei *big.Int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.balances[a] = new(big.Int).Set(wei)
}

// Balance is a's balance now.
func (c *Chain) Balance(a common.Address) *big.Int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.balance(a)
}

// Nonce is a's mined transaction count.
func (c *Chain) Nonce(a common.Address) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nonces[a]
}

// Broadcasts counts the transactions that reached the chain (pool or block).
func (c *Chain) Broadcasts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broadcasts
}

// Pending lists the pool's transactions.
func (c *Chain) Pending() []*types.Transaction {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*types.Transaction
	for _, info := range c.pool {
		out = append(out, info.Tx)
	}
	return out
}

// MinedFrom lists the hashes of a's mined transactions, by nonce.
func (c *Chain) MinedFrom(a common.Address) []common.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	type mined struct {
		h common.Hash
		n uint64
	}
	var ms []mined
	for h := range c.receipts {
		if info := c.txs[h]; info != nil && info.From == a {
			ms = append(ms, mined{h, info.Tx.Nonce()})
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].n < ms[j].n })
	out := make([]common.Hash, len(ms))
	for i, m := range ms {
		out[i] = m.h
	}
	return out
}

// Add puts a transaction signed elsewhere in the pool (another process's send),
// mined at once when Automine.
func (c *Chain) Add(tx *types.Transaction) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.admit(tx)
}

// Mine mines every transaction in the pool that can be, in nonce order, in one
// block.
func (c *Chain) Mine() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mine()
}

func (c *Chain) balance(a common.Address) *big.Int {
	if b, ok := c.balances[a]; ok {
		return new(big.Int).Set(b)
	}
	return new(big.Int)
}

func (c *Chain) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

func (c *Chain) ChainID() uint64 { return c.id }
func (c *Chain) URL() string     { return "memory://chain" }

func (c *Chain) pendingNonce(a common.Address) uint64 {
	n := c.nonces[a]
	for {
		found := false
		for _, info := range c.pool {
			if info.From == a && info.Tx.Nonce() == n {
				n++
				found = true
			}
		}
		if !found {
			return n
		}
	}
}

func (c *Chain) Account(ctx context.Context, a common.Address) (*chain.AccountState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	s := &chain.AccountState{Address: a, Balance: c.balance(a), NonceLatest: c.nonces[a], NoncePending: c.pendingNonce(a),
		BaseFee: new(big.Int).Set(c.BaseFee), Tip: new(big.Int).Set(c.Tip)}
	c.mu.Unlock()
	if c.OnAccount != nil {
		c.OnAccount(s)
	}
	return s, nil
}

func (c *Chain) BalanceAt(ctx context.Context, a common.Address, at chain.Block) (*big.Int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if at == chain.Latest || at == chain.Pending {
		return c.balance(a), nil
	}
	n, err := hexutil.DecodeUint64(string(at))
	if err != nil {
		return nil, fmt.Errorf("block %q: %w", at, err)
	}
	for ; n > 0; n-- {
		if bs, ok := c.history[n]; ok {
			if b, ok := bs[a]; ok {
				return new(big.Int).Set(b), nil
			}
		}
	}
	return new(big.Int), nil
}

// gasOf is what a transfer with data costs: 21,000 and 16 per byte.
func gasOf(data []byte) uint64 { return 21000 + 16*uint64(len(data)) }

func (c *Chain) Prepare(ctx context.Context, req chain.TxRequest) (*chain.Prepared, error) {
	p, _, err := c.prepare(ctx, req, 0, false)
	return p, err
}

// PrepareSend is Prepare with the sender's recent transactions read under the same
// lock as its nonce: a true snapshot.
func (c *Chain) PrepareSend(ctx context.Context, req chain.TxRequest, window time.Duration) (*chain.Prepared, *chain.Recent, error) {
	return c.prepare(ctx, req, window, true)
}

func (c *Chain) prepare(ctx context.Context, req chain.TxRequest, window time.Duration, withRecent bool) (*chain.Prepared, *chain.Recent, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	m := chain.Market{ChainID: c.id, Balance: c.balance(req.From), BaseFee: new(big.Int).Set(c.BaseFee), Tip: new(big.Int).Set(c.Tip),
		NonceLatest: c.nonces[req.From], NoncePending: c.pendingNonce(req.From), OPStack: c.L1Fee != nil}
	var r *chain.Recent
	if withRecent {
		r = c.recent(req.From, window)
	}
	c.mu.Unlock()
	if withRecent && c.AfterRead != nil {
		c.AfterRead(req.From)
	}
	if c.Simulate != nil {
		if err := c.Simulate(req); err != nil {
			return nil, r, err
		}
	}
	if req.GasLimit == 0 {
		m.GasEstimate = gasOf(req.Data)
	}
	p, err := chain.Build(req, m, func(*types.Transaction) (*chain.L1Quote, error) {
		return &chain.L1Quote{Fee: new(big.Int).Set(c.L1Fee), Bound: new(big.Int).Set(c.L1Bound)}, nil
	})
	return p, r, err
}

// SentBy is from's pool and its transactions mined within window.
func (c *Chain) SentBy(ctx context.Context, from common.Address, window time.Duration) (*chain.Recent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recent(from, window), nil
}

// recent is from's part of the pool and its mined transactions since now − window,
// newest first. c.mu must be held.
func (c *Chain) recent(from common.Address, window time.Duration) *chain.Recent {
	now := c.now()
	r := &chain.Recent{From: from, Head: c.block, HeadTime: now, Since: now.Add(-window), NonceLatest: c.nonces[from],
		NoncePending: c.pendingNonce(from), PoolKnown: !c.HidePool, Source: "memory"}
	sent := func(info *chain.TxInfo) chain.SentTx {
		tx := info.Tx
		return chain.SentTx{Hash: tx.Hash(), Nonce: tx.Nonce(), To: tx.To(), Value: tx.Value(), Data: tx.Data()}
	}
	var pool, mined []chain.SentTx
	for _, info := range c.pool {
		if info.From == from && !c.HidePool {
			t := sent(info)
			t.Pending = true
			pool = append(pool, t)
		}
	}
	for h, rc := range c.receipts {
		info := c.txs[h]
		if info == nil || info.From != from {
			continue
		}
		t := sent(info)
		t.Block, t.Time, t.Succeeded = uint64(rc.BlockNumber), c.times[uint64(rc.BlockNumber)], rc.Succeeded()
		if t.Time.Before(r.Since) {
			continue
		}
		mined = append(mined, t)
	}
	sort.Slice(pool, func(i, j int) bool { return pool[i].Nonce < pool[j].Nonce })
	sort.Slice(mined, func(i, j int) bool { return mined[i].Nonce > mined[j].Nonce })
	r.Txs = append(pool, mined...)
	return r
}

func (c *Chain) SendRaw(ctx context.Context, signed *types.Transaction) (common.Hash, error) {
	h := signed.Hash()
	fault := Accept
	if c.Fault != nil {
		fault = c.Fault(signed)
	}
	if fault == Drop {
		return h, &chain.SendError{Hash: h, Err: errors.New("connection reset by peer")}
	}
	c.mu.Lock()
	err := c.admit(signed)
	c.mu.Unlock()
	if err != nil {
		return h, &chain.SendError{Hash: h, Rejected: true, Err: err}
	}
	if c.Broadcast != nil {
		c.Broadcast(signed)
	}
	if fault == LoseAnswer {
		return h, &chain.SendError{Hash: h, Err: errors.New("EOF")}
	}
	return h, nil
}

// admit puts tx in the pool as a node would: not below the mined nonce, and in
// place of a pending one at its nonce only for 10% more on both fees.
func (c *Chain) admit(tx *types.Transaction) error {
	from, err := types.Sender(types.LatestSignerForChainID(new(big.Int).SetUint64(c.id)), tx)
	if err != nil {
		return fmt.Errorf("invalid sender: %w", err)
	}
	if _, ok := c.txs[tx.Hash()]; ok {
		return errs.Failedf("already known")
	}
	if tx.Nonce() < c.nonces[from] {
		return errs.Failedf("nonce too low: a transaction with this nonce was already mined")
	}
	for h, info := range c.pool {
		if info.From != from || info.Tx.Nonce() != tx.Nonce() {
			continue
		}
		tenPct := func(v *big.Int) *big.Int {
			return new(big.Int).Div(new(big.Int).Mul(v, big.NewInt(110)), big.NewInt(100))
		}
		if tx.GasFeeCap().Cmp(tenPct(info.Tx.GasFeeCap())) < 0 || tx.GasTipCap().Cmp(tenPct(info.Tx.GasTipCap())) < 0 {
			return errs.Failedf("replacement underpriced: another transaction from this account is pending at the same nonce")
		}
		delete(c.pool, h)
		delete(c.txs, h)
	}
	info := &chain.TxInfo{Tx: tx, From: from}
	c.pool[tx.Hash()], c.txs[tx.Hash()] = info, info
	c.broadcasts++
	if c.Automine {
		c.mine()
	}
	return nil
}

func (c *Chain) mine() {
	var ready []*chain.TxInfo
	for _, info := range c.pool {
		ready = append(ready, info)
	}
	sort.Slice(ready, func(i, j int) bool { return ready[i].Tx.Nonce() < ready[j].Tx.Nonce() })
	c.block++
	c.times[c.block] = c.now()
	included := false
	for progress := true; progress; {
		progress = false
		for _, info := range ready {
			tx := info.Tx
			if _, pending := c.pool[tx.Hash()]; !pending || tx.Nonce() != c.nonces[info.From] {
				continue
			}
			price := new(big.Int).Add(c.BaseFee, tx.GasTipCap())
			if price.Cmp(tx.GasFeeCap()) > 0 {
				price = new(big.Int).Set(tx.GasFeeCap())
			}
			if tx.GasFeeCap().Cmp(c.BaseFee) < 0 {
				continue // never mined while the base fee is above its cap
			}
			gas := min(gasOf(tx.Data()), tx.Gas())
			cost := new(big.Int).Mul(new(big.Int).SetUint64(gas), price)
			rcpt := &chain.Receipt{TxHash: tx.Hash(), Status: 1, BlockNumber: hexutil.Uint64(c.block), GasUsed: hexutil.Uint64(gas),
				EffectiveGasPrice: (*hexutil.Big)(price), From: info.From, To: tx.To()}
			if c.L1Fee != nil {
				cost.Add(cost, c.L1Fee)
				rcpt.L1Fee = (*hexutil.Big)(new(big.Int).Set(c.L1Fee))
			}
			bal := c.balance(info.From)
			reverted := c.Reverts != nil && c.Reverts(tx)
			if !reverted {
				cost.Add(cost, tx.Value())
			}
			if bal.Cmp(cost) < 0 {
				continue // cannot pay: stays in the pool
			}
			if reverted {
				rcpt.Status = 0
			} else if to := tx.To(); to != nil {
				c.balances[*to] = new(big.Int).Add(c.balance(*to), tx.Value())
			}
			c.balances[info.From] = bal.Sub(bal, cost)
			c.nonces[info.From]++
			delete(c.pool, tx.Hash())
			info.BlockNumber = new(big.Int).SetUint64(c.block)
			c.receipts[tx.Hash()] = rcpt
			progress, included = true, true
		}
	}
	snap := map[common.Address]*big.Int{}
	for a, b := range c.balances {
		snap[a] = new(big.Int).Set(b)
	}
	c.history[c.block] = snap
	if included {
		close(c.mined)
		c.mined = make(chan struct{})
	}
}

func (c *Chain) Reconcile(ctx context.Context, h common.Hash, from common.Address) *chain.Reconciliation {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := &chain.Reconciliation{Hash: h, Asked: 1}
	if c.Unknown || ctx.Err() != nil {
		out.Failures = []string{"memory://chain: no answer"}
		return out
	}
	out.Answered, out.NextNonce = 1, c.nonces[from]
	switch {
	case c.receipts[h] != nil:
		out.State, out.Receipt = chain.StateMined, c.receipts[h]
	case c.pool[h] != nil:
		out.State = chain.StatePending
	default:
		out.State = chain.StateAbsent
	}
	return out
}

func (c *Chain) ReconcileSettled(ctx context.Context, h common.Hash, from common.Address) *chain.Reconciliation {
	return c.Reconcile(ctx, h, from)
}

func (c *Chain) WaitMined(ctx context.Context, h common.Hash, poll time.Duration, progress func(elapsed time.Duration)) (*chain.Receipt, error) {
	start := time.Now()
	for {
		c.mu.Lock()
		rcpt, mined := c.receipts[h], c.mined
		c.mu.Unlock()
		if rcpt != nil {
			return rcpt, nil
		}
		if progress != nil {
			progress(time.Since(start))
		}
		select {
		case <-ctx.Done():
			return nil, errs.Timeoutf("%s was not mined in time", h.Hex())
		case <-mined:
		}
	}
}

func (c *Chain) TransactionByHash(ctx context.Context, h common.Hash) (*chain.TxInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.txs[h], nil
}

func (c *Chain) PendingFrom(ctx context.Context, from common.Address) ([]*chain.TxInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*chain.TxInfo
	for _, info := range c.pool {
		if info.From == from {
			out = append(out, info)
		}
	}
	return out, nil
}
