package wallet

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// FundOptions are the inputs of wallet fund.
type FundOptions struct {
	IO      *ui.IO
	Flow    func(ctx context.Context, command string, so cmdutil.SendOptions) (*txflow.Flow, *config.Config, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	DryRun  bool
	Yes     bool

	To     string
	Amount string
	Force  bool
	Send   cmdutil.SendOptions
}

// NewCmdFund returns `wallet fund`.
func NewCmdFund(f *cmdutil.Factory, runF func(context.Context, *FundOptions) error) *cobra.Command {
	opts := &FundOptions{IO: f.IO, Context: f.Context, Flow: f.Flow}
	cmd := &cobra.Command{
		Use:   "fund --to ADDRESS --amount AMOUNT --signer REF",
		Short: "Send ETH to a relayer (runbook step 2), with a summary and a confirmation",
		Long: `Send AMOUNT of ETH from the account behind --signer (the treasury) to --to.

AMOUNT takes its unit like cast: 0.5ether (or 0.5eth), 500gwei, 1000wei. A number
without a unit is refused: cast reads it as wei, people as ether.
Each profile has a funding limit (1 ETH on base-mainnet, none on local); --force sends
more, still after the summary and confirmation. The transaction is simulated first,
capped by MAX_FEE_PER_GAS_GWEI / MAX_PRIORITY_FEE_GWEI, journaled in the audit log
before it is broadcast, and its hash is printed before the receipt wait.`,
		Example: `  # Runbook step 2: fund the new relayer from the treasury
  vrwxctl wallet fund --to 0x90F79bf6EB2c4f870365E785982E1f101E93b906 --amount 0.5ether \
      --signer aws-sm://vrwx/prod/treasury-key --reason "rotation CHG-1234"

  # See exactly what would be sent, sign and simulate it, send nothing
  vrwxctl wallet fund --to 0x90F79bf6EB2c4f870365E785982E1f101E93b906 --amount 0.5ether --signer env://TREASURY_KEY --dry-run`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DryRun, opts.Yes = f.Globals.DryRun, f.Globals.Yes
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, fundRun)
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "recipient address (required)")
	cmd.Flags().StringVar(&opts.Amount, "amount", "", "amount with unit: 0.5ether, 500gwei, 1000wei (required)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "allow more than the profile's funding limit (still confirmed)")
	cmdutil.AddSendFlags(cmd.Flags(), &opts.Send, "signer reference of the sending account (required)")
	return cmd
}

// FundJSON is the -o json shape of wallet fund.
type FundJSON struct {
	Amount string `json:"amountEther"`
	*txflow.Result
}

func parseRecipient(flag, s string) (common.Address, error) {
	if s == "" {
		return common.Address{}, errs.Usagef("%s is required (an 0x address)", flag)
	}
	to, err := units.ParseAddress(s)
	if err != nil {
		return common.Address{}, err
	}
	if to == (common.Address{}) {
		return common.Address{}, errs.Usagef("%s is the zero address: ETH sent there is burnt", flag)
	}
	return to, nil
}

// recipientWarnings warns, in the summary, about a recipient typed without an EIP-55
// checksum: nothing caught a typo in it, so the operator compares it with its source.
func recipientWarnings(flag, typed string) []string {
	if typed == "" || !units.Unchecksummed(typed) {
		return nil
	}
	return []string{fmt.Sprintf("%s %s is all one case, so it carries no checksum and a typo in it would not have been caught: compare it character by character with its source (checksummed: %s)",
		flag, typed, common.HexToAddress(typed).Hex())}
}

// validate parses the recipient and the amount before anything is read.
func (opts *FundOptions) validate() (common.Address, *big.Int, error) {
	to, err := parseRecipient("--to", opts.To)
	if err != nil {
		return to, nil, err
	}
	if opts.Amount == "" {
		return to, nil, errs.Usagef("--amount is required (e.g. 0.5ether, 500gwei, 1000wei)")
	}
	amount, err := units.ParseAmount(opts.Amount)
	if err != nil {
		return to, nil, errs.Usagef("--amount").Wrap(err).WithFix(errs.FixOf(err))
	}
	if amount.Sign() == 0 {
		return to, nil, errs.Usagef("--amount %s is zero (expected a positive amount)", redact.Quote(opts.Amount))
	}
	return to, amount, nil
}

func fundRun(ctx context.Context, opts *FundOptions) error {
	to, amount, err := opts.validate()
	if err != nil {
		return err
	}
	flow, cfg, err := opts.Flow(ctx, "wallet fund", opts.Send)
	if err != nil {
		return err
	}
	flow.DryRun, flow.Yes = opts.DryRun, opts.Yes
	var limit *big.Int
	if l, ok := cfg.Decimal("funding_limit_eth"); ok {
		limit = units.EtherToWei(l)
	}
	res, rcpt, err := flow.Fund(ctx, txflow.FundRequest{To: to, Amount: amount, Fees: cmdutil.FeePolicy(cfg), Limit: limit, Force: opts.Force,
		Warnings: recipientWarnings("--to", opts.To)})
	if errors.Is(err, txflow.ErrAboveFundingLimit) {
		return errs.WithFix(err, "check the amount; to send it anyway, add --force (you will still confirm)")
	}
	if err != nil {
		return err
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(FundJSON{Amount: units.FormatEther(amount), Result: res})
	}
	printOutcome(opts.IO, res, rcpt)
	return nil
}

func printOutcome(io *ui.IO, res *txflow.Result, rcpt *chain.Receipt) {
	if rcpt == nil {
		fmt.Fprintf(io.Out, "%s (dry run, not sent)\n", res.TxHash)
		return
	}
	r := res.Receipt
	fee, _ := new(big.Int).SetString(r.TotalFeeWei, 10)
	fmt.Fprintf(io.Out, "%s mined in block %d: %s, gas used %d, fee %s ETH\n", res.TxHash, r.Block, r.Status, r.GasUsed, units.FormatEther(fee))
}
