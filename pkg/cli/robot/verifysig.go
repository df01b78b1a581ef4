package robot

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/completion"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// VerifySigOptions are the inputs of robot verify-sig.
type VerifySigOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Chain   func() (*chain.Client, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time
	// Profiles are read for the other profiles' escrows, tried when the signer is not
	// the controller.
	Profiles func() ([]config.ProfileInfo, error)

	Claim cmdutil.CompletionFlags
}

// NewCmdVerifySig returns `robot verify-sig`.
func NewCmdVerifySig(f *cmdutil.Factory, runF func(context.Context, *VerifySigOptions) error) *cobra.Command {
	opts := &VerifySigOptions{IO: f.IO, Config: f.Config, Chain: f.Chain, Context: f.Context, Now: f.Now, Profiles: f.Profiles}
	cmd := &cobra.Command{
		Use:   "verify-sig --job ID --completion-hash H --quality Q --work-units W --sig SIG",
		Short: "Check a completion signature against the chain and say why it fails",
		Long: `Rebuild the EIP-712 CompletionClaimV2 from the chain (the job's spec hash, robot and
deadline, the registry's controller), recover who signed it, and compare with the
registry. When it would not pass, every reason is listed with the runbook's fix:

  robot not registered · robot deactivated · signer is X but the controller is Y ·
  signed for another chain id (tries the profile's, 1, 8453, 84532, 31337) or
  another escrow (the other profiles') · malformed or high-s signature ·
  claim already used · job not FUNDED or past its deadline

The claim's digest is also checked against the escrow's own hashTypedDataV4.

Exit codes: 0 the completion would be accepted (and relayed), 1 it would not,
2 bad input.`,
		Example: `  # A TX_FAIL from the DLQ: would this completion go through?
  vrwxctl robot verify-sig --job 42 \
    --completion-hash 0x9c1f0e7a3b5d4c2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e \
    --quality 100 --work-units 12 \
    --sig 0x…130 hex characters…

  # As JSON: .valid, .signer, .controller, .checks[]
  vrwxctl robot verify-sig --job 42 --completion-hash 0x… --quality 100 --work-units 12 --sig 0x… -o json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, verifyRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Claim.Job, "job", "", "job id (required)")
	fl.StringVar(&opts.Claim.CompletionHash, "completion-hash", "", "completion (manifest) hash, 0x + 64 hex (required)")
	fl.StringVar(&opts.Claim.Quality, "quality", "", "quality score, 0..255 (required)")
	fl.StringVar(&opts.Claim.WorkUnits, "work-units", "", "work units, 0..4294967295 (required)")
	fl.StringVar(&opts.Claim.Sig, "sig", "", "the controller's 65-byte signature, 0x + 130 hex (required)")
	cmdutil.HoldsHash(cmd, "completion-hash", "sig")
	return cmd
}

// VerifySigJSON is the -o json shape of robot verify-sig.
type VerifySigJSON = completion.Verdict

func verifyRun(ctx context.Context, opts *VerifySigOptions) error {
	claim, err := cmdutil.ParseCompletion(opts.Claim)
	if err != nil {
		return err
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	k, err := cmdutil.CompletionChecker(opts.IO, cfg, opts.Profiles, opts.Now)
	if err != nil {
		return err
	}
	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()
	k.Chain, k.CrossCheckDigest = c, true
	out, err := k.Check(ctx, claim)
	if err != nil {
		return err
	}
	if opts.IO.JSONOutput() {
		if err := opts.IO.WriteJSON(out); err != nil {
			return err
		}
	} else {
		out.Render(opts.IO)
	}
	if !out.Valid {
		return errs.Exit(errs.Failed)
	}
	return nil
}
