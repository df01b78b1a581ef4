package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// L1GasPriceOracle is the OP-stack predeploy that quotes the L1 data fee. Chains
// without it (anvil, Ethereum) have no code there.
var L1GasPriceOracle = common.HexToAddress("0x420000000000000000000000000000000000000F")

// FeePolicy is the runbook's fee configuration: EIP-1559 caps and the gas-limit
// multiplier (MAX_FEE_PER_GAS_GWEI, MAX_PRIORITY_FEE_GWEI, GAS_LIMIT_MULTIPLIER).
type FeePolicy struct {
	MaxFeeCap      *big.Int // wei per gas; nil = no cap
	MaxPriorityCap *big.Int // wei per gas; nil = no cap
	// GasLimitMultiplier scales the estimate (1.2 = +20%); nil = 1.
	GasLimitMultiplier *big.Rat
}

// TxRequest describes a transaction to build.
type TxRequest struct {
	From  common.Address
	To    common.Address
	Value *big.Int
	Data  []byte
	// Nonce pins the nonce (replacements); nil takes the pending nonce.
	Nonce *uint64
	// GasLimit pins the gas limit; 0 estimates and applies the multiplier.
	GasLimit uint64
	// MinMaxFee and MinPriority raise the fees to at least these (replacements).
	MinMaxFee, MinPriority *big.Int
	Fees                   FeePolicy
	// Sweep sends everything but Keep: value = balance − gas × fee − L1 fee bound − Keep.
	// The priority fee is set equal to the fee cap so the price paid per gas is known
	// in advance, and the gas limit is the estimate itself: on an L1 chain a transfer
	// to an account then leaves exactly Keep, to the wei.
	Sweep bool
	Keep  *big.Int
}

// Prepared is an unsigned transaction with everything the summary shows.
type Prepared struct {
	Tx          *types.Transaction // unsigned EIP-1559 transaction
	ChainID     *big.Int
	From        common.Address
	Balance     *big.Int
	BaseFee     *big.Int
	GasEstimate uint64
	// NonceLatest and NoncePending tell whether transactions are waiting.
	NonceLatest, NoncePending uint64
	// OPStack is true when the chain has the L1 gas price oracle.
	OPStack bool
	// L1FeeBound is the L1 data fee reserved by a sweep (OP-stack only).
	L1FeeBound *big.Int
}

// MaxGasCost is gasLimit × maxFeePerGas: the most the execution can cost.
func (p *Prepared) MaxGasCost() *big.Int {
	return new(big.Int).Mul(new(big.Int).SetUint64(p.Tx.Gas()), p.Tx.GasFeeCap())
}

// WorstCase is value + MaxGasCost + l1Fee.
func (p *Prepared) WorstCase(l1Fee *big.Int) *big.Int {
	w := new(big.Int).Add(p.Tx.Value(), p.MaxGasCost())
	if l1Fee != nil {
		w.Add(w, l1Fee)
	}
	return w
}

type txArgs struct {
	From  common.Address  `json:"from"`
	To    *common.Address `json:"to,omitempty"`
	Value *hexutil.Big    `json:"value,omitempty"`
	Input hexutil.Bytes   `json:"input,omitempty"`
	Data  hexutil.Bytes   `json:"data,omitempty"`
}

// SimulationError is a transaction that would revert, with the revert data.
type SimulationError struct {
	Err        error
	RevertData []byte
}

func (e *SimulationError) Error() string { return "simulation reverted: " + e.Err.Error() }
func (e *SimulationError) Unwrap() error { return e.Err }

