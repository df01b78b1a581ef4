// Package history finds an account's recent transactions: those mined in recent
// blocks, with their status, fees and — for the ones that reverted — the decoded
// revert reason, and those waiting in the node's txpool (pending, or queued behind a
// nonce gap). `wallet history` and `doctor relay` read it.
//
// An externally owned account emits no logs, so a plain node has no index to ask.
// Two ways are used, cheapest first. The node's Otterscan index
// (ots_searchTransactionsBefore: anvil, Erigon, reth) is asked in the caller's first
// batch, next to its other reads with the account's nonce. Where the node has none,
// or its index is behind the chain (the page lacks the transaction below that
// nonce), the window is scanned:
// the account's nonce at every block of it (one batch of small calls) shows which
// blocks hold its transactions, and only those blocks are fetched with their
// receipts. Reverted transactions are replayed — eth_call at the parent block with
// the same sender, value, gas and input, plus ots_getTransactionError where the node
// has it — for their revert data, decoded to the protocol's errors.
package history

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// State is where a transaction stands.
type State string

const (
	Success  State = "success"
	Reverted State = "reverted"
	// Pending waits in the txpool and can be mined next.
	Pending State = "pending"
	// Queued waits in the txpool behind a missing nonce: it cannot be mined until
	// the gap is filled.
	Queued State = "queued"
)

// Tx is one of the account's transactions.
type Tx struct {
	Hash  common.Hash
	From  common.Address
	Nonce uint64
	To    *common.Address
	Value *big.Int
	Input []byte
	Gas   uint64
	// FeeCap is maxFeePerGas (gasPrice for a legacy transaction): a pending
	// transaction whose cap is below the base fee cannot be mined.
	FeeCap *big.Int
	State  State
	// Block and Time are zero while the transaction waits in the txpool.
	Block   uint64
	Time    time.Time
	GasUsed uint64
	// Fee is what a mined transaction paid: gas used × effective gas price + the L1
	// data fee (OP-stack).
	Fee *big.Int
	// Revert is the decoded reason a reverted transaction failed, when one was found.
	Revert *vrwx.ContractError
	// RevertNote says what is known when no reason was decoded (out of gas, raw
	// revert data, a replay that did not revert).
	RevertNote string
}

// Method names the function the transaction called: the protocol's ABIs are tried,
// else the 4-byte selector; "" for a plain transfer.
func (t Tx) Method() string { return MethodName(t.Input) }

// Reason is the revert reason in one phrase ("" unless reverted).
func (t Tx) Reason() string {
	switch {
	case t.State != Reverted:
		return ""
	case t.Revert != nil:
		return t.Revert.Error()
	case t.RevertNote != "":
		return t.RevertNote
	}
	return "reason unknown"
}

// MethodName names the function input calls (see Tx.Method).
func MethodName(input []byte) string {
	if len(input) == 0 {
		return ""
	}
	if len(input) < 4 {
		return hexutil.Encode(input)
	}
	for _, a := range []*abi.ABI{vrwx.EscrowABI(), vrwx.RegistryABI(), vrwx.ERC20ABI(), vrwx.PausableABI()} {
		if m, err := a.MethodById(input[:4]); err == nil {
			return m.Name
		}
	}
	return hexutil.Encode(input[:4])
}

// Pool is the account's part of the node's txpool.
type Pool struct {
	// Known is false when the node does not expose its txpool (Err says how).
	Known   bool
	Err     error
	Pending []Tx // by nonce
	Queued  []Tx // by nonce
}

// Result is what a search found.
type Result struct {
	Address common.Address
	// From and To are the block window searched (inclusive).
	From, To uint64
	// Source says how the mined transactions were found: "otterscan" or "scan".
	Source string
	// Mined holds the transactions mined in the window, newest first, at most the
	// finder's Limit.
	Mined []Tx
	// More is true when the window held more than Limit transactions.
	More bool
	Pool Pool
	// Notes say what could not be read (a pruned node's missing state, receipts
	// that did not come).
	Notes []string
}

// Failed returns the reverted transactions among Mined.
func (r *Result) Failed() []Tx {
	var out []Tx
	for _, t := range r.Mined {
		if t.State == Reverted {
			out = append(out, t)
		}
	}
	return out
}

// Finder searches one account's transactions.
type Finder struct {
	Chain   *chain.Client
	Address common.Address
	// Blocks is the window: this many blocks up to the head (100 when 0).
	Blocks uint64
	// Limit keeps the newest mined transactions only (20 when 0).
	Limit int
}

