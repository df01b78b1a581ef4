package tx

import (
	"context"
	"fmt"
	"math"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// ReplaceOptions are the inputs of tx speedup and tx cancel.
type ReplaceOptions struct {
	IO      *ui.IO
	Flow    func(ctx context.Context, command string, so cmdutil.SendOptions) (*txflow.Flow, *config.Config, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	DryRun  bool
	Yes     bool

	// Verb is speedup or cancel.
	Verb  string
	Nonce string
	Hash  string
	Send  cmdutil.SendOptions
}

// ReplaceJSON is the -o json shape of tx speedup / cancel.
type ReplaceJSON = txflow.Replaced

// NewCmdReplace returns `tx speedup` or `tx cancel`.
func NewCmdReplace(f *cmdutil.Factory, verb string, runF func(context.Context, *ReplaceOptions) error) *cobra.Command {
	opts := &ReplaceOptions{IO: f.IO, Flow: f.Flow, Context: f.Context, Verb: verb}
	short := "Resend a stuck transaction with fees raised by 12.5% (same nonce, same call)"
	long := `Replace the signer's pending transaction at --nonce with the same transaction and both
fees raised by at least 12.5% (the node's replacement minimum is 10%), capped by
MAX_FEE_PER_GAS_GWEI. The pending transaction is found in the node's txpool; pass
--hash when the node does not expose its pool.`
	example := `  # The relayer's nonce 42 is stuck because gas prices rose
  vrwxctl tx speedup --nonce 42 --signer aws-sm://vrwx/prod/relayer-key --yes`
	if verb == "cancel" {
		short = "Cancel a stuck transaction: a zero-value self-transfer at its nonce with raised fees"
		long = `Replace the signer's pending transaction at --nonce with a zero-value transfer to
itself, fees raised by at least 12.5% over the stuck one, so the nonce is used up and
the original can never be mined.`
		example = `  vrwxctl tx cancel --nonce 42 --signer aws-sm://vrwx/prod/relayer-key --yes`
	}
	cmd := &cobra.Command{
		Use:     verb + " --nonce N --signer REF",
		Short:   short,
		Long:    long,
		Example: example,
		Args:    cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DryRun, opts.Yes = f.Globals.DryRun, f.Globals.Yes
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, replaceRun)
		},
	}
	cmd.Flags().StringVar(&opts.Nonce, "nonce", "", "nonce of the stuck transaction (required)")
	cmd.Flags().StringVar(&opts.Hash, "hash", "", "hash of the stuck transaction, when the node has no txpool API")
	cmdutil.AddSendFlags(cmd.Flags(), &opts.Send, "signer reference of the account that sent it (required)")
	cmdutil.HoldsHash(cmd, "hash")
	return cmd
}

// validate parses --nonce and --hash before anything is read.
func (opts *ReplaceOptions) validate() (uint64, common.Hash, error) {
	var hash common.Hash
	if opts.Nonce == "" {
		return 0, hash, errs.Usagef("--nonce is required (the nonce of the stuck transaction; `vrwxctl wallet nonce` shows it)")
	}
	nonce, err := cmdutil.ParseUint("--nonce", opts.Nonce, math.MaxUint64)
	if err != nil {
		return 0, hash, err
	}
	if opts.Hash != "" {
		if hash, err = parseHash(opts.Hash); err != nil {
			return 0, hash, err
		}
	}
	return nonce, hash, nil
}

func replaceRun(ctx context.Context, opts *ReplaceOptions) error {
	nonce, hash, err := opts.validate()
	if err != nil {
		return err
	}
	flow, cfg, err := opts.Flow(ctx, "tx "+opts.Verb, opts.Send)
	if err != nil {
		return err
	}
	flow.DryRun, flow.Yes = opts.DryRun, opts.Yes
	out, rcpt, err := flow.Replace(ctx, txflow.ReplaceRequest{Nonce: nonce, Hash: hash, Cancel: opts.Verb == "cancel", Fees: cmdutil.FeePolicy(cfg)})
	if err != nil {
		return err
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	if rcpt == nil {
		fmt.Fprintf(opts.IO.Out, "%s (dry run, not sent)\n", out.TxHash)
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "%s mined in block %d: nonce %d is used; %s can no longer be mined\n", out.TxHash, rcpt.BlockNumber, nonce, out.Replaced)
	return nil
}
