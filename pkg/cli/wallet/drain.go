package wallet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
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
type DrainJSON struct {
	*txflow.Result
	KeepWei             string         `json:"keepWei"`
	ExpectedLeftoverWei string         `json:"expectedLeftoverWei"`
	ActualLeftoverWei   string         `json:"actualLeftoverWei,omitempty"`
	SecondSweep         *txflow.Result `json:"secondSweep,omitempty"`
}

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
	if !opts.Force {
		if err := waitNoPending(ctx, opts.IO, flow.Chain, from); err != nil {
			return err
		}
	}
	bal, err := flow.Chain.BalanceAt(ctx, from, chain.Latest)
	if err != nil {
		return err
	}
	if keep.Cmp(bal) > 0 {
		return errs.Usagef("--keep %s ETH is more than the balance of %s (%s ETH)", units.FormatEther(keep), from.Hex(), units.FormatEther(bal))
	}
	req := chain.TxRequest{To: to, Fees: cmdutil.FeePolicy(cfg), Sweep: true, Keep: keep}
	call := txflow.Call{Action: "drain", Args: []txflow.Arg{{Name: "to", Value: to.Hex()}, {Name: "keep", Value: units.FormatEther(keep) + " ETH"}},
		Warnings: recipientWarnings("--to", opts.To)}
	res, rcpt, err := flow.Execute(ctx, req, call)
	if err != nil {
		return err
	}
	out := DrainJSON{Result: res, KeepWei: keep.String()}
	// On OP-stack chains the reserved L1-fee bound minus the fee quoted now also stays.
	expected := new(big.Int).Set(keep)
	if res.L1FeeBoundWei != "" {
		bound, _ := new(big.Int).SetString(res.L1FeeBoundWei, 10)
		quoted, _ := new(big.Int).SetString(res.L1FeeWei, 10)
		expected.Add(expected, bound).Sub(expected, quoted)
	}
	out.ExpectedLeftoverWei = expected.String()
	if rcpt != nil {
		left, err := flow.Chain.BalanceAt(ctx, from, chain.BlockNumber(uint64(rcpt.BlockNumber)))
		if err != nil {
			return err
		}
		out.ActualLeftoverWei = left.String()
		if opts.Sweep && left.Cmp(keep) > 0 {
			second, _, err := flow.Execute(ctx, req, txflow.Call{Action: "drain (second sweep)", Args: call.Args})
			switch {
			case errors.Is(err, chain.ErrNothingToSend):
				opts.IO.Warnf("second sweep skipped: the %s wei left do not cover its own fees", new(big.Int).Sub(left, keep))
			case err != nil:
				return err
			default:
				out.SecondSweep = second
				if left, err = flow.Chain.BalanceAt(ctx, from, chain.Latest); err == nil {
					out.ActualLeftoverWei = left.String()
				}
			}
		}
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	printOutcome(opts.IO, res, rcpt)
	if rcpt != nil {
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

// waitNoPending waits until the account's pending nonce equals its mined nonce.
func waitNoPending(ctx context.Context, io *ui.IO, c *chain.Client, a common.Address) error {
	announced := false
	for {
		b := c.NewBatch()
		latest := b.Nonce(a, chain.Latest)
		pending := b.Nonce(a, chain.Pending)
		if err := b.Do(ctx); err != nil {
			return err
		}
		if latest.Err() == nil && pending.Err() == nil && pending.Value <= latest.Value {
			return nil
		}
		if !announced {
			io.Warnf("%s has %d pending transaction(s); waiting for them to be mined (--force skips this)", a.Hex(), pending.Value-latest.Value)
			announced = true
		}
		select {
		case <-ctx.Done():
			return errs.Timeoutf("%s still has pending transactions", a.Hex()).
				WithFix("follow them with `vrwxctl wallet nonce`; replace a stuck one with `vrwxctl tx speedup`, or drain with --force")
		case <-time.After(time.Second):
		}
	}
}