func (f *Finder) blocks() uint64 {
	if f.Blocks == 0 {
		return 100
	}
	return f.Blocks
}

func (f *Finder) limit() int {
	if f.Limit <= 0 {
		return 20
	}
	return f.Limit
}

// Query is a search whose first calls ride in the caller's batch.
type Query struct {
	f    *Finder
	ots  *chain.Result[chain.OtsPage]
	pool *chain.Result[poolFrom]
	// nonce is the account's mined count: the Otterscan page must show the
	// transaction below it, or the index is behind the chain.
	nonce *chain.Result[hexutil.Uint64]
}

// Queue adds the search's first calls — the Otterscan page and the account's txpool
// content — to b, which the caller sends with its own reads (a head among them).
func (f *Finder) Queue(b *chain.Batch) *Query {
	return &Query{
		f: f,
		// One more than kept tells whether there are more; anvil's index answers a
		// page of one with a transaction out of order, so pages hold at least ten.
		ots:   chain.Raw[chain.OtsPage](b, "ots_searchTransactionsBefore", f.Address, 0, max(f.limit()+1, 10)),
		pool:  chain.Raw[poolFrom](b, "txpool_contentFrom", f.Address),
		nonce: b.Nonce(f.Address, chain.Latest),
	}
}

// Find runs a whole search on its own: the first batch carries the head.
func (f *Finder) Find(ctx context.Context) (*Result, error) {
	b := f.Chain.NewBatch()
	q := f.Queue(b)
	head := b.Header(chain.Latest)
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	if err := head.Err(); err != nil {
		return nil, fmt.Errorf("eth_getBlockByNumber latest: %w", err)
	}
	if head.Value == nil {
		return nil, fmt.Errorf("the RPC returned no latest block")
	}
	return q.Finish(ctx, uint64(head.Value.Number))
}

// Finish completes the search after the batch Queue filled has been sent; head is
// the latest block number read in that batch. Errors are transport errors; a part
// the node cannot answer is a note in the result.
func (q *Query) Finish(ctx context.Context, head uint64) (*Result, error) {
	f := q.f
	// Block 0 holds no transactions, so the window starts at 1 at the earliest (and is
	// empty on a chain that has only its genesis block).
	from := uint64(1)
	if head >= f.blocks() {
		from = head - f.blocks() + 1
	}
	res := &Result{Address: f.Address, From: from, To: head}

	b := f.Chain.NewBatch()
	var all *chain.Result[PoolContent]
	if q.pool.Err() != nil {
		// anvil has only txpool_content; geth and op-geth answer contentFrom, so the
		// whole pool is asked for only where the small answer is missing.
		all = chain.Raw[PoolContent](b, "txpool_content")
	} else {
		res.Pool = DecodePool(q.pool.Value["pending"], q.pool.Value["queued"])
	}

	var probes []*chain.Result[hexutil.Uint64]
	scan := q.ots.Err() != nil
	if !scan {
		res.Source = "otterscan"
		mined, more, newest, notes := decodeOts(q.ots.Value, f.Address, res.From, f.limit())
		res.Mined, res.More = mined, more
		res.Notes = append(res.Notes, notes...)
		// The index must show the account's newest transaction (nonce count-1, in
		// the window or before it); one that does not is behind the chain and would
		// leave out the latest ones.
		if q.nonce.Err() == nil && q.nonce.Value > 0 && (newest == nil || *newest < uint64(q.nonce.Value)-1) {
			scan, res.Mined, res.More = true, nil, false
			res.Notes = append(res.Notes, fmt.Sprintf("the node's Otterscan index did not show the newest transaction of %s (nonce %d): the window was read block by block instead",
				f.Address.Hex(), uint64(q.nonce.Value)-1))
		}
	}
	if scan {
		res.Source = "scan"
		for n := from - 1; n <= head && from <= head; n++ {
			probes = append(probes, b.Nonce(f.Address, chain.BlockNumber(n)))
		}
	}
	replays := queueReplays(b, res.Mined)
	if b.Len() > 0 {
		if err := b.Do(ctx); err != nil {
			return nil, err
		}
	}
	if all != nil {
		if err := all.Err(); err != nil {
			res.Pool = Pool{Err: fmt.Errorf("the node exposes no txpool (txpool_contentFrom: %v; txpool_content: %v)", q.pool.Err(), err)}
		} else {
			res.Pool = PoolOf(all.Value, f.Address)
		}
	}
	if probes != nil {
		if err := q.scan(ctx, res, probes); err != nil {
			return nil, err
		}
		b := f.Chain.NewBatch()
		replays = queueReplays(b, res.Mined)
		if b.Len() > 0 {
			if err := b.Do(ctx); err != nil {
				return nil, err
			}
		}
	}
	applyReplays(res.Mined, replays)
	return res, nil
}

