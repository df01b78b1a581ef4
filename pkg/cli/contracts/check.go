// Package contracts implements `vrwxctl contracts check`: the deployment proof the
// protocol's cast script gave — bytecode at every configured address, the escrow's
// wiring, its EIP-712 domain, and whether it can be paused.
package contracts

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// NewCmdContracts returns the `contracts` group.
func NewCmdContracts(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contracts",
		Short: "The profile's deployment: check bytecode, wiring and the EIP-712 domain",
	}
	cmd.AddCommand(NewCmdCheck(f, nil))
	return cmd
}

// CheckOptions are the inputs of contracts check.
type CheckOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Chain   func() (*chain.Client, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
}

// NewCmdCheck returns `contracts check`.
func NewCmdCheck(f *cmdutil.Factory, runF func(context.Context, *CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{IO: f.IO, Config: f.Config, Chain: f.Chain, Context: f.Context}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Prove the configured contracts are the VRWX deployment this profile expects",
		Long: `Check, in one batched round trip, every contract address of the profile:

  bytecode present at the escrow, the IdentityRegistry and the settlement token
  escrow.identity() and escrow.token() equal the configured addresses
  eip712Domain() is name VRWX, version 1, the profile's chain id, the escrow
  the escrow's hashTypedDataV4 equals vrwxctl's EIP-712 digest of a claim
  jobCount() readable; the registry answers getController; token decimals
  paused(): true, false, or "no pause switch" (the deployed escrow has none,
  although the runbook's incident step calls one)

Exit codes: 0 all ok, 5 warnings only, 1 anything wrong.`,
		Example: `  vrwxctl contracts check --profile base-mainnet

  # A candidate escrow before switching the relayer to it
  JOB_ESCROW_ADDRESS=0x7B55CD2614d42E328622E13E2F04c6A4044dCf8B vrwxctl contracts check -o json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, checkRun)
		},
	}
	return cmd
}

// CheckJSON is the -o json shape of contracts check.
type CheckJSON struct {
	Profile  string         `json:"profile"`
	ChainID  uint64         `json:"chainId"`
	RPC      string         `json:"rpc"`
	Escrow   string         `json:"escrow"`
	Identity string         `json:"identity,omitempty"`
	Token    string         `json:"token,omitempty"`
	Level    doctor.Level   `json:"level"`
	Checks   []doctor.Check `json:"checks"`
}

func checkRun(ctx context.Context, opts *CheckOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	ct, err := cmdutil.ContractsOf(cfg)
	if err != nil {
		return err
	}
	escrow, identity, haveIdentity, token, haveToken := ct.Escrow, ct.Identity, ct.HasIdentity, ct.Token, ct.HasToken
	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()

	d := doctor.Deployment{ChainID: c.ChainID(), Escrow: escrow}
	if haveIdentity {
		d.Identity = &identity
	}
	if haveToken {
		d.Token = &token
	}
	r, err := doctor.ReadContracts(ctx, c, d)
	if err != nil {
		return err
	}
	checks := doctor.JudgeContracts(r)
	level := doctor.Worst(checks)
	out := CheckJSON{Profile: cfg.Profile, ChainID: r.ChainID, RPC: chain.RedactURL(c.URL()), Escrow: escrow.Hex(), Level: level, Checks: checks}
	if haveIdentity {
		out.Identity = identity.Hex()
	}
	if haveToken {
		out.Token = token.Hex()
	}
	if opts.IO.JSONOutput() {
		if err := opts.IO.WriteJSON(out); err != nil {
			return err
		}
	} else {
		s := opts.IO.Styles()
		fmt.Fprintf(opts.IO.Out, "%s %s  %s\n", s.Bold.Render("CONTRACTS"), cfg.Profile,
			s.Faint.Render(fmt.Sprintf("chain %d · %s", r.ChainID, chain.RedactURL(c.URL()))))
		opts.IO.RenderChecks(checks)
		switch level {
		case doctor.Crit:
			fmt.Fprintln(opts.IO.Out, s.Crit.Render("WRONG")+": this is not the deployment the profile expects; see the fixes above")
		case doctor.Warn:
			fmt.Fprintln(opts.IO.Out, s.Warn.Render("WARNINGS")+": see the fixes above")
		default:
			fmt.Fprintln(opts.IO.Out, s.OK.Render("OK"))
		}
	}
	if k := doctor.ExitKind(level); k != errs.OK {
		return errs.Exit(k)
	}
	return nil
}
