package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// SentTx is one of an account's own transactions as the node knows it now: in its
// pool, or mined.
type SentTx struct {
	Hash  common.Hash
	Nonce uint64
	To    *common.Address
	Value *big.Int
	Data  []byte
	// Pending is true while it waits in the pool (Block and Time are zero then).
	Pending bool
	Block   uint64
	Time    time.Time
	// Succeeded is the receipt's status (mined only).
	Succeeded bool
}

// Recent is what the chain says an account sent lately: every transaction of it in
// the node's pool and every one mined since Since, read from the same snapshot as
// the nonces beside it (see PrepareSend). It is the source of truth for "was this
// payment already made?", whichever machine made it.
type Recent struct {
	From common.Address
	// Head and HeadTime are the latest block when it was read; Since is HeadTime
	// minus the window (the chain's clock, not this machine's).
	Head     uint64
	HeadTime time.Time
	Since    time.Time
	// NonceLatest and NoncePending are the account's nonces in the same read.
	NonceLatest, NoncePending uint64
	// Txs are the pending ones by nonce, then the mined ones newest first.
	Txs []SentTx
	// PoolKnown is false when the node does not show its txpool.
	PoolKnown bool
	// Source says how the mined ones were found: "otterscan" (the node's index) or
	// "scan" (the account's nonce through the window's blocks).
	Source string
	// Notes say what could not be seen (a pruned node's missing state, a hidden
	// pool): the guard built on it says so rather than pretend.
	Notes []string
}

// At returns the transaction at nonce other than not, if the read holds one.
func (r *Recent) At(nonce uint64, not common.Hash) (SentTx, bool) {
	if r == nil {
		return SentTx{}, false
	}
	for _, t := range r.Txs {
		if t.Nonce == nonce && t.Hash != not {
			return t, true
		}
	}
	return SentTx{}, false
}

// recentPage is how many transactions one Otterscan page asks for.
const recentPage = 25

// recentQuery is a read of an account's recent transactions whose first calls
// ride in a batch that also reads the account's nonces.
type recentQuery struct {
	from   common.Address
	window time.Duration
	ots    *Result[OtsPage]
	pool   *Result[map[string]map[string]json.RawMessage]
}

// queueRecent adds the first calls of the read to b — the Otterscan index's newest
// page and the account's part of the txpool. They are queued after the nonces: a
// node that answers a batch in order (geth) then answers them from a state at least
// as new as the nonces'; finish checks it for nodes that do not.
func queueRecent(b *Batch, from common.Address, window time.Duration) *recentQuery {
	return &recentQuery{from: from, window: window,
		ots:  add[OtsPage](b, "ots_searchTransactionsBefore", from, 0, recentPage),
		pool: add[map[string]map[string]json.RawMessage](b, "txpool_contentFrom", from)}
}

// SentBy reads from's transactions in the node's pool and those mined within
// window before the latest block, with its nonces, in as few round trips as the
// node allows (one with an Otterscan index and txpool_contentFrom).
func (c *Client) SentBy(ctx context.Context, from common.Address, window time.Duration) (*Recent, error) {
	b := c.NewBatch()
	head := b.Header(Latest)
	pending := b.Nonce(from, Pending)
	latest := b.Nonce(from, Latest)
	q := queueRecent(b, from, window)
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	for name, r := range map[string]error{"latest block": head.Err(), "pending nonce": pending.Err(), "nonce": latest.Err()} {
		if r != nil {
			return nil, errs.Failedf("reading the %s for %s", name, from.Hex()).Wrap(r)
		}
	}
	if head.Value == nil {
		return nil, errs.Failedf("the RPC returned no latest block")
	}
	return q.finish(ctx, c, head.Value, uint64(latest.Value), uint64(pending.Value))
}