// Prepare reads what building the transaction needs in one round trip — pending
// nonce, head (base fee), priority fee suggestion, balance, gas estimate (the
// simulation) and whether the chain is OP-stack — and returns the unsigned
// transaction. A reverting simulation returns *SimulationError; callers decode it.
func (c *Client) Prepare(ctx context.Context, req TxRequest) (*Prepared, error) {
	b := c.NewBatch()
	head := b.Header(Latest)
	tip := b.MaxPriorityFee()
	pending := b.Nonce(req.From, Pending)
	latest := b.Nonce(req.From, Latest)
	bal := b.Balance(req.From, Latest)
	oracle := b.Code(L1GasPriceOracle, Latest)
	value := req.Value
	if value == nil {
		value = new(big.Int)
	}
	var est *Result[hexutil.Uint64]
	if req.GasLimit == 0 {
		to := req.To
		est = add[hexutil.Uint64](b, "eth_estimateGas", txArgs{From: req.From, To: &to, Value: (*hexutil.Big)(value), Input: req.Data, Data: req.Data})
	}
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	for name, r := range map[string]error{"latest block": head.Err(), "pending nonce": pending.Err(), "nonce": latest.Err(), "balance": bal.Err()} {
		if r != nil {
			return nil, errs.Failedf("reading the %s for %s", name, req.From.Hex()).Wrap(r)
		}
	}
	if head.Value == nil || head.Value.BaseFee == nil {
		return nil, errs.Failedf("the chain reports no base fee: vrwxctl sends EIP-1559 transactions only")
	}
	p := &Prepared{
		ChainID: new(big.Int).SetUint64(c.ChainID()), From: req.From, Balance: bal.Value.ToInt(),
		BaseFee: head.Value.BaseFee.ToInt(), NonceLatest: uint64(latest.Value), NoncePending: uint64(pending.Value),
		OPStack: oracle.Err() == nil && len(oracle.Value) > 0,
	}
	gas := req.GasLimit
	if est != nil {
		if err := est.Err(); err != nil {
			var de rpc.DataError
			se := &SimulationError{Err: err}
			if errors.As(err, &de) {
				if s, ok := de.ErrorData().(string); ok {
					se.RevertData, _ = hexutil.Decode(s)
				}
			}
			if len(se.RevertData) == 0 && !isRevert(err) {
				return nil, classifyNodeError(err, req.From)
			}
			return nil, se
		}
		p.GasEstimate = uint64(est.Value)
		gas = applyMultiplier(p.GasEstimate, req.Fees.GasLimitMultiplier)
		if req.Sweep {
			gas = p.GasEstimate
		}
	}
	var suggested *big.Int
	if tip.Err() == nil {
		suggested = tip.Value.ToInt()
	}
	maxFee, priority, err := fees(p.BaseFee, suggested, req)
	if err != nil {
		return nil, err
	}
	nonce := p.NoncePending
	if req.Nonce != nil {
		nonce = *req.Nonce
	}
	to := req.To
	build := func(v *big.Int) *types.Transaction {
		return types.NewTx(&types.DynamicFeeTx{ChainID: p.ChainID, Nonce: nonce, GasTipCap: priority, GasFeeCap: maxFee, Gas: gas, To: &to, Value: v, Data: req.Data})
	}
	if req.Sweep {
		priority = maxFee
		v, err := c.sweepValue(ctx, p, gas, maxFee, req.Keep, build)
		if err != nil {
			return nil, err
		}
		value = v
	}
	p.Tx = build(value)
	return p, nil
}

// sweepValue is balance − gas × fee − L1 fee bound − keep.
func (c *Client) sweepValue(ctx context.Context, p *Prepared, gas uint64, fee, keep *big.Int, build func(*big.Int) *types.Transaction) (*big.Int, error) {
	if keep == nil {
		keep = new(big.Int)
	}
	cost := new(big.Int).Mul(new(big.Int).SetUint64(gas), fee)
	p.L1FeeBound = new(big.Int)
	if p.OPStack {
		// The largest the transaction can be: the full balance as value.
		bound, err := c.l1FeeBound(ctx, build(p.Balance))
		if err != nil {
			return nil, err
		}
		p.L1FeeBound = bound
	}
	v := new(big.Int).Sub(p.Balance, cost)
	v.Sub(v, p.L1FeeBound)
	v.Sub(v, keep)
	if v.Sign() <= 0 {
		return nil, errs.Refusedf("nothing to send: the balance %s wei does not cover gas (%s wei), the L1 fee bound (%s wei) and --keep (%s wei)",
			p.Balance, cost, p.L1FeeBound, keep)
	}
	return v, nil
}