// PoolOf is an account's part of txpool_content's answer, decoded.
func PoolOf(content PoolContent, addr common.Address) Pool {
	p := chain.AccountPool(content, addr)
	return DecodePool(p["pending"], p["queued"])
}

// poolFrom is txpool_contentFrom's answer: section -> nonce -> transaction.
type poolFrom = map[string]map[string]json.RawMessage

// PoolContent is txpool_content's answer: section -> sender -> nonce -> transaction.
type PoolContent = chain.PoolContent

// DecodePool reads an account's part of a txpool answer (nonce -> transaction, for
// the pending and the queued section).
func DecodePool(pending, queued map[string]json.RawMessage) Pool {
	p := Pool{Known: true}
	for _, sec := range []struct {
		txs   map[string]json.RawMessage
		state State
		into  *[]Tx
	}{{pending, Pending, &p.Pending}, {queued, Queued, &p.Queued}} {
		for _, raw := range sec.txs {
			info, err := chain.DecodeTx(raw)
			if err != nil {
				p.Err = fmt.Errorf("txpool: %w", err)
				continue
			}
			t := fromInfo(info)
			t.State = sec.state
			*sec.into = append(*sec.into, t)
		}
		sort.Slice(*sec.into, func(i, j int) bool { return (*sec.into)[i].Nonce < (*sec.into)[j].Nonce })
	}
	return p
}

func fromInfo(info *chain.TxInfo) Tx {
	tx := info.Tx
	t := Tx{Hash: tx.Hash(), From: info.From, Nonce: tx.Nonce(), To: tx.To(), Value: tx.Value(), Input: tx.Data(), Gas: tx.Gas(), FeeCap: tx.GasFeeCap()}
	if info.BlockNumber != nil {
		t.Block = info.BlockNumber.Uint64()
	}
	return t
}

// receipt is the part of a receipt the history shows (logs are not decoded: a
// receipt's logs are not needed and some nodes' log objects lack fields).
type receipt struct {
	TxHash            common.Hash     `json:"transactionHash"`
	Status            hexutil.Uint64  `json:"status"`
	BlockNumber       hexutil.Uint64  `json:"blockNumber"`
	GasUsed           hexutil.Uint64  `json:"gasUsed"`
	EffectiveGasPrice *hexutil.Big    `json:"effectiveGasPrice"`
	L1Fee             *hexutil.Big    `json:"l1Fee"`
	From              common.Address  `json:"from"`
	Timestamp         *hexutil.Uint64 `json:"timestamp"`
}

func (r receipt) apply(t *Tx) {
	t.Block, t.GasUsed = uint64(r.BlockNumber), uint64(r.GasUsed)
	t.State = Success
	if r.Status != 1 {
		t.State = Reverted
	}
	t.Fee = new(big.Int)
	if r.EffectiveGasPrice != nil {
		t.Fee.Mul(new(big.Int).SetUint64(t.GasUsed), r.EffectiveGasPrice.ToInt())
	}
	if r.L1Fee != nil {
		t.Fee.Add(t.Fee, r.L1Fee.ToInt())
	}
	if r.Timestamp != nil && t.Time.IsZero() {
		t.Time = time.Unix(int64(*r.Timestamp), 0)
	}
}

// decodeOts keeps the account's own transactions of an Otterscan page mined since
// fromBlock, at most limit of them; newest is the highest nonce among the own
// transactions on the page (nil when it has none).
func decodeOts(p chain.OtsPage, from common.Address, fromBlock uint64, limit int) (mined []Tx, more bool, newest *uint64, notes []string) {
	own, _, notes := p.Own(from)
	for _, o := range own {
		if n := o.Info.Tx.Nonce(); newest == nil || n > *newest {
			newest = &n
		}
	}
	for _, o := range own {
		t := fromInfo(o.Info)
		if !o.Time.IsZero() {
			t.Time = o.Time.Local()
		}
		var r receipt
		if o.Receipt == nil || json.Unmarshal(o.Receipt, &r) != nil {
			notes = append(notes, "no receipt for "+t.Hash.Hex()+" in the Otterscan page")
			continue
		}
		r.apply(&t)
		if t.Block < fromBlock {
			// Older than the window: the page held everything recent.
			return mined, false, newest, notes
		}
		if len(mined) == limit {
			return mined, true, newest, notes
		}
		mined = append(mined, t)
	}
	// A full page may have more transactions in the window beyond it.
	return mined, !p.LastPage && len(p.Txs) > limit, newest, notes
}

