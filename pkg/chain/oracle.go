package chain

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// L1GasPriceOracle is the OP-stack predeploy that quotes the L1 data fee. Chains
// without it (anvil, Ethereum) have no code there.
var L1GasPriceOracle = common.HexToAddress("0x420000000000000000000000000000000000000F")

// oracleABI is the part of the GasPriceOracle predeploy this client calls. It lives
// here, next to the only code that calls it. getOperatorFee exists since Isthmus;
// chains before it revert, which counts as "no operator fee".
var oracleABI = sync.OnceValue(func() *abi.ABI {
	a, err := abi.JSON(strings.NewReader(`[
	{"type":"function","name":"getL1Fee","stateMutability":"view","inputs":[{"name":"_data","type":"bytes"}],"outputs":[{"name":"","type":"uint256"}]},
	{"type":"function","name":"getL1FeeUpperBound","stateMutability":"view","inputs":[{"name":"_unsignedTxSize","type":"uint256"}],"outputs":[{"name":"","type":"uint256"}]},
	{"type":"function","name":"getOperatorFee","stateMutability":"view","inputs":[{"name":"_gasUsed","type":"uint256"}],"outputs":[{"name":"","type":"uint256"}]}
	]`))
	if err != nil {
		panic(fmt.Sprintf("chain: GasPriceOracle ABI does not parse: %v", err))
	}
	return &a
})

func packOracle(method string, args ...any) []byte {
	data, err := oracleABI().Pack(method, args...)
	if err != nil {
		panic(fmt.Sprintf("chain: pack GasPriceOracle.%s: %v", method, err))
	}
	return data
}

// unpackUint256 decodes a single uint256 return value of method.
func unpackUint256(method string, data []byte) (*big.Int, error) {
	vals, err := oracleABI().Methods[method].Outputs.Unpack(data)
	if err != nil {
		return nil, fmt.Errorf("GasPriceOracle.%s returned %d bytes: %w", method, len(data), err)
	}
	return vals[0].(*big.Int), nil
}

// L1Quote is what the oracle says about one unsigned transaction.
type L1Quote struct {
	// Fee is getL1Fee of the unsigned transaction (the oracle adds the signature's
	// size itself), plus the operator fee of its gas limit where the chain has one.
	Fee *big.Int
	// Bound is the most the L1 data fee can be: getL1FeeUpperBound since Fjord,
	// else getL1Fee + 10%, plus the operator fee. Never below Fee.
	Bound *big.Int
}

// quoteL1 asks the oracle, in one round trip, for the L1 data fee of tx and its
// upper bound. The argument is the unsigned transaction: getL1Fee and
// getL1FeeUpperBound both add the signature's 68 bytes themselves.
func (c *Client) quoteL1(ctx context.Context, tx *types.Transaction) (*L1Quote, error) {
	raw, err := tx.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode transaction for the L1 fee quote: %w", err)
	}
	b := c.NewBatch()
	upper := b.Call(L1GasPriceOracle, packOracle("getL1FeeUpperBound", new(big.Int).SetInt64(int64(len(raw)))), Latest)
	plain := b.Call(L1GasPriceOracle, packOracle("getL1Fee", raw), Latest)
	op := b.Call(L1GasPriceOracle, packOracle("getOperatorFee", new(big.Int).SetUint64(tx.Gas())), Latest)
	if err := b.Do(ctx); err != nil {
		return nil, err
	}
	if err := plain.Err(); err != nil {
		return nil, errs.Failedf("the L1 gas price oracle did not quote the L1 data fee").Wrap(err)
	}
	fee, err := unpackUint256("getL1Fee", plain.Value)
	if err != nil {
		return nil, errs.Failedf("the L1 gas price oracle's quote does not decode").Wrap(err)
	}
	var bound *big.Int
	if upper.Err() == nil {
		bound, _ = unpackUint256("getL1FeeUpperBound", upper.Value)
	}
	if bound == nil {
		// Before Fjord there is no upper bound; the data fee moves with the L1 base
		// fee between now and inclusion, so 10% is kept in reserve.
		bound = new(big.Int).Add(fee, new(big.Int).Div(fee, big.NewInt(10)))
	}
	if bound.Cmp(fee) < 0 {
		bound = new(big.Int).Set(fee)
	}
	if op.Err() == nil {
		if opFee, err := unpackUint256("getOperatorFee", op.Value); err == nil {
			fee = new(big.Int).Add(fee, opFee)
			bound = new(big.Int).Add(bound, opFee)
		}
	}
	return &L1Quote{Fee: fee, Bound: bound}, nil
}
