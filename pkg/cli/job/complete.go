package job

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/completion"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// CompleteOptions are the inputs of job complete.
type CompleteOptions struct {
	IO       *ui.IO
	Flow     func(ctx context.Context, command string, so cmdutil.SendOptions) (*txflow.Flow, *config.Config, error)
	Profiles func() ([]config.ProfileInfo, error)
	Context  func(context.Context) (context.Context, context.CancelFunc)
	Now      func() time.Time
	DryRun   bool
	Yes      bool

	Claim cmdutil.CompletionFlags
	Send  cmdutil.SendOptions
}

// CompleteJSON is the -o json shape of job complete.
type CompleteJSON = completion.Result

// NewCmdComplete returns `job complete`.
func NewCmdComplete(f *cmdutil.Factory, runF func(context.Context, *CompleteOptions) error) *cobra.Command {
	opts := &CompleteOptions{IO: f.IO, Flow: f.Flow, Profiles: f.Profiles, Context: f.Context, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "complete ID --completion-hash H --quality Q --work-units W --sig SIG --signer REF",
		Short: "Submit a completion by hand (submitCompletionV2) after a full preflight",
		Long: `The runbook's "Manual Transaction Submission", with the checks the escrow and the API
make run first, in one round trip: the job exists, is FUNDED, its deadline has not
passed (time left shown), the claim key is unused, the robot is registered and active,
and the signature recovers to its controller. Any failed check stops here, names the
check and gives the fix — nothing is sent. Then the transaction is simulated, shown,
confirmed (--yes), sent, and its receipt and the job's new status are printed.

--signer is the account that pays the gas (the relayer); the signature is the
robot controller's, as the API received it.`,
		Example: `  # Relay a completion the API could not (a TX_FAIL in the DLQ)
  vrwxctl job complete 42 \
    --completion-hash 0x9c1f0e7a3b5d4c2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e \
    --quality 100 --work-units 12 --sig 0x… \
    --signer aws-sm://vrwx/prod/relayer-key --reason INC-77`,
		Args: cmdutil.ExactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Claim.Job = args[0]
			opts.DryRun, opts.Yes = f.Globals.DryRun, f.Globals.Yes
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, completeRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Claim.CompletionHash, "completion-hash", "", "completion (manifest) hash, 0x + 64 hex (required)")
	fl.StringVar(&opts.Claim.Quality, "quality", "", "quality score, 0..255 (required)")
	fl.StringVar(&opts.Claim.WorkUnits, "work-units", "", "work units, 0..4294967295 (required)")
	fl.StringVar(&opts.Claim.Sig, "sig", "", "the controller's 65-byte signature, 0x + 130 hex (required)")
	cmdutil.AddSendFlags(fl, &opts.Send, "signer reference of the account that sends and pays gas (required)")
	cmdutil.HoldsHash(cmd, "completion-hash", "sig")
	return cmd
}

// validate checks the claim and that a sender is named, before anything is read.
func (opts *CompleteOptions) validate() (completion.Claim, error) {
	claim, err := cmdutil.ParseCompletion(opts.Claim)
	if err != nil {
		return claim, err
	}
	if opts.Send.Signer == "" {
		return claim, errs.Usagef("--signer is required: the account that sends the transaction and pays its gas")
	}
	return claim, nil
}

func completeRun(ctx context.Context, opts *CompleteOptions) error {
	claim, err := opts.validate()
	if err != nil {
		return err
	}
	flow, cfg, err := opts.Flow(ctx, "job complete", opts.Send)
	if err != nil {
		return err
	}
	flow.DryRun, flow.Yes = opts.DryRun, opts.Yes
	k, err := cmdutil.CompletionChecker(opts.IO, cfg, opts.Profiles, opts.Now)
	if err != nil {
		return err
	}
	out, err := completion.Submit(ctx, flow, k, cmdutil.FeePolicy(cfg), claim)
	if err != nil {
		return err
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	res := out.Tx
	if res.Receipt == nil {
		fmt.Fprintf(opts.IO.Out, "%s (dry run, not sent)\n", res.TxHash)
		return nil
	}
	fee, _ := new(big.Int).SetString(res.Receipt.TotalFeeWei, 10)
	fmt.Fprintf(opts.IO.Out, "%s mined in block %d, gas used %d, fee %s ETH\njob %s is now %s\n", res.TxHash, res.Receipt.Block, res.Receipt.GasUsed, units.FormatEther(fee), out.Preflight.Claim.JobID, out.JobStatus)
	return nil
}
