package wallet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// DrainOptions are the inputs of wallet drain.
type DrainOptions struct {
	IO      *ui.IO
	Flow    func(ctx context.Context, command string, so cmdutil.SendOptions) (*txflow.Flow, *config.Config, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	DryRun  bool
	Yes     bool

	To               string
	Keep             string
	Force            bool
	AllowNonTreasury bool
	Sweep            bool
	Send             cmdutil.SendOptions
}

// NewCmdDrain returns `wallet drain`.
func NewCmdDrain(f *cmdutil.Factory, runF func(context.Context, *DrainOptions) error) *cobra.Command {
	opts := &DrainOptions{IO: f.IO, Context: f.Context, Flow: f.Flow}
	cmd := &cobra.Command{
		Use:   "drain --signer REF [--to ADDRESS] [--keep AMOUNT]",
		Short: "Send an old relayer's whole balance to the treasury (runbook step 7), leaving exactly 0",
		Long: `Send everything the account behind --signer holds, minus gas, to --to (default: the
profile's treasury), so it ends at exactly 0 wei — or exactly --keep.

The runbook's "--value $(cast balance …)" always fails: it leaves nothing for gas. drain
prices the transaction first: the gas limit is the estimate itself and the price per gas
is fixed (priority fee = fee cap), so on an L1 chain the leftover is exact to the wei.
On OP-stack chains (Base) the L1 data fee is only fixed at inclusion: drain reserves the
oracle's upper bound (getL1FeeUpperBound) plus any operator fee, reports the expected and
the actual leftover, and --sweep sends what is left in a second transaction.

drain first waits until the account has no pending transactions (--force skips this).
When the profile names a treasury, another --to is refused unless --allow-non-treasury
is given (on a terminal you then type the address again).`,
		Example: `  # Runbook step 7: drain the old relayer into the treasury; after a promote the old key
  # is the store's previous version (key rotate does all seven steps)
  vrwxctl wallet drain --signer 'aws-sm://vrwx/prod/relayer-key?stage=previous' --yes --reason "rotation CHG-1234"

  # Keep 0.01 ETH behind
  vrwxctl wallet drain --signer env://OLD_RELAYER_KEY --to 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --keep 0.01ether`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DryRun, opts.Yes = f.Globals.DryRun, f.Globals.Yes
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, drainRun)
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "destination (default: the profile's treasury)")
	cmd.Flags().StringVar(&opts.Keep, "keep", "0", "amount to leave behind, e.g. 0.01ether")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "do not wait for pending transactions to clear")
	cmd.Flags().BoolVar(&opts.AllowNonTreasury, "allow-non-treasury", false, "allow a --to other than the profile's treasury")
	cmd.Flags().BoolVar(&opts.Sweep, "sweep", false, "on OP-stack chains, send what the L1-fee reserve left behind in a second transaction")
	cmdutil.AddSendFlags(cmd.Flags(), &opts.Send, "signer reference of the account to drain (required; REF?stage=previous or REF?version=ID names a retired key)")
	return cmd
}

// DrainJSON is the -o json shape of wallet drain.
type DrainJSON = txflow.Drained

func drainRun(ctx context.Context, opts *DrainOptions) error {
	keep, err := units.ParseAmount(opts.Keep)
	if err != nil {
		return errs.Usagef("--keep").Wrap(err).WithFix(errs.FixOf(err))
	}
	flow, cfg, err := opts.Flow(ctx, "wallet drain", opts.Send)
	if err != nil {
		return err
	}
	flow.DryRun, flow.Yes = opts.DryRun, opts.Yes
	to, err := destination(opts, cfg)
	if err != nil {
		return err
	}
	from := flow.Signer.Address()
	if to == from {
		return errs.Usagef("--to %s is the account being drained", to.Hex())
	}
	out, err := flow.Drain(ctx, txflow.DrainRequest{To: to, Keep: keep, Fees: cmdutil.FeePolicy(cfg), Settle: !opts.Force, SettleHint: "--force skips this",
		SecondSweep: opts.Sweep, Warnings: recipientWarnings("--to", opts.To)})
	switch {
	case errors.Is(err, txflow.ErrKeepAboveBalance):
		return errs.Usagef("--keep").Wrap(err)
	case errors.Is(err, txflow.ErrStillPending):
		return errs.WithFix(err, "follow them with `vrwxctl wallet nonce`; replace a stuck one with `vrwxctl tx speedup`, or drain with --force")
	case err != nil:
		return err
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	printOutcome(opts.IO, out.Result, out.Mined)
	if out.Mined != nil {
		left, _ := new(big.Int).SetString(out.ActualLeftoverWei, 10)
		fmt.Fprintf(opts.IO.Out, "left on %s: %s wei (%s ETH); expected %s wei\n", from.Hex(), left, units.FormatEther(left), out.ExpectedLeftoverWei)
	}
	return nil
}

// destination applies the treasury rule: with a treasury configured, only it, unless
// --allow-non-treasury (and, on a terminal, the address typed again).
func destination(opts *DrainOptions, cfg *config.Config) (common.Address, error) {
	treasury, hasTreasury := cfg.Address("treasury")
	if opts.To == "" {
		if !hasTreasury {
			return common.Address{}, errs.Usagef("--to is required: profile %q names no treasury", cfg.Profile).
				WithFix("pass --to ADDRESS, or set treasury in the profile")
		}
		return units.ParseAddress(treasury)
	}
	to, err := parseRecipient("--to", opts.To)
	if err != nil {
		return common.Address{}, err
	}
	if !hasTreasury {
		return to, nil
	}
	t, err := units.ParseAddress(treasury)
	if err != nil {
		return common.Address{}, err
	}
	if to == t {
		return to, nil
	}
	if !opts.AllowNonTreasury {
		return common.Address{}, errs.Refusedf("--to %s is not the profile's treasury %s", to.Hex(), t.Hex()).
			WithFix("drain to the treasury (omit --to), or add --allow-non-treasury if this is intended")
	}
	if opts.IO.InTTY {
		fmt.Fprintf(opts.IO.ErrOut, "%s is not the treasury. Type the destination address again to confirm: ", to.Hex())
		opts.IO.Flush()
		line, _ := bufio.NewReader(opts.IO.In).ReadString('\n')
		if !strings.EqualFold(strings.TrimSpace(line), to.Hex()) {
			return common.Address{}, errs.Refusedf("the address typed does not match --to")
		}
	}
	return to, nil
}
