package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/completion"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// SignatureOptions are the inputs of doctor signature.
type SignatureOptions struct {
	IO       *ui.IO
	Config   func() (*config.Config, error)
	Chain    func() (*chain.Client, error)
	Context  func(context.Context) (context.Context, context.CancelFunc)
	Now      func() time.Time
	Profiles func() ([]config.ProfileInfo, error)

	Robot string
	Claim cmdutil.CompletionFlags
}

// NewCmdSignature returns `doctor signature`.
func NewCmdSignature(f *cmdutil.Factory, runF func(context.Context, *SignatureOptions) error) *cobra.Command {
	opts := &SignatureOptions{IO: f.IO, Config: f.Config, Chain: f.Chain, Context: f.Context, Now: f.Now, Profiles: f.Profiles}
	cmd := &cobra.Command{
		Use:   "signature ROBOT [--job ID --completion-hash H --quality Q --work-units W --sig SIG]",
		Short: "Investigate signature verification failures: registration, active, controller, and a claim's signature",
		Long: `The runbook's "Signature Verification Failures" investigation in one command.
ROBOT is the robot id (0x + 64 hex) or the API's tenantId:robotName.

It reads the robot's registration (getController), whether it is active
(isActive) and its controller, and — when a claim is given (all of --job,
--completion-hash, --quality, --work-units and --sig, e.g. from a TX_FAIL DLQ
row: vrwxctl dlq show ID) — the completion workflow's diagnosis of the claim, the
same as robot verify-sig: the EIP-712 claim rebuilt from the chain, who signed it,
for which chain and escrow, and whether the job could take it now.

It ends with the runbook's causes ranked: robot not registered · robot
deactivated · wrong controller signing · signature for wrong chain (and
malformed signatures, a job of another robot, a claim the escrow would refuse).

Exit codes: 0 nothing wrong found, 1 a cause was found, 2 bad input.`,
		Example: `  vrwxctl doctor signature 0x8f3c…(64 hex)
  vrwxctl doctor signature tnt_1a2b3c4d:unit-01
  vrwxctl doctor signature tnt_1a2b3c4d:unit-01 --job 42 --completion-hash 0x9c1f… --quality 100 --work-units 12 --sig 0x…`,
		Args: cmdutil.ExactArgs(1, "ROBOT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Robot = args[0]
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, signatureRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Claim.Job, "job", "", "job id of the claim")
	fl.StringVar(&opts.Claim.CompletionHash, "completion-hash", "", "completion (manifest) hash of the claim, 0x + 64 hex")
	fl.StringVar(&opts.Claim.Quality, "quality", "", "quality score of the claim, 0..255")
	fl.StringVar(&opts.Claim.WorkUnits, "work-units", "", "work units of the claim")
	fl.StringVar(&opts.Claim.Sig, "sig", "", "the controller's 65-byte signature, 0x + 130 hex")
	cmdutil.HoldsHash(cmd, "completion-hash", "sig")
	cmdutil.ArgsHoldHashes(cmd) // ROBOT: a robot id is a hash
	return cmd
}

// SignatureJSON is the -o json shape of doctor signature.
type SignatureJSON struct {
	ChainID    uint64              `json:"chainId"`
	RobotID    string              `json:"robotId"`
	Name       string              `json:"name,omitempty"`
	Registry   string              `json:"registry"`
	Registered bool                `json:"registered"`
	Active     bool                `json:"active"`
	Controller string              `json:"controller"`
	Level      doctor.Level        `json:"level"`
	Checks     []doctor.Check      `json:"checks"`
	Verdict    *completion.Verdict `json:"verdict,omitempty"`
	Causes     []RankedCause       `json:"causes"`
	RuledOut   []doctor.Cause      `json:"ruledOut"`
}

func (o *SignatureOptions) validate() (common.Hash, string, *completion.Claim, error) {
	var id common.Hash
	name := ""
	if tenant, robot, ok := strings.Cut(o.Robot, ":"); ok {
		if tenant == "" || robot == "" {
			return id, "", nil, errs.Usagef("ROBOT %s is not tenantId:robotName (expected e.g. tnt_1a2b3c4d:unit-01, or a robot id 0x + 64 hex)", redact.Quote(o.Robot))
		}
		id, name = vrwx.RobotIDFromName(o.Robot), o.Robot
	} else {
		var err error
		if id, err = cmdutil.ParseBytes32("ROBOT", o.Robot); err != nil {
			return id, "", nil, err
		}
	}
	fl := o.Claim
	given := 0
	for _, v := range []string{fl.Job, fl.CompletionHash, fl.Quality, fl.WorkUnits, fl.Sig} {
		if v != "" {
			given++
		}
	}
	if given == 0 {
		return id, name, nil, nil
	}
	if given < 5 {
		return id, name, nil, errs.Usagef("a claim needs all of --job, --completion-hash, --quality, --work-units and --sig (got %d of 5)", given).
			WithFix("the TX_FAIL DLQ row holds them: vrwxctl dlq show ID")
	}
	c, err := cmdutil.ParseCompletion(fl)
	if err != nil {
		return id, name, nil, err
	}
	return id, name, &c, nil
}

func signatureRun(ctx context.Context, opts *SignatureOptions) error {
	id, name, claim, err := opts.validate()
	if err != nil {
		return err
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	registry, _, err := cmdutil.OptionalAddress(cfg, "identity")
	if err != nil {
		return err
	}
	escrow, hasEscrow, err := cmdutil.OptionalAddress(cfg, "escrow")
	if err != nil {
		return err
	}
	if registry == (common.Address{}) && !hasEscrow {
		return errs.Usagef("profile %q has no IdentityRegistry address (and no escrow to ask for it)", cfg.Profile).
			WithFix("set IDENTITY_REGISTRY_ADDRESS, or `identity` in the profile of the config file")
	}
	var k completion.Checker
	if claim != nil {
		if k, err = cmdutil.CompletionChecker(opts.IO, cfg, opts.Profiles, opts.Now); err != nil {
			return err
		}
	}
	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()

	// The robot and the claim are read at the same time.
	var robot *vrwx.RobotReading
	var verdict *completion.Verdict
	var robotErr, claimErr error
	var wg sync.WaitGroup
	wg.Go(func() { robot, robotErr = vrwx.ReadRobot(ctx, c, escrow, registry, id) })
	if claim != nil {
		k.Chain, k.CrossCheckDigest = c, true
		wg.Go(func() { verdict, claimErr = k.Check(ctx, *claim) })
	}
	wg.Wait()
	if errors.Is(robotErr, vrwx.ErrNoRegistry) {
		return errs.Failedf("the escrow's identity() is unreadable and no IdentityRegistry is configured").
			WithFix("set IDENTITY_REGISTRY_ADDRESS, or check the escrow (vrwxctl contracts check)")
	}
	if robotErr != nil {
		return robotErr
	}
	if claimErr != nil {
		return claimErr
	}
	rep := doctor.JudgeSignature(id, robot, verdict)
	level := doctor.Worst(rep.Checks)
	out := SignatureJSON{ChainID: c.ChainID(), RobotID: id.Hex(), Name: name, Registry: rep.Registry.Hex(), Registered: rep.Registered,
		Active: rep.Active, Controller: rep.Controller.Hex(), Level: level, Checks: rep.Checks, Verdict: verdict}
	out.Causes, out.RuledOut = ranked(rep.Causes, rep.RuledOut)
	return report(opts.IO, level, out, func() { renderSignature(opts.IO, out) })
}

func renderSignature(io *ui.IO, out SignatureJSON) {
	s := io.Styles()
	who := out.RobotID
	if out.Name != "" {
		who = out.Name + " (" + out.RobotID + ")"
	}
	io.Heading(s.Bold.Render("DOCTOR signature")+" "+who, fmt.Sprintf("chain %d · registry %s", out.ChainID, out.Registry))
	io.RenderSections(out.Checks)
	if len(out.Causes) == 0 {
		fmt.Fprintln(io.Out, s.OK.Render("NO CAUSE FOUND")+": the robot is registered and active"+map[bool]string{true: ", and the claim would be accepted", false: "; pass the failing claim (--job … --sig …) to check its signature"}[out.Verdict != nil])
	} else {
		fmt.Fprintln(io.Out, s.Bold.Render("LIKELY CAUSES")+" (most likely first)")
		for _, c := range out.Causes {
			fmt.Fprintf(io.Out, "  %d. %s %s\n", c.Rank, s.Crit.Render("✗"), s.Bold.Render(c.Name))
			for _, e := range c.Evidence {
				fmt.Fprintf(io.Out, "       %s\n", e)
			}
			if c.Fix != "" {
				fmt.Fprintf(io.Out, "       %s %s\n", s.Bold.Render("fix:"), c.Fix)
			}
		}
	}
	if len(out.RuledOut) > 0 {
		var parts []string
		for _, c := range out.RuledOut {
			parts = append(parts, c.Name+" ("+strings.Join(c.Evidence, "; ")+")")
		}
		fmt.Fprintln(io.Out, s.Faint.Render("ruled out: "+strings.Join(parts, ", ")))
	}
}