// finish completes the read after the batch queueRecent filled was sent, with the
// head and the nonces that batch read. What it returns covers every nonce the
// account used below NoncePending within the window: a part read from an older
// state than the nonces (a node that answers a batch's calls in any order) is
// read again.
func (q *recentQuery) finish(ctx context.Context, c *Client, head *Head, latest, pending uint64) (*Recent, error) {
	r := &Recent{From: q.from, Head: uint64(head.Number), HeadTime: time.Unix(int64(head.Time), 0).UTC(),
		NonceLatest: latest, NoncePending: pending}
	r.Since = r.HeadTime.Add(-q.window)

	var pool []SentTx
	poolKnown := false
	contentFrom := q.pool.Err() == nil
	if contentFrom {
		pool, poolKnown = decodePool(q.pool.Value), true
	}
	// readMined reads the mined part the way the node allows (r.Source); first is
	// the Otterscan page already read, nil to ask for one. An index behind the chain
	// turns the source to the scan for good.
	readMined := func(first *OtsPage) ([]SentTx, error) {
		if r.Source == "scan" {
			return c.scanRecent(ctx, r)
		}
		if first == nil {
			p, err := c.otsPageBefore(ctx, q.from, 0)
			if err != nil {
				return nil, err
			}
			first = &p
		}
		mined, err := c.otsRecent(ctx, q.from, *first, r.Since, latest)
		if errors.Is(err, errIndexBehind) {
			return c.scanInstead(ctx, r)
		}
		return mined, err
	}
	r.Source = "scan"
	var first *OtsPage
	if q.ots.Err() == nil {
		r.Source, first = "otterscan", &q.ots.Value
	}
	mined, err := readMined(first)
	if err != nil {
		return nil, err
	}
	if !poolKnown {
		// No txpool_contentFrom (anvil): the whole txpool_content, after the batch.
		var err error
		if pool, poolKnown, err = c.readPool(ctx, q.from, false); err != nil {
			return nil, err
		}
	}
	// Every nonce from the latest to the pending one must be in the pool, or mined
	// since. A part read from an older state than the nonces (a node that answers a
	// batch's calls in any order) misses some: both are read again, one after the
	// other — the pool, then the mined ones — so a transaction that leaves the pool
	// between the two is in a block by the second read.
	for try := 0; poolKnown && !covered(pool, mined, latest, pending) && try < 3; try++ {
		p, known, err := c.readPool(ctx, q.from, contentFrom)
		if err != nil {
			return nil, err
		}
		pool, poolKnown = p, known
		if !known {
			break
		}
		if mined, err = readMined(nil); err != nil {
			return nil, err
		}
	}
	r.PoolKnown = poolKnown
	switch {
	case !poolKnown && pending > latest:
		r.Notes = append(r.Notes, fmt.Sprintf("the node does not show its txpool: the %d pending transaction(s) of %s (nonces %d..%d) could not be compared",
			pending-latest, q.from.Hex(), latest, pending-1))
	case poolKnown && !covered(pool, mined, latest, pending):
		return nil, errs.Failedf("the node did not show every transaction of %s below nonce %d (nonces %d..%d were neither in its pool nor mined) in three reads: whether this payment was already made cannot be told; nothing was sent",
			q.from.Hex(), pending, latest, pending-1).
			WithFix("run it again in a moment (the node may be catching up), or use another RPC endpoint")
	}
	sort.Slice(pool, func(i, j int) bool { return pool[i].Nonce < pool[j].Nonce })
	r.Txs = append(pool, mined...)
	return r, nil
}

// covered reports whether every nonce in [latest, pending) is in pool or mined.
func covered(pool, mined []SentTx, latest, pending uint64) bool {
	have := map[uint64]bool{}
	for _, t := range pool {
		have[t.Nonce] = true
	}
	for _, t := range mined {
		have[t.Nonce] = true
	}
	for n := latest; n < pending; n++ {
		if !have[n] {
			return false
		}
	}
	return true
}

// readPool reads the account's part of the pool on its own: txpool_contentFrom
// where the node has it (contentFrom), else the whole txpool_content (anvil has only
// this one; on a busy node it is the entire pool, so it is asked only when needed).
// known is false when the node exposes neither.
func (c *Client) readPool(ctx context.Context, from common.Address, contentFrom bool) ([]SentTx, bool, error) {
	if contentFrom {
		b := c.NewBatch()
		mine := add[map[string]map[string]json.RawMessage](b, "txpool_contentFrom", from)
		if err := b.Do(ctx); err != nil {
			return nil, false, err
		}
		if mine.Err() == nil {
			return decodePool(mine.Value), true, nil
		}
	}
	b := c.NewBatch()
	all := add[PoolContent](b, "txpool_content")
	if err := b.Do(ctx); err != nil {
		return nil, false, err
	}
	if all.Err() != nil {
		return nil, false, nil
	}
	return decodePool(AccountPool(all.Value, from)), true, nil
}

// decodePool reads one account's pool content (section -> nonce -> transaction).
// A transaction that does not decode is left out.
func decodePool(content map[string]map[string]json.RawMessage) []SentTx {
	var out []SentTx
	for _, section := range []string{"pending", "queued"} {
		for _, raw := range content[section] {
			info, err := decodeTxInfo(raw)
			if err != nil {
				continue
			}
			t := sentOf(info)
			t.Pending = true
			out = append(out, t)
		}
	}
	return out
}