// l1FeeBound asks the OP-stack oracle for the most the L1 data fee of tx can be:
// getL1FeeUpperBound(size) since Fjord, else getL1Fee of the unsigned bytes plus
// 10%, plus the operator fee on chains that have one (getOperatorFee since Isthmus).
func (c *Client) l1FeeBound(ctx context.Context, tx *types.Transaction) (*big.Int, error) {
	raw, err := tx.MarshalBinary()
	if err != nil {
		return nil, err
	}
	word := func(n uint64) []byte { return common.LeftPadBytes(new(big.Int).SetUint64(n).Bytes(), 32) }
	sel := func(sig string) []byte { return crypto.Keccak256([]byte(sig))[:4] }
	bytesArg := append(append(word(32), word(uint64(len(raw)))...), common.RightPadBytes(raw, (len(raw)+31)/32*32)...)
	b := c.NewBatch()
	upper := b.Call(L1GasPriceOracle, append(sel("getL1FeeUpperBound(uint256)"), word(uint64(len(raw)))...), Latest)
	plain := b.Call(L1GasPriceOracle, append(sel("getL1Fee(bytes)"), bytesArg...), Latest)
	op := b.Call(L1GasPriceOracle, append(sel("getOperatorFee(uint256)"), word(tx.Gas())...), Latest)
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	var bound *big.Int
	switch {
	case upper.Err() == nil && len(upper.Value) == 32:
		bound = new(big.Int).SetBytes(upper.Value)
	case plain.Err() == nil && len(plain.Value) == 32:
		bound = new(big.Int).SetBytes(plain.Value)
		bound.Add(bound, new(big.Int).Div(bound, big.NewInt(10)))
	default:
		return nil, errs.Failedf("the L1 gas price oracle did not quote the L1 data fee").Wrap(upper.Err())
	}
	if op.Err() == nil && len(op.Value) == 32 {
		bound.Add(bound, new(big.Int).SetBytes(op.Value))
	}
	return bound, nil
}

func isRevert(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "revert")
}

// classifyNodeError turns the node's refusals into the runbook's causes and fixes.
func classifyNodeError(err error, from common.Address) error {
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "insufficient funds"):
		return errs.Refusedf("%s cannot pay for this transaction: insufficient funds", from.Hex()).Wrap(err).
			WithFix("runbook: relayer out of gas — top up the account (vrwxctl wallet fund)")
	case strings.Contains(msg, "max fee per gas less than block base fee"), strings.Contains(msg, "fee cap less than block base fee"):
		return errs.Refusedf("the fee cap is below the block's base fee").Wrap(err).
			WithFix("runbook: high gas prices — increase MAX_FEE_PER_GAS_GWEI")
	case strings.Contains(msg, "nonce too low"):
		return errs.Failedf("nonce too low: a transaction with this nonce was already mined").Wrap(err).
			WithFix("check `vrwxctl wallet nonce`; do not resend the same transaction")
	case strings.Contains(msg, "replacement transaction underpriced"):
		return errs.Failedf("replacement underpriced: the fees must rise by at least the node's minimum bump").Wrap(err).
			WithFix("use vrwxctl tx speedup, which raises both fees by 12.5% or more")
	}
	return errs.Failedf("the node refused the transaction").Wrap(err)
}

func applyMultiplier(est uint64, m *big.Rat) uint64 {
	if m == nil || m.Sign() <= 0 {
		return est
	}
	n := new(big.Int).Mul(new(big.Int).SetUint64(est), m.Num())
	q, r := new(big.Int).QuoRem(n, m.Denom(), new(big.Int))
	if r.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Uint64()
}

