package txflow

import (
	"context"
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// ErrAboveFundingLimit marks a funding above the profile's limit.
var ErrAboveFundingLimit = errors.New("above the funding limit")

// CheckFundingLimit refuses amount above limit (nil or zero: no limit).
func CheckFundingLimit(amount, limit *big.Int) error {
	if limit == nil || limit.Sign() <= 0 || amount.Cmp(limit) <= 0 {
		return nil
	}
	return errs.Refusedf("%s ETH is above the profile's funding limit of %s ETH", units.FormatEther(amount), units.FormatEther(limit)).
		Marks(ErrAboveFundingLimit)
}

// FundRequest sends Amount to To: a relayer's funding.
type FundRequest struct {
	To     common.Address
	Amount *big.Int
	Fees   chain.FeePolicy
	// Limit refuses an amount above it (ErrAboveFundingLimit) unless Force.
	Limit    *big.Int
	Force    bool
	Warnings []string
}

// Fund sends a funding under the funding limit: wallet fund's and a rotation's are
// one transaction shape and one rule. The receipt is nil on a dry run.
func (f *Flow) Fund(ctx context.Context, req FundRequest) (*Result, *chain.Receipt, error) {
	if !req.Force {
		if err := CheckFundingLimit(req.Amount, req.Limit); err != nil {
			return nil, nil, err
		}
	}
	return f.Execute(ctx, chain.TxRequest{To: req.To, Value: req.Amount, Fees: req.Fees},
		Call{Action: "fund", Args: []Arg{{Name: "to", Value: req.To.Hex()}, {Name: "amount", Value: units.FormatEther(req.Amount) + " ETH"}},
			Warnings: req.Warnings})
}
