package key

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/rotation"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// RotateOptions are the inputs of key rotate.
type RotateOptions struct {
	IO         *ui.IO
	Config     func() (*config.Config, error)
	Chain      func() (*chain.Client, error)
	OpenStore  func(ctx context.Context, ref string) (secrets.Store, error)
	OpenSigner func(ctx context.Context, ref string) (txflow.Signer, error)
	StateDir   func() string
	Audit      *audit.Log
	LookupEnv  func(string) (string, bool)
	// Environ is the environment the deploy command starts from (rotation.DeployEnv
	// takes the keys out).
	Environ func() []string
	Now     func() time.Time
	// Timeout is --timeout: it bounds each step's chain work, not the whole
	// rotation, whose waits have WaitTimeout.
	Timeout time.Duration
	DryRun  bool
	Yes     bool

	Store          string
	TreasurySigner string
	Fund           string
	DeployCmd      string
	APIURL         string
	WaitTimeout    time.Duration
	IfOlderThan    string
	Reason         string
	Resume         bool
	Rollback       bool
	DiscardPending bool
	Emergency      bool
}

// NewCmdRotate returns `key rotate`.
func NewCmdRotate(f *cmdutil.Factory, runF func(context.Context, *RotateOptions) error) *cobra.Command {
	opts := &RotateOptions{IO: f.IO, Config: f.Config, Chain: f.Chain, OpenStore: storeOpener(f),
		OpenSigner: func(ctx context.Context, ref string) (txflow.Signer, error) { return f.OpenSigner(ctx, ref) },
		StateDir:   f.StateDir, Audit: f.AuditLog(), LookupEnv: f.LookupEnv, Environ: f.Environ, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "rotate --store REF --treasury-signer REF [--deploy-cmd CMD]",
		Short: "Rotate the relayer key end to end (runbook steps 1–7), resumable after any crash",
		Long: `Rotate the relayer key as the runbook's zero-downtime procedure, as one command that
can be killed anywhere and resumed. It prints the plan — every step, the addresses, the
amount, the secret versions — asks once (--yes in CI), then runs:

  1 generate  a new key with crypto/rand, written into --store as the pending version
              (AWSPENDING; Vault: a new version marked pending; files: PATH.pending).
              Only its address is ever shown.
  2 fund      send --fund (default: the profile's rotation_fund_eth — 0.5 ETH on
              base-mainnet and local, 0.1 on base-sepolia) from --treasury-signer to it
  3 promote   pending → current; the old key becomes the previous version
  4 deploy    run --deploy-cmd (no shell: split like a shell splits words, nothing
              expanded; its output is streamed and its exit status checked) — without
              one, say what to run and wait
  5 verify    wait until the API's /health (--api-url, else the profile's api_url)
              reports the new address
  6 settle    wait until the old address has no pending transactions
  7 drain     send the old wallet's whole balance to the treasury with the exact drain
              (0 wei left; on an OP-stack chain the L1-fee reserve, reported), signed by
              the old key named by its version (REF?version=ID)

Before anything changes it checks what the run needs — /health answers and reports the
current key, the deploy command's program exists, the treasury can pay the funding and
its fees, the store may be written, the old key has nothing stuck — one line each with
its fix; any failure is exit 3 with nothing changed.

The rotation's claim and state live in the store (the new pending version carries the
rotation's identity, claimed atomically: AWSPENDING, Vault check-and-set, a lock file
beside a file key) and on the chain, so it is safe from any machine: a second rotation
of the store — from this machine or another, even started at the same moment — is
refused (exit 3) naming the one in progress, having written and funded nothing.
--resume continues a rotation that stopped, from any machine: without this machine's
journal it is rebuilt from the store's claim, the chain and /health (give
--treasury-signer, --api-url and --deploy-cmd, or the profile's); every step checks what
is already done (the new key written, a funding from the treasury on the chain, which
version is current, /health, the old wallet's balance). A --deploy-cmd given to a resume
runs the deploy step again when /health has not reported the new key. A journal (JSON,
mode 0600, under $XDG_STATE_HOME/vrwxctl/rotations/) is this machine's record: steps,
every deploy command run, transaction hashes — never a key. --rollback, before the
drain, makes the previous key current again. A pending version no rotation claims is
never taken over: it is refused until --discard-pending. Ctrl-C during a wait is exit
130 with the step and how to resume.

--emergency is for a compromised key: generate and promote at once, drain the old
wallet FIRST with raised fees (replacing whatever it has pending, so a stuck or hostile
transaction cannot hold the drain back), then fund the new wallet, restart and verify,
and end with the runbook's follow-ups.

--dry-run prints the plan and its checks and signs and simulates the funding and the
drain, changing nothing; -o json prints the journal. --if-older-than 90d rotates only a key at least
that old (its version's creation time in the store) and otherwise exits 0 with status
"not-due": a scheduled CI job can run weekly and rotate when the key is due.

Key references: ` + secrets.RefForms + `. ` + secrets.VersionForms + ".",
		Example: `  # The 90-day production rotation, as a weekly CI job runs it (docs/rotation.md)
  vrwxctl key rotate --profile base-mainnet --store aws-sm://vrwx/prod/relayer-key \
      --treasury-signer aws-sm://vrwx/prod/treasury-key \
      --deploy-cmd 'kubectl rollout restart deployment/vrwx-api' --if-older-than 90d --yes -o json

  # See the plan and the transactions, change nothing
  vrwxctl key rotate --store vault://secret/vrwx/staging/relayer --treasury-signer env://TREASURY_KEY --dry-run

  # It stopped (killed, /health timed out, the deploy failed): continue, or undo
  vrwxctl key rotate --store aws-sm://vrwx/prod/relayer-key --resume --yes
  vrwxctl key rotate --store aws-sm://vrwx/prod/relayer-key --rollback --yes

  # Continue it from another machine (a fresh CI runner): it has no journal there
  vrwxctl key rotate --store aws-sm://vrwx/prod/relayer-key --resume --treasury-signer aws-sm://vrwx/prod/treasury-key \
      --deploy-cmd 'kubectl rollout restart deployment/vrwx-api' --yes

  # The key leaked
  vrwxctl key rotate --emergency --store aws-sm://vrwx/prod/relayer-key \
      --treasury-signer aws-sm://vrwx/prod/treasury-key --deploy-cmd 'kubectl rollout restart deployment/vrwx-api' --yes`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DryRun, opts.Yes, opts.Timeout = f.Globals.DryRun, f.Globals.Yes, f.Globals.Timeout
			return cmdutil.Run(cmd.Context(), nil, opts, runF, rotateRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Store, "store", "", "the relayer key's store (aws-sm://, vault://, keystore://, file://)")
	fl.StringVar(&opts.TreasurySigner, "treasury-signer", "", "signer reference of the treasury that funds the new key (default: the profile's treasury_signer)")
	fl.StringVar(&opts.Fund, "fund", "", "amount for the new relayer, e.g. 0.5ether (default: the profile's rotation_fund_eth)")
	fl.StringVar(&opts.DeployCmd, "deploy-cmd", "", "command that restarts the API onto the new key, run without a shell, e.g. 'kubectl rollout restart deployment/vrwx-api'")
	fl.StringVar(&opts.APIURL, "api-url", "", "the API whose /health must report the new key (default: the profile's api_url)")
	fl.DurationVar(&opts.WaitTimeout, "wait-timeout", 10*time.Minute, "how long each wait may take: the deploy command, /health, the old address's pending transactions")
	fl.StringVar(&opts.IfOlderThan, "if-older-than", "", "rotate only when the current key is at least this old, e.g. 90d or 720h (for scheduled jobs; a younger key exits 0)")
	fl.StringVar(&opts.Reason, "reason", "", "ticket or reason, recorded in the journal and the audit log")
	fl.BoolVar(&opts.Resume, "resume", false, "continue the rotation in progress where it stopped")
	fl.BoolVar(&opts.Rollback, "rollback", false, "undo the rotation in progress (before its drain): the previous key becomes current again")
	fl.BoolVar(&opts.DiscardPending, "discard-pending", false, "clear a pending version an abandoned rotation left in the store, then rotate")
	fl.BoolVar(&opts.Emergency, "emergency", false, "the key is compromised: promote at once and drain the old wallet first, with raised fees")
	return cmd
}

// rotateInput is what validate makes of the flags.
type rotateInput struct {
	store  secrets.Ref
	fund   *big.Int
	deploy []string
	minAge time.Duration
}

// validate checks the flags before anything is read or opened.
func (opts *RotateOptions) validate() (rotateInput, error) {
	var in rotateInput
	if opts.Store == "" {
		return in, errs.Usagef("--store is required: the relayer key's store, e.g. aws-sm://vrwx/prod/relayer-key (%s)", secrets.RefForms)
	}
	ref, err := secrets.ParseRef(opts.Store)
	if err != nil {
		return in, err
	}
	if ref.Versioned() {
		return in, errs.Usagef("--store %s names one version of the key; key rotate takes the store itself: --store %s", ref.String(), ref.Base().String())
	}
	if !ref.Writable() {
		return in, errs.Usagef("--store %s is read-only; the new key is written into the store (aws-sm://, vault://, keystore:// or file://)", ref.String())
	}
	in.store = ref
	if opts.Resume && opts.Rollback {
		return in, errs.Usagef("--resume and --rollback cannot be combined (continue the rotation, or undo it)")
	}
	if opts.Resume || opts.Rollback {
		flag := "--resume"
		if opts.Rollback {
			flag = "--rollback"
		}
		for name, set := range map[string]bool{"--emergency": opts.Emergency, "--fund": opts.Fund != "", "--discard-pending": opts.DiscardPending} {
			if set {
				return in, errs.Usagef("%s cannot be combined with %s: the rotation in progress keeps what its journal says", name, flag)
			}
		}
	}
	if opts.Fund != "" {
		if in.fund, err = units.ParseAmount(opts.Fund); err != nil {
			return in, errs.Usagef("--fund: %v", err)
		}
		if in.fund.Sign() == 0 {
			return in, errs.Usagef("--fund %s is zero (expected a positive amount such as 0.5ether)", redact.Quote(opts.Fund))
		}
	}
	if opts.DeployCmd != "" {
		if in.deploy, err = rotation.SplitCommand(opts.DeployCmd); err != nil {
			return in, err
		}
		// A new rotation checks the program with the rest of its plan (a failed
		// check is exit 3, nothing changed); a resume or rollback runs it next.
		if _, err := exec.LookPath(in.deploy[0]); err != nil && (opts.Resume || opts.Rollback) {
			// LookPath's error quotes the name again, unmasked: it is not repeated.
			why := "not found"
			if !errors.Is(err, exec.ErrNotFound) {
				why = "not executable"
			}
			return in, errs.Usagef("--deploy-cmd: %s is not a program on PATH (%s)", redact.Quote(in.deploy[0]), why)
		}
	}
	if opts.APIURL != "" {
		if u, err := url.Parse(opts.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return in, errs.Usagef("--api-url %s is not an http(s) URL (expected e.g. https://api.vrwx.io)", redact.Quote(opts.APIURL))
		}
	}
	if opts.WaitTimeout <= 0 {
		return in, errs.Usagef("--wait-timeout %s is not a positive duration (expected e.g. 10m)", opts.WaitTimeout)
	}
	if opts.IfOlderThan != "" {
		if opts.Resume || opts.Rollback {
			return in, errs.Usagef("--if-older-than applies to a new rotation, not to --resume or --rollback")
		}
		if in.minAge, err = parseAge(opts.IfOlderThan); err != nil {
			return in, err
		}
	}
	return in, nil
}

// parseAge parses --if-older-than: days (90d) or a Go duration (720h).
func parseAge(s string) (time.Duration, error) {
	bad := errs.Usagef("--if-older-than %s is not an age (expected days such as 90d, or a duration such as 720h)", redact.Quote(s))
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseUint(n, 10, 16)
		if err != nil || days == 0 {
			return 0, bad
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return d, nil
}

func rotateRun(ctx context.Context, opts *RotateOptions) error {
	in, err := opts.validate()
	if err != nil {
		return err
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	if err := cmdutil.CheckFeePolicy(cfg); err != nil {
		return err
	}
	fresh := !opts.Resume && !opts.Rollback
	fund := in.fund
	if fund == nil && fresh {
		r, ok := cfg.Decimal("rotation_fund_eth")
		if !ok || r.Sign() <= 0 {
			return errs.Usagef("--fund is required: profile %q sets no rotation_fund_eth (the runbook funds 0.5 ETH in production, 0.1 on staging)", cfg.Profile).
				WithFix("pass --fund 0.5ether, or set rotation_fund_eth in the profile")
		}
		fund = units.EtherToWei(r)
	}
	// A rotation in progress keeps what its journal says; only flags given now
	// override it, never the profile's defaults.
	treasuryRef := opts.TreasurySigner
	if treasuryRef == "" && fresh {
		treasuryRef = cfg.String("treasury_signer")
	}
	if treasuryRef == "" && fresh {
		return errs.Usagef("--treasury-signer is required: profile %q sets no treasury_signer (the treasury funds the new relayer)", cfg.Profile).
			WithFix("pass --treasury-signer REF, e.g. aws-sm://vrwx/prod/treasury-key, or set treasury_signer in the profile")
	}
	apiURL := opts.APIURL
	if apiURL == "" && fresh {
		apiURL = cfg.String("api_url")
	}
	if apiURL == "" && fresh {
		return errs.Usagef("--api-url is required: profile %q sets no api_url, and the rotation must see /health report the new key", cfg.Profile)
	}
	var treasury *common.Address
	if s, ok := cfg.Address("treasury"); ok {
		a, err := units.ParseAddress(s)
		if err != nil {
			return err
		}
		treasury = &a
	}
	var limit *big.Int
	if r, ok := cfg.Decimal("funding_limit_eth"); ok {
		limit = units.EtherToWei(r)
	}
	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()
	store, err := opts.OpenStore(ctx, in.store.String())
	if err != nil {
		return err
	}
	state := opts.StateDir()
	mode := rotation.Standard
	if opts.Emergency {
		mode = rotation.Emergency
	}
	storeRef := in.store.String()
	// Who runs it, recorded with the store's claim so another machine can say whose
	// rotation holds the store.
	by := audit.CurrentUser(opts.LookupEnv)
	if host, err := os.Hostname(); err == nil {
		by += "@" + host
	}
	j, err := rotation.Run(ctx, rotation.Options{
		IO: opts.IO, Store: store, Chain: c, OpenSigner: opts.OpenSigner, TreasuryRef: treasuryRef, Treasury: treasury,
		DefaultTreasuryRef: cfg.String("treasury_signer"), DefaultAPIURL: cfg.String("api_url"), By: by, Window: cmdutil.PaymentWindow(cfg),
		Audit: opts.Audit, LockDir: state, Profile: cfg.Profile, Fees: cmdutil.FeePolicy(cfg), Next: cmdutil.Next(),
		FundingLimit: limit, Health: &health.Client{}, APIURL: apiURL, Hook: rotation.ExecHook, DeployCmd: in.deploy,
		Environ: environ(opts.Environ), EnvRefs: []string{cfg.String("signer"), cfg.String("treasury_signer")},
		Dir: filepath.Join(state, "rotations"), Now: opts.Now, WaitTimeout: opts.WaitTimeout, StepTimeout: opts.Timeout,
		Checkpoint: killAt(opts.LookupEnv), Advice: advice(storeRef),
		Mode: mode, Fund: fund, MinAge: in.minAge, Reason: opts.Reason, Resume: opts.Resume, Rollback: opts.Rollback,
		DiscardPending: opts.DiscardPending, DryRun: opts.DryRun, Yes: opts.Yes,
	})
	if err != nil {
		return err
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(j)
	}
	switch j.Status {
	case rotation.StatusComplete:
		fmt.Fprintln(opts.IO.Out, j.New.Address)
	case rotation.StatusRolledBack:
		fmt.Fprintln(opts.IO.Out, j.Old.Address)
	}
	return nil
}

// advice words the rotation's next steps as vrwxctl commands for this store.
func advice(store string) rotation.Advice {
	return rotation.Advice{
		Resume:         "vrwxctl key rotate --store " + store + " --resume",
		Rollback:       "vrwxctl key rotate --store " + store + " --rollback",
		DiscardPending: "vrwxctl key rotate --store " + store + " --discard-pending …",
		Restart:        "kubectl rollout restart deployment/vrwx-api",
		Stuck: func(ref string) string {
			return "follow them with `vrwxctl wallet nonce --signer " + ref + "`; replace a stuck one with `vrwxctl tx speedup --nonce N --signer " + ref + "`"
		},
		Drain:  func(ref string) string { return "vrwxctl wallet drain --signer " + ref },
		Health: func(a common.Address) string { return "vrwxctl health --expect-relayer " + a.Hex() },
	}
}

// environ is the environment env lists (none without it).
func environ(env func() []string) []string {
	if env == nil {
		return nil
	}
	return env()
}