// fees picks EIP-1559 fees: tip = the node's suggestion capped by MAX_PRIORITY_FEE,
// fee cap = 2 × base fee + tip capped by MAX_FEE_PER_GAS — raised to the replacement
// minimums when given. A base fee at or above the cap would never be mined: refuse.
func fees(baseFee, suggested *big.Int, req TxRequest) (maxFee, priority *big.Int, err error) {
	pol := req.Fees
	priority = suggested
	if priority == nil {
		priority = big.NewInt(1_000_000_000)
		if pol.MaxPriorityCap != nil {
			priority = new(big.Int).Set(pol.MaxPriorityCap)
		}
	}
	if pol.MaxPriorityCap != nil && priority.Cmp(pol.MaxPriorityCap) > 0 {
		priority = new(big.Int).Set(pol.MaxPriorityCap)
	}
	if req.MinPriority != nil && priority.Cmp(req.MinPriority) < 0 {
		priority = new(big.Int).Set(req.MinPriority)
	}
	maxFee = new(big.Int).Add(new(big.Int).Mul(baseFee, big.NewInt(2)), priority)
	if req.MinMaxFee != nil && maxFee.Cmp(req.MinMaxFee) < 0 {
		maxFee = new(big.Int).Set(req.MinMaxFee)
	}
	if pol.MaxFeeCap != nil && maxFee.Cmp(pol.MaxFeeCap) > 0 {
		if req.MinMaxFee != nil && req.MinMaxFee.Cmp(pol.MaxFeeCap) > 0 {
			return nil, nil, errs.Refusedf("the replacement needs a fee cap of %s wei per gas, above MAX_FEE_PER_GAS_GWEI (%s wei)", req.MinMaxFee, pol.MaxFeeCap).
				WithFix("raise MAX_FEE_PER_GAS_GWEI for this command (env or --max-fee)")
		}
		maxFee = new(big.Int).Set(pol.MaxFeeCap)
	}
	if maxFee.Cmp(baseFee) <= 0 {
		return nil, nil, errs.Refusedf("the base fee (%s wei per gas) is at or above the fee cap MAX_FEE_PER_GAS_GWEI (%s wei): the transaction would never be mined", baseFee, maxFee).
			WithFix("runbook: high gas prices — increase MAX_FEE_PER_GAS_GWEI, or wait for the base fee to fall")
	}
	if priority.Cmp(maxFee) > 0 {
		priority = new(big.Int).Set(maxFee)
	}
	return maxFee, priority, nil
}

// L1Fee quotes the OP-stack L1 data fee of a signed transaction with the oracle's
// getL1Fee(bytes); zero on chains without the oracle.
func (c *Client) L1Fee(ctx context.Context, p *Prepared, signed *types.Transaction, packGetL1Fee func([]byte) []byte) (*big.Int, error) {
	if !p.OPStack {
		return new(big.Int), nil
	}
	raw, err := signed.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b := c.NewBatch()
	r := b.Call(L1GasPriceOracle, packGetL1Fee(raw), Latest)
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	if err := r.Err(); err != nil {
		return nil, errs.Failedf("quoting the L1 data fee").Wrap(err)
	}
	return new(big.Int).SetBytes(r.Value), nil
}

// SendRaw broadcasts a signed transaction and returns its hash. Sending the same
// signed bytes twice is harmless (same hash), so failover applies.
func (c *Client) SendRaw(ctx context.Context, signed *types.Transaction) (common.Hash, error) {
	raw, err := signed.MarshalBinary()
	if err != nil {
		return common.Hash{}, err
	}
	var h common.Hash
	elems := []rpc.BatchElem{{Method: "eth_sendRawTransaction", Args: []any{hexutil.Bytes(raw)}, Result: &h}}
	if err := c.BatchCall(ctx, elems); err != nil {
		return common.Hash{}, err
	}
	if err := elems[0].Error; err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "already known") {
			return signed.Hash(), nil
		}
		from, _ := types.Sender(types.LatestSignerForChainID(signed.ChainId()), signed)
		return common.Hash{}, classifyNodeError(err, from)
	}
	return h, nil
}

// Receipt is a mined transaction's outcome, fees included.
type Receipt struct {
	TxHash            common.Hash    `json:"transactionHash"`
	Status            hexutil.Uint64 `json:"status"`
	BlockNumber       hexutil.Uint64 `json:"blockNumber"`
	BlockHash         common.Hash    `json:"blockHash"`
	GasUsed           hexutil.Uint64 `json:"gasUsed"`
	EffectiveGasPrice *hexutil.Big   `json:"effectiveGasPrice"`
	// L1Fee is set by OP-stack nodes: the L1 data fee paid on top of gas.
	L1Fee *hexutil.Big    `json:"l1Fee"`
	Logs  []*types.Log    `json:"logs"`
	From  common.Address  `json:"from"`
	To    *common.Address `json:"to"`
}

// Succeeded reports status 1.
func (r *Receipt) Succeeded() bool { return r.Status == 1 }

// TotalFee is gasUsed × effectiveGasPrice + L1 data fee.
func (r *Receipt) TotalFee() *big.Int {
	fee := new(big.Int).Mul(new(big.Int).SetUint64(uint64(r.GasUsed)), r.EffectiveGasPrice.ToInt())
	if r.L1Fee != nil {
		fee.Add(fee, r.L1Fee.ToInt())
	}
	return fee
}