// block is a full block as eth_getBlockByNumber(n, true) returns it.
type block struct {
	Number hexutil.Uint64    `json:"number"`
	Time   hexutil.Uint64    `json:"timestamp"`
	Txs    []json.RawMessage `json:"transactions"`
}

// scan finds the blocks where the account's nonce rose and reads their
// transactions and receipts.
func (q *Query) scan(ctx context.Context, res *Result, probes []*chain.Result[hexutil.Uint64]) error {
	f := q.f
	var blocks []uint64
	unknown := 0
	for i := 1; i < len(probes); i++ {
		prev, cur := probes[i-1], probes[i]
		n := res.From + uint64(i) - 1
		if prev.Err() != nil || cur.Err() != nil {
			unknown++
			continue
		}
		if cur.Value > prev.Value {
			blocks = append(blocks, n)
		}
	}
	if unknown > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("the node has no account state for %d block(s) of the window (a pruned node?): transactions in them are not shown", unknown))
	}
	// Newest first, and only as many blocks as can hold the kept transactions.
	sort.Slice(blocks, func(i, j int) bool { return blocks[i] > blocks[j] })
	if len(blocks) == 0 {
		return nil
	}
	b := f.Chain.NewBatch()
	type fetch struct {
		n     uint64
		blk   *chain.Result[*block]
		rcpts *chain.Result[[]receipt]
	}
	var fetches []fetch
	for _, n := range blocks {
		fetches = append(fetches, fetch{n: n,
			blk:   chain.Raw[*block](b, "eth_getBlockByNumber", chain.BlockNumber(n), true),
			rcpts: chain.Raw[[]receipt](b, "eth_getBlockReceipts", chain.BlockNumber(n))})
	}
	if err := b.Do(ctx); err != nil {
		return err
	}
	var missing []*Tx
	for _, fe := range fetches {
		if err := fe.blk.Err(); err != nil || fe.blk.Value == nil {
			res.Notes = append(res.Notes, fmt.Sprintf("block %d did not come: %v", fe.n, err))
			continue
		}
		rcpts := map[common.Hash]receipt{}
		if fe.rcpts.Err() == nil {
			for _, r := range fe.rcpts.Value {
				rcpts[r.TxHash] = r
			}
		}
		var inBlock []Tx
		for _, raw := range fe.blk.Value.Txs {
			info, err := chain.DecodeTx(raw)
			if err != nil {
				res.Notes = append(res.Notes, fmt.Sprintf("a transaction of block %d did not decode: %v", fe.n, err))
				continue
			}
			if info.From != f.Address {
				continue
			}
			t := fromInfo(info)
			t.Block, t.Time = fe.n, time.Unix(int64(fe.blk.Value.Time), 0)
			if r, ok := rcpts[t.Hash]; ok {
				r.apply(&t)
			}
			inBlock = append(inBlock, t)
		}
		// Newest first within the block too.
		sort.Slice(inBlock, func(i, j int) bool { return inBlock[i].Nonce > inBlock[j].Nonce })
		res.Mined = append(res.Mined, inBlock...)
	}
	if len(res.Mined) > f.limit() {
		res.Mined, res.More = res.Mined[:f.limit()], true
	}
	for i := range res.Mined {
		if res.Mined[i].State == "" {
			missing = append(missing, &res.Mined[i])
		}
	}
	if len(missing) == 0 {
		return nil
	}
	// eth_getBlockReceipts is missing on older nodes: ask per transaction.
	b = f.Chain.NewBatch()
	rs := make([]*chain.Result[*receipt], len(missing))
	for i, t := range missing {
		rs[i] = chain.Raw[*receipt](b, "eth_getTransactionReceipt", t.Hash)
	}
	if err := b.Do(ctx); err != nil {
		return err
	}
	for i, t := range missing {
		if rs[i].Err() != nil || rs[i].Value == nil {
			res.Notes = append(res.Notes, fmt.Sprintf("no receipt for %s: %v", t.Hash.Hex(), rs[i].Err()))
			continue
		}
		rs[i].Value.apply(t)
	}
	return nil
}