func sentOf(info *TxInfo) SentTx {
	tx := info.Tx
	t := SentTx{Hash: tx.Hash(), Nonce: tx.Nonce(), To: tx.To(), Value: tx.Value(), Data: tx.Data()}
	if info.BlockNumber != nil {
		t.Block = info.BlockNumber.Uint64()
	}
	return t
}

// otsTxs is the account's own transactions of a page, newest first, and the
// oldest block the page reached.
func otsTxs(p OtsPage, from common.Address) (own []SentTx, oldest uint64) {
	txs, oldest, _ := p.Own(from)
	for _, o := range txs {
		t := sentOf(o.Info)
		t.Time = o.Time
		var r struct {
			Status hexutil.Uint64 `json:"status"`
		}
		if o.Receipt != nil && json.Unmarshal(o.Receipt, &r) == nil {
			t.Succeeded = r.Status == 1
		}
		own = append(own, t)
	}
	return own, oldest
}

// otsPageBefore asks the node's Otterscan index for the page of from's transactions
// mined before block before (0: from the head).
func (c *Client) otsPageBefore(ctx context.Context, from common.Address, before uint64) (OtsPage, error) {
	b := c.NewBatch()
	r := add[OtsPage](b, "ots_searchTransactionsBefore", from, before, recentPage)
	if err := b.Do(ctx); err != nil {
		return OtsPage{}, err
	}
	if err := r.Err(); err != nil {
		return OtsPage{}, errs.Failedf("reading the recent transactions of %s from the node's Otterscan index", from.Hex()).Wrap(err)
	}
	return r.Value, nil
}

// errIndexBehind is otsRecent's answer when the node's Otterscan index, read twice,
// does not show the account's newest mined transaction (at nonce latest-1): the
// index has not caught up with the chain, and what it lists cannot be trusted to
// hold every recent payment.
var errIndexBehind = errors.New("the Otterscan index is behind the chain")

// scanInstead reads the window block by block (scanRecent) where the Otterscan
// index is behind, and says so in r.Notes.
func (c *Client) scanInstead(ctx context.Context, r *Recent) ([]SentTx, error) {
	r.Source = "scan"
	r.Notes = append(r.Notes, fmt.Sprintf("the node's Otterscan index did not show the newest transaction of %s (nonce %d): the last %s were read block by block instead",
		r.From.Hex(), r.NonceLatest-1, r.HeadTime.Sub(r.Since)))
	return c.scanRecent(ctx, r)
}

// otsRecent pages the Otterscan index back from first until it passes since, and
// keeps the account's own transactions mined since then. The page read in the first
// batch may predate the nonces read beside it: when it does not show the account's
// transaction at nonce latest-1 (its newest mined one) the index is asked again,
// from a state now at least as new as the nonces; when it still does not,
// errIndexBehind.
func (c *Client) otsRecent(ctx context.Context, from common.Address, first OtsPage, since time.Time, latest uint64) ([]SentTx, error) {
	reread := false
	page := first
	var out []SentTx
	newest := false // the transaction at latest-1 was seen
	for pages := 0; ; pages++ {
		own, oldest := otsTxs(page, from)
		passed := false
		for _, t := range own {
			if latest > 0 && t.Nonce >= latest-1 {
				newest = true
			}
			if !t.Time.IsZero() && t.Time.Before(since) {
				passed = true
				continue
			}
			out = append(out, t)
		}
		end := page.LastPage || len(page.Txs) == 0 || passed || pages >= 40
		if !end && oldest > 0 {
			// The page's oldest block is older than the window: nothing further back
			// is in it. One header tells.
			if t, err := c.blockTime(ctx, oldest); err == nil && t.Before(since) {
				end = true
			}
		}
		before := oldest
		if end {
			if latest == 0 || newest {
				break
			}
			if reread {
				return nil, errIndexBehind
			}
			// Read again from the top, after the nonces.
			reread, out, pages, before = true, nil, -1, 0
		}
		var err error
		if page, err = c.otsPageBefore(ctx, from, before); err != nil {
			return nil, err
		}
	}
	out = dedupe(out)
	// A node whose index gives no block times: read the headers.
	var blocks []uint64
	for _, t := range out {
		if t.Time.IsZero() {
			blocks = append(blocks, t.Block)
		}
	}
	if len(blocks) > 0 {
		b := c.NewBatch()
		hs := map[uint64]*Result[*Head]{}
		for _, n := range blocks {
			if hs[n] == nil {
				hs[n] = b.Header(BlockNumber(n))
			}
		}
		if err := b.Do(ctx); err != nil {
			return nil, err
		}
		kept := out[:0]
		for _, t := range out {
			if h := hs[t.Block]; t.Time.IsZero() && h != nil && h.Err() == nil && h.Value != nil {
				t.Time = time.Unix(int64(h.Value.Time), 0).UTC()
			}
			if t.Time.IsZero() || !t.Time.Before(since) {
				kept = append(kept, t)
			}
		}
		out = kept
	}
	return out, nil
}

