package chain

import (
	"context"
	"errors"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// ErrNothingToSend marks a sweep refused because the balance does not cover its
// own fees, the L1 fee bound and the amount to keep: there is nothing to move.
var ErrNothingToSend = errors.New("nothing to send")

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
	// to an account then leaves exactly Keep, to the wei; on an OP-stack chain it
	// leaves Keep + (bound − the L1 fee charged).
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
	// L1Fee is the oracle's quote of the L1 data fee for Tx; zero off OP-stack.
	L1Fee *big.Int
	// L1FeeBound is the most the L1 data fee can be (the oracle's upper bound, never
	// below L1Fee); a sweep reserves it. Zero off OP-stack.
	L1FeeBound *big.Int
}

// MaxGasCost is gasLimit × maxFeePerGas: the most the execution can cost.
func (p *Prepared) MaxGasCost() *big.Int {
	return new(big.Int).Mul(new(big.Int).SetUint64(p.Tx.Gas()), p.Tx.GasFeeCap())
}

// WorstCase is value + MaxGasCost + the L1 fee bound: the most the transaction can
// take from the account.
func (p *Prepared) WorstCase() *big.Int {
	w := new(big.Int).Add(p.Tx.Value(), p.MaxGasCost())
	if p.L1FeeBound != nil {
		w.Add(w, p.L1FeeBound)
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
	p, _, err := c.prepare(ctx, req, 0, false)
	return p, err
}

// PrepareSend is Prepare that also reads, in the same batch as the nonce, what the
// sender sent lately (SentBy): its transactions in the node's pool and those mined
// within window. The nonce the transaction takes and the list it is checked
// against come from one snapshot, so a send started elsewhere at the same moment
// either shows in the list or competes for the same nonce. The list is returned
// even when building the transaction failed (a simulation that reverts because
// the same call was already made), so the caller can say why.
func (c *Client) PrepareSend(ctx context.Context, req TxRequest, window time.Duration) (*Prepared, *Recent, error) {
	return c.prepare(ctx, req, window, true)
}

func (c *Client) prepare(ctx context.Context, req TxRequest, window time.Duration, withRecent bool) (*Prepared, *Recent, error) {
	if err := req.Fees.Validate(); err != nil {
		return nil, nil, err
	}
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
	var q *recentQuery
	if withRecent {
		q = queueRecent(b, req.From, window)
	}
	if err := b.Do(ctx); err != nil {
		return nil, nil, err
	}
	for name, r := range map[string]error{"latest block": head.Err(), "pending nonce": pending.Err(), "nonce": latest.Err(), "balance": bal.Err()} {
		if r != nil {
			return nil, nil, errs.Failedf("reading the %s for %s", name, req.From.Hex()).Wrap(r)
		}
	}
	if head.Value == nil || head.Value.BaseFee == nil {
		return nil, nil, errs.Failedf("the chain reports no base fee: vrwxctl sends EIP-1559 transactions only")
	}
	var recent *Recent
	if q != nil {
		var err error
		if recent, err = q.finish(ctx, c, head.Value, uint64(latest.Value), uint64(pending.Value)); err != nil {
			return nil, nil, err
		}
	}
	m := Market{ChainID: c.ChainID(), Balance: bal.Value.ToInt(), BaseFee: head.Value.BaseFee.ToInt(),
		NonceLatest: uint64(latest.Value), NoncePending: uint64(pending.Value), OPStack: oracle.Err() == nil && len(oracle.Value) > 0}
	if est != nil {
		if err := est.Err(); err != nil {
			var de rpc.DataError
			se := &SimulationError{Err: err}
			if errors.As(err, &de) {
				if s, ok := de.ErrorData().(string); ok {
					se.RevertData, _ = hexutil.Decode(s)
				}
			}
			if len(se.RevertData) == 0 && !IsRevert(err) {
				return nil, recent, classifyNodeError(err, req.From)
			}
			return nil, recent, se
		}
		m.GasEstimate = uint64(est.Value)
	}
	if tip.Err() == nil {
		m.Tip = tip.Value.ToInt()
	}
	p, err := Build(req, m, func(tx *types.Transaction) (*L1Quote, error) { return c.quoteL1(ctx, tx) })
	return p, recent, err
}

// Market is what building a transaction reads from the chain (Prepare reads it in
// one batch): the sender's balance and nonces, the base fee, the node's tip, the
// gas estimate (the simulation) and whether the chain charges an L1 data fee.
type Market struct {
	ChainID                   uint64
	Balance, BaseFee          *big.Int
	Tip                       *big.Int // the node's priority-fee suggestion; nil: none
	NonceLatest, NoncePending uint64
	GasEstimate               uint64 // 0 when the request pins its gas limit
	OPStack                   bool
}

// Build makes the unsigned transaction req asks for on market m: the fees (the
// node's tip capped by the policy, 2 × base fee + tip capped by the fee cap, raised
// to a replacement's minimums), the nonce, the gas limit (the estimate times the
// multiplier), and for a sweep the value. quote asks the OP-stack oracle for the
// L1 data fee of an unsigned transaction (used only when m.OPStack).
func Build(req TxRequest, m Market, quote func(*types.Transaction) (*L1Quote, error)) (*Prepared, error) {
	if err := req.Fees.Validate(); err != nil {
		return nil, err
	}
	p := &Prepared{
		ChainID: new(big.Int).SetUint64(m.ChainID), From: req.From, Balance: m.Balance, BaseFee: m.BaseFee,
		GasEstimate: m.GasEstimate, NonceLatest: m.NonceLatest, NoncePending: m.NoncePending,
		OPStack: m.OPStack, L1Fee: new(big.Int), L1FeeBound: new(big.Int),
	}
	gas := req.GasLimit
	if gas == 0 {
		gas = applyMultiplier(p.GasEstimate, req.Fees.GasLimitMultiplier)
		if req.Sweep {
			gas = p.GasEstimate
		}
	}
	maxFee, priority, err := fees(p.BaseFee, m.Tip, req)
	if err != nil {
		return nil, err
	}
	nonce := p.NoncePending
	if req.Nonce != nil {
		nonce = *req.Nonce
	}
	value := req.Value
	if value == nil {
		value = new(big.Int)
	}
	to := req.To
	build := func(v *big.Int) *types.Transaction {
		return types.NewTx(&types.DynamicFeeTx{ChainID: p.ChainID, Nonce: nonce, GasTipCap: priority, GasFeeCap: maxFee, Gas: gas, To: &to, Value: v, Data: req.Data})
	}
	if req.Sweep {
		priority = maxFee
		v, err := sweepValue(p, gas, maxFee, req.Keep, build, quote)
		if err != nil {
			return nil, err
		}
		value = v
	}
	p.Tx = build(value)
	if p.OPStack {
		q, err := quote(p.Tx)
		if err != nil {
			return nil, err
		}
		p.L1Fee = q.Fee
		// A sweep's value already leaves room for the bound it reserved; the final
		// transaction is no larger than the one that bound was quoted for.
		p.L1FeeBound = bigMax(p.L1FeeBound, q.Bound)
	}
	return p, nil
}

// sweepValue is balance − gas × fee − L1 fee bound − keep. On OP-stack chains the
// bound is quoted for the largest the transaction can be: the whole balance as value.
func sweepValue(p *Prepared, gas uint64, fee, keep *big.Int, build func(*big.Int) *types.Transaction, quote func(*types.Transaction) (*L1Quote, error)) (*big.Int, error) {
	if keep == nil {
		keep = new(big.Int)
	}
	cost := new(big.Int).Mul(new(big.Int).SetUint64(gas), fee)
	if p.OPStack {
		q, err := quote(build(p.Balance))
		if err != nil {
			return nil, err
		}
		p.L1FeeBound = q.Bound
	}
	v := new(big.Int).Sub(p.Balance, cost)
	v.Sub(v, p.L1FeeBound)
	v.Sub(v, keep)
	if v.Sign() <= 0 {
		return nil, errs.Refusedf("nothing to send: the balance %s wei does not cover gas (%s wei), the L1 fee bound (%s wei) and the amount to keep (%s wei)",
			p.Balance, cost, p.L1FeeBound, keep).Marks(ErrNothingToSend)
	}
	return v, nil
}

func bigMax(a, b *big.Int) *big.Int {
	if a == nil || a.Cmp(b) < 0 {
		return b
	}
	return a
}

// classifyNodeError says in the node's own terms why it refused a transaction.
// The CLI adds which of its commands to run next.
func classifyNodeError(err error, from common.Address) error {
	switch {
	case nodeSays(err, "insufficient funds"):
		return errs.Refusedf("%s cannot pay for this transaction: insufficient funds", from.Hex()).Wrap(err).
			WithFix("runbook: relayer out of gas — top up the account")
	case nodeSays(err, "max fee per gas less than block base fee", "fee cap less than block base fee"):
		return errs.Refusedf("the fee cap is below the block's base fee").Wrap(err).
			WithFix("runbook: high gas prices — increase MAX_FEE_PER_GAS_GWEI")
	case nodeSays(err, "nonce too low"):
		return errs.Failedf("nonce too low: a transaction with this nonce was already mined").Wrap(err)
	case nodeSays(err, "replacement transaction underpriced"):
		return errs.Failedf("replacement underpriced: another transaction from this account is pending at the same nonce").Wrap(err)
	}
	return errs.Failedf("the node refused the transaction").Wrap(err)
}

// Validate refuses a policy no relayer would send with: a gas-limit multiplier
// outside [1, 10] (below 1 the transaction runs out of gas; above 10 is a typo) and
// fee caps that are not positive. Nothing is signed with such a policy.
func (p FeePolicy) Validate() error {
	if m := p.GasLimitMultiplier; m != nil && (m.Cmp(big.NewRat(1, 1)) < 0 || m.Cmp(big.NewRat(10, 1)) > 0) {
		return errs.Usagef("gas limit multiplier %s is outside [1, 10]", m.FloatString(2))
	}
	if p.MaxFeeCap != nil && p.MaxFeeCap.Sign() <= 0 {
		return errs.Usagef("max fee per gas cap %s wei is not positive", p.MaxFeeCap)
	}
	if p.MaxPriorityCap != nil && p.MaxPriorityCap.Sign() <= 0 {
		return errs.Usagef("max priority fee cap %s wei is not positive", p.MaxPriorityCap)
	}
	return nil
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
				WithFix("raise MAX_FEE_PER_GAS_GWEI for this command")
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