// ReceiptOf returns the receipt, or nil while the transaction is not mined.
func (c *Client) ReceiptOf(ctx context.Context, h common.Hash) (*Receipt, error) {
	b := c.NewBatch()
	r := add[*Receipt](b, "eth_getTransactionReceipt", h)
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("eth_getTransactionReceipt %s: %w", h.Hex(), err)
	}
	return r.Value, nil
}

// WaitMined polls for the receipt until ctx ends, calling progress between polls.
// Polls start 2 ms apart and back off to poll: a dev chain mines at once, Base every
// 2 s. On timeout it returns an errs.Timeout that names the hash and warns against
// resending.
func (c *Client) WaitMined(ctx context.Context, h common.Hash, poll time.Duration, progress func(elapsed time.Duration)) (*Receipt, error) {
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	start := time.Now()
	wait := 2 * time.Millisecond
	for {
		r, err := c.ReceiptOf(ctx, h)
		if err == nil && r != nil {
			return r, nil
		}
		if ctx.Err() != nil || (err != nil && errs.KindOf(err) == errs.Timeout) {
			return nil, errs.Timeoutf("transaction %s was sent but no receipt came within the timeout", h.Hex()).
				WithFix(fmt.Sprintf("do NOT resend (that risks paying twice): follow it with `vrwxctl tx wait %s`, or replace it with `vrwxctl tx speedup`", h.Hex()))
		}
		if progress != nil {
			progress(time.Since(start))
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, poll)
	}
}

// TxInfo is a transaction as the node reports it.
type TxInfo struct {
	Tx          *types.Transaction
	From        common.Address
	BlockNumber *big.Int // nil while pending
}

// TransactionByHash returns the transaction, or nil when the node does not know it.
func (c *Client) TransactionByHash(ctx context.Context, h common.Hash) (*TxInfo, error) {
	b := c.NewBatch()
	r := add[*json.RawMessage](b, "eth_getTransactionByHash", h)
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("eth_getTransactionByHash %s: %w", h.Hex(), err)
	}
	if r.Value == nil {
		return nil, nil
	}
	return decodeTxInfo(*r.Value)
}

func decodeTxInfo(raw json.RawMessage) (*TxInfo, error) {
	info := &TxInfo{Tx: new(types.Transaction)}
	if err := json.Unmarshal(raw, info.Tx); err != nil {
		return nil, fmt.Errorf("decode transaction: %w", err)
	}
	var meta struct {
		BlockNumber *hexutil.Big   `json:"blockNumber"`
		From        common.Address `json:"from"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("decode transaction: %w", err)
	}
	info.From = meta.From
	if meta.BlockNumber != nil {
		info.BlockNumber = meta.BlockNumber.ToInt()
	}
	return info, nil
}

// PendingByNonce finds from's pending transaction with nonce in the node's txpool:
// txpool_contentFrom (geth, op-geth), else txpool_content (anvil has only this one).
// ok is false when the pool has none or the node does not expose its pool.
func (c *Client) PendingByNonce(ctx context.Context, from common.Address, nonce uint64) (*TxInfo, bool, error) {
	type pool = map[string]map[string]json.RawMessage
	b := c.NewBatch()
	mine := add[pool](b, "txpool_contentFrom", from)
	all := add[map[string]map[string]map[string]json.RawMessage](b, "txpool_content")
	if err := b.Do(ctx); err != nil {
		return nil, false, err
	}
	var byNonce []map[string]json.RawMessage
	if mine.Err() == nil {
		byNonce = append(byNonce, mine.Value["pending"], mine.Value["queued"])
	} else if all.Err() == nil {
		for _, section := range []string{"pending", "queued"} {
			for addr, txs := range all.Value[section] {
				if strings.EqualFold(addr, from.Hex()) {
					byNonce = append(byNonce, txs)
				}
			}
		}
	}
	for _, txs := range byNonce {
		if raw, ok := txs[fmt.Sprint(nonce)]; ok {
			info, err := decodeTxInfo(raw)
			return info, err == nil, err
		}
	}
	return nil, false, nil
}