func dedupe(txs []SentTx) []SentTx {
	seen := map[common.Hash]bool{}
	out := txs[:0]
	for _, t := range txs {
		if !seen[t.Hash] {
			seen[t.Hash] = true
			out = append(out, t)
		}
	}
	return out
}

func (c *Client) blockTime(ctx context.Context, n uint64) (time.Time, error) {
	b := c.NewBatch()
	h := b.Header(BlockNumber(n))
	if err := b.Do(ctx); err != nil {
		return time.Time{}, err
	}
	if err := h.Err(); err != nil || h.Value == nil {
		return time.Time{}, fmt.Errorf("block %d: %v", n, h.Err())
	}
	return time.Unix(int64(h.Value.Time), 0).UTC(), nil
}

// scanRecent finds the account's transactions mined since r.Since without an
// index: the window's first block by a search over headers, then the account's
// nonce at points of the window, split where it rose until each rise is one block,
// and those blocks' transactions and receipts. It needs the node's state over the
// window; where that is missing (a pruned node) it says so in r.Notes.
func (c *Client) scanRecent(ctx context.Context, r *Recent) ([]SentTx, error) {
	b := c.NewBatch()
	hd := b.Header(Latest)
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	if hd.Err() != nil || hd.Value == nil {
		return nil, errs.Failedf("reading the latest block").Wrap(hd.Err())
	}
	// A head read after the batch that read the nonces: everything they counted as
	// mined is at or below it.
	head := uint64(hd.Value.Number)
	start, err := c.FirstBlockSince(ctx, r.Since, head, time.Unix(int64(hd.Value.Time), 0))
	if err != nil {
		return nil, err
	}
	if start > head {
		return nil, nil
	}
	lo := uint64(0)
	if start > 0 {
		lo = start - 1
	}
	// nonce at block n is the count after n's transactions; a rise between lo and
	// hi means the account sent in (lo, hi].
	type span struct{ lo, hi, nlo, nhi uint64 }
	probe := func(ns []uint64) (map[uint64]uint64, error) {
		if len(ns) == 0 {
			return nil, nil
		}
		b := c.NewBatch()
		rs := make([]*Result[hexutil.Uint64], len(ns))
		for i, n := range ns {
			rs[i] = b.Nonce(r.From, BlockNumber(n))
		}
		if err := b.Do(ctx); err != nil {
			return nil, err
		}
		out := map[uint64]uint64{}
		for i, n := range ns {
			if rs[i].Err() == nil {
				out[n] = uint64(rs[i].Value)
			}
		}
		return out, nil
	}
	first := []uint64{lo, head}
	for n := lo + 1; n < head; n += max((head-lo)/16, 1) {
		first = append(first, n)
	}
	got, err := probe(first)
	if err != nil {
		return nil, err
	}
	if _, ok := got[head]; !ok {
		r.Notes = append(r.Notes, fmt.Sprintf("the node has no state for block %d: mined transactions of %s could not be read", head, r.From.Hex()))
		return nil, nil
	}
	sort.Slice(first, func(i, j int) bool { return first[i] < first[j] })
	// The oldest block with state opens the window the scan can see.
	known := first[:0]
	for _, n := range first {
		if _, ok := got[n]; ok {
			known = append(known, n)
		}
	}
	if known[0] != lo {
		r.Notes = append(r.Notes, fmt.Sprintf("the node keeps no state before block %d: transactions of %s mined before it (within the window) could not be compared", known[0], r.From.Hex()))
	}
	var open []span
	for i := 1; i < len(known); i++ {
		a, z := known[i-1], known[i]
		if got[z] > got[a] {
			open = append(open, span{a, z, got[a], got[z]})
		}
	}
	var blocks []uint64
	for rounds := 0; len(open) > 0 && rounds < 16; rounds++ {
		var ns []uint64
		for _, s := range open {
			if s.hi-s.lo <= 1 {
				continue
			}
			step := max((s.hi-s.lo)/16, 1)
			for n := s.lo + step; n < s.hi; n += step {
				ns = append(ns, n)
			}
		}
		vals, err := probe(ns)
		if err != nil {
			return nil, err
		}
		var next []span
		for _, s := range open {
			if s.hi-s.lo <= 1 {
				blocks = append(blocks, s.hi)
				continue
			}
			pts := []uint64{s.lo}
			step := max((s.hi-s.lo)/16, 1)
			for n := s.lo + step; n < s.hi; n += step {
				if _, ok := vals[n]; ok {
					pts = append(pts, n)
				}
			}
			pts = append(pts, s.hi)
			nonce := func(n uint64) uint64 {
				switch n {
				case s.lo:
					return s.nlo
				case s.hi:
					return s.nhi
				}
				return vals[n]
			}
			for i := 1; i < len(pts); i++ {
				if nonce(pts[i]) > nonce(pts[i-1]) {
					next = append(next, span{pts[i-1], pts[i], nonce(pts[i-1]), nonce(pts[i])})
				}
			}
		}
		open = next
	}
	for _, s := range open {
		if s.hi-s.lo <= 1 {
			blocks = append(blocks, s.hi)
		}
	}
	return c.ownTxsIn(ctx, r, blocks)
}