// replay is one reverted transaction's replay calls.
type replay struct {
	tx   *Tx
	call *chain.Result[hexutil.Bytes]
	ots  *chain.Result[hexutil.Bytes]
}

// queueReplays adds, for every reverted transaction that did not simply run out of
// gas, an eth_call of it at its parent block and ots_getTransactionError.
func queueReplays(b *chain.Batch, txs []Tx) []replay {
	var out []replay
	for i := range txs {
		t := &txs[i]
		if t.State != Reverted || t.Block == 0 {
			continue
		}
		if t.GasUsed >= t.Gas && t.Gas > 0 {
			t.RevertNote = fmt.Sprintf("ran out of gas (used its whole gas limit, %d)", t.Gas)
			continue
		}
		out = append(out, replay{tx: t,
			call: chain.Raw[hexutil.Bytes](b, "eth_call", chain.NewReplayMsg(t.From, t.To, t.Value, t.Gas, t.Input), chain.BlockNumber(t.Block-1)),
			ots:  chain.Raw[hexutil.Bytes](b, "ots_getTransactionError", t.Hash)})
	}
	return out
}

func applyReplays(txs []Tx, rs []replay) {
	for _, r := range rs {
		t := r.tx
		// Otterscan's answer is the transaction's own revert data, in its block.
		if r.ots.Err() == nil && len(r.ots.Value) > 0 {
			decode(t, r.ots.Value)
			continue
		}
		err := r.call.Err()
		if err == nil {
			t.RevertNote = fmt.Sprintf("replayed on block %d's state it does not revert: it failed on something an earlier transaction of block %d changed", t.Block-1, t.Block)
			continue
		}
		if data, ok := vrwx.RevertData(err); ok && len(data) > 0 {
			decode(t, data)
			continue
		}
		t.RevertNote = "reverted without data: " + err.Error()
	}
}

func decode(t *Tx, data []byte) {
	if ce := vrwx.DecodeRevert(data); ce != nil {
		t.Revert = ce
		return
	}
	t.RevertNote = "reverted with unknown data " + hexutil.Encode(data[:min(len(data), 36)])
	if len(data) > 36 {
		t.RevertNote += "… (" + strconv.Itoa(len(data)) + " bytes)"
	}
}

// TxJSON is one transaction.
type TxJSON struct {
	Hash     string  `json:"txHash"`
	State    string  `json:"state"`
	Nonce    uint64  `json:"nonce"`
	Block    uint64  `json:"block,omitempty"`
	Time     string  `json:"time,omitempty"`
	To       string  `json:"to,omitempty"`
	Method   string  `json:"method,omitempty"`
	ValueWei string  `json:"valueWei"`
	GasLimit uint64  `json:"gasLimit"`
	GasUsed  uint64  `json:"gasUsed,omitempty"`
	FeeWei   string  `json:"feeWei,omitempty"`
	FeeCap   string  `json:"maxFeePerGasWei,omitempty"`
	Revert   *Revert `json:"revert,omitempty"`
}

// Revert is why a transaction reverted.
type Revert struct {
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
	Fix   string `json:"fix,omitempty"`
	Note  string `json:"note,omitempty"`
}

// JSON is the -o json shape of the transaction.
func (t Tx) JSON() TxJSON {
	j := TxJSON{Hash: t.Hash.Hex(), State: string(t.State), Nonce: t.Nonce, Block: t.Block, Method: t.Method(),
		ValueWei: "0", GasLimit: t.Gas, GasUsed: t.GasUsed}
	if t.Value != nil {
		j.ValueWei = t.Value.String()
	}
	if t.To != nil {
		j.To = t.To.Hex()
	}
	if !t.Time.IsZero() {
		j.Time = t.Time.UTC().Format(time.RFC3339)
	}
	if t.Fee != nil {
		j.FeeWei = t.Fee.String()
	}
	if t.FeeCap != nil {
		j.FeeCap = t.FeeCap.String()
	}
	if t.State == Reverted {
		j.Revert = &Revert{Note: t.RevertNote}
		if t.Revert != nil {
			j.Revert.Error, j.Revert.Cause, j.Revert.Fix = t.Revert.Name, t.Revert.Cause, t.Revert.Fix
		}
	}
	return j
}
