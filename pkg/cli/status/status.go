// Package status implements `vrwxctl status`: the relayer, read in one batched round
// trip and judged against the runbook's thresholds, with the fix beside every
// warning.
package status

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// Options are the inputs of status.
type Options struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Chain   func() (*chain.Client, error)
	Resolve func(ctx context.Context, address, signerRef string) (cmdutil.Account, error)
	// Retired tells whether the account is a key a rotation retired (nil: never).
	Retired func(ctx context.Context, acct cmdutil.Account) *doctor.Retired
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time

	Address string
	Signer  string
}

// NewCmdStatus returns `vrwxctl status`.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Chain: f.Chain, Resolve: f.ResolveAccount, Retired: f.RetiredRelayer, Context: f.Context, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Check the relayer against the runbook's thresholds",
		Long: `Read the relayer's balance, nonces, the gas price and the chain head in one
batched round trip and judge each against the runbook's thresholds
(balance warning < 0.2 ETH, critical < 0.05 ETH; gas warning > 50 gwei,
critical > 100 gwei — all configurable per profile).

The relayer is --address, else the account of --signer, else the profile's signer
(its store's CURRENT key, so after a rotation the new one), else the profile's
relayer address. An address that a rotation retired (a previous version in the
signer's store) is reported as retired, never suggested for funding.

Exit codes: 0 all ok, 5 warnings only, 1 something critical.`,
		Example: `  vrwxctl status --profile base-mainnet
  vrwxctl status --signer aws-sm://vrwx/prod/relayer-key -o json
  vrwxctl status --address 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := opts.Context(cmd.Context())
			defer cancel()
			if runF != nil {
				return runF(ctx, opts)
			}
			return run(ctx, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Address, "address", "", "relayer address to check")
	cmd.Flags().StringVar(&opts.Signer, "signer", "", "signer reference of the relayer (only its address is read)")
	return cmd
}

// JSON is the -o json shape of status.
type JSON struct {
	Profile string         `json:"profile"`
	ChainID uint64         `json:"chainId"`
	RPC     string         `json:"rpc"`
	Relayer string         `json:"relayer"`
	Level   doctor.Level   `json:"level"`
	Checks  []doctor.Check `json:"checks"`
}

func run(ctx context.Context, opts *Options) error {
	if err := cmdutil.OneAccount(opts.Address, opts.Signer); err != nil {
		return err
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	acct, err := opts.Resolve(ctx, opts.Address, opts.Signer)
	if err != nil {
		return err
	}
	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()

	b := c.NewBatch()
	bal := b.Balance(acct.Address, chain.Latest)
	latest := b.Nonce(acct.Address, chain.Latest)
	pending := b.Nonce(acct.Address, chain.Pending)
	gas := b.GasPrice()
	head := b.Header(chain.Latest)
	if err := b.Do(ctx); err != nil {
		return err
	}
	for name, e := range map[string]error{"balance": bal.Err(), "nonce": latest.Err(), "pending nonce": pending.Err(), "gas price": gas.Err(), "head": head.Err()} {
		if e != nil {
			return errs.Failedf("reading the relayer's %s from %s", name, chain.RedactURL(c.URL())).Wrap(e)
		}
	}
	if head.Value == nil {
		return errs.Failedf("RPC %s returned no latest block", chain.RedactURL(c.URL()))
	}
	r := doctor.RelayerReadings{
		Address: acct.Address, Balance: bal.Value.ToInt(),
		NonceLatest: uint64(latest.Value), NoncePending: uint64(pending.Value),
		GasPrice: gas.Value.ToInt(), HeadNumber: uint64(head.Value.Number),
		HeadTime: time.Unix(int64(head.Value.Time), 0), Now: opts.Now(), SignerRef: acct.SignerRef,
	}
	if head.Value.BaseFee != nil {
		r.BaseFee = head.Value.BaseFee.ToInt()
	}
	if opts.Retired != nil {
		r.Retired = opts.Retired(ctx, acct)
	}
	checks := doctor.RelayerChecks(r, cmdutil.RelayerThresholds(cfg))
	level := doctor.Worst(checks)
	if opts.IO.JSONOutput() {
		if err := opts.IO.WriteJSON(JSON{Profile: cfg.Profile, ChainID: c.ChainID(), RPC: chain.RedactURL(c.URL()), Relayer: acct.Address.Hex(), Level: level, Checks: checks}); err != nil {
			return err
		}
	} else {
		render(opts.IO, cfg.Profile, c, acct, checks, level)
	}
	if k := doctor.ExitKind(level); k != errs.OK {
		return errs.Exit(k)
	}
	return nil
}

func render(io *ui.IO, profile string, c *chain.Client, acct cmdutil.Account, checks []doctor.Check, level doctor.Level) {
	s := io.Styles()
	fmt.Fprintf(io.Out, "%s %s  %s\n", s.Bold.Render("RELAYER"), acct.Address.Hex(),
		s.Faint.Render(fmt.Sprintf("profile %s · chain %d · %s · from %s", profile, c.ChainID(), chain.RedactURL(c.URL()), acct.From)))
	io.RenderChecks(checks)
	switch level {
	case doctor.Crit:
		fmt.Fprintln(io.Out, s.Crit.Render("CRITICAL")+": act on the red lines above")
	case doctor.Warn:
		fmt.Fprintln(io.Out, s.Warn.Render("WARNINGS")+": see the fixes above")
	default:
		fmt.Fprintln(io.Out, s.OK.Render("OK"))
	}
}