// ownTxsIn reads blocks (full transactions and receipts) and keeps r.From's
// transactions, newest first.
func (c *Client) ownTxsIn(ctx context.Context, r *Recent, blocks []uint64) ([]SentTx, error) {
	if len(blocks) == 0 {
		return nil, nil
	}
	sort.Slice(blocks, func(i, j int) bool { return blocks[i] > blocks[j] })
	type fullBlock struct {
		Time hexutil.Uint64    `json:"timestamp"`
		Txs  []json.RawMessage `json:"transactions"`
	}
	b := c.NewBatch()
	bs := make([]*Result[*fullBlock], len(blocks))
	for i, n := range blocks {
		bs[i] = add[*fullBlock](b, "eth_getBlockByNumber", BlockNumber(n), true)
	}
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	var out []SentTx
	for i, n := range blocks {
		if bs[i].Err() != nil || bs[i].Value == nil {
			r.Notes = append(r.Notes, fmt.Sprintf("block %d did not come: %v", n, bs[i].Err()))
			continue
		}
		var inBlock []SentTx
		for _, raw := range bs[i].Value.Txs {
			info, err := decodeTxInfo(raw)
			if err != nil || info.From != r.From {
				continue
			}
			t := sentOf(info)
			t.Block, t.Time = n, time.Unix(int64(bs[i].Value.Time), 0).UTC()
			inBlock = append(inBlock, t)
		}
		sort.Slice(inBlock, func(i, j int) bool { return inBlock[i].Nonce > inBlock[j].Nonce })
		out = append(out, inBlock...)
	}
	if len(out) == 0 {
		return nil, nil
	}
	b = c.NewBatch()
	rs := make([]*Result[*Receipt], len(out))
	for i, t := range out {
		rs[i] = add[*Receipt](b, "eth_getTransactionReceipt", t.Hash)
	}
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	for i := range out {
		if rs[i].Err() == nil && rs[i].Value != nil {
			out[i].Succeeded = rs[i].Value.Succeeded()
		}
	}
	return out, nil
}

// FirstBlockSince is the first block whose time is at or after t: a 16-way search
// over headers, a handful of round trips. A head older than t gives head + 1 (the
// next block will be the first).
func (c *Client) FirstBlockSince(ctx context.Context, t time.Time, head uint64, headTime time.Time) (uint64, error) {
	if headTime.Before(t) {
		return head + 1, nil
	}
	at := func(ns []uint64) ([]time.Time, error) {
		b := c.NewBatch()
		rs := make([]*Result[*Head], len(ns))
		for i, n := range ns {
			rs[i] = b.Header(BlockNumber(n))
		}
		if err := b.Do(ctx); err != nil {
			return nil, err
		}
		out := make([]time.Time, len(ns))
		for i, r := range rs {
			if r.Err() != nil || r.Value == nil {
				return nil, fmt.Errorf("block %d: %v", ns[i], r.Err())
			}
			out[i] = time.Unix(int64(r.Value.Time), 0)
		}
		return out, nil
	}
	g, err := at([]uint64{0})
	if err != nil {
		return 0, err
	}
	if !g[0].Before(t) {
		return 0, nil
	}
	// time(lo) < t <= time(hi)
	lo, hi := uint64(0), head
	for hi-lo > 1 {
		step := max((hi-lo)/16, 1)
		var probes []uint64
		for n := lo + step; n < hi; n += step {
			probes = append(probes, n)
		}
		times, err := at(probes)
		if err != nil {
			return 0, err
		}
		newHi := hi
		for i, n := range probes {
			if !times[i].Before(t) {
				newHi = n
				break
			}
			lo = n
		}
		hi = newHi
	}
	return hi, nil
}
