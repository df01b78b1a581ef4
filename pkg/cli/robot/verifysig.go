package robot

import (
	"context"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/units"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// VerifySigOptions are the inputs of robot verify-sig.
type VerifySigOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Chain   func() (*chain.Client, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time
	// ConfigOptions locate the config file, whose other profiles' escrows are tried
	// when the signer is not the controller.
	ConfigOptions func() config.Options
	// SkipDigestCrossCheck saves the round trip that compares our EIP-712 digest with
	// the escrow's hashTypedDataV4: job complete simulates the call anyway, and
	// `contracts check` proves the encoding once per deployment.
	SkipDigestCrossCheck bool

	Job            string
	CompletionHash string
	Quality        string
	WorkUnits      string
	Sig            string
}

// NewCmdVerifySig returns `robot verify-sig`.
func NewCmdVerifySig(f *cmdutil.Factory, runF func(context.Context, *VerifySigOptions) error) *cobra.Command {
	opts := &VerifySigOptions{IO: f.IO, Config: f.Config, Chain: f.Chain, Context: f.Context, Now: f.Now, ConfigOptions: f.ConfigOptions}
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
			ctx, cancel := opts.Context(cmd.Context())
			defer cancel()
			if runF != nil {
				return runF(ctx, opts)
			}
			return verifyRun(ctx, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Job, "job", "", "job id (required)")
	fl.StringVar(&opts.CompletionHash, "completion-hash", "", "completion (manifest) hash, 0x + 64 hex (required)")
	fl.StringVar(&opts.Quality, "quality", "", "quality score, 0..255 (required)")
	fl.StringVar(&opts.WorkUnits, "work-units", "", "work units, 0..4294967295 (required)")
	fl.StringVar(&opts.Sig, "sig", "", "the controller's 65-byte signature, 0x + 130 hex (required)")
	return cmd
}

// VerifySigJSON is the -o json shape of robot verify-sig.
type VerifySigJSON struct {
	// Valid is true when the escrow would accept the completion now and the API
	// would relay it.
	Valid    bool   `json:"valid"`
	ChainID  uint64 `json:"chainId"`
	Escrow   string `json:"escrow"`
	Registry string `json:"registry"`
	// Claim is the CompletionClaimV2 as rebuilt from the chain.
	Claim      ClaimJSON `json:"claim"`
	StructHash string    `json:"structHash"`
	Digest     string    `json:"digest"`
	// Signer is who signed Digest ("" when the signature cannot be recovered).
	Signer     string `json:"signer"`
	Controller string `json:"controller"`
	// SignedFor is the other chain / escrow the controller signed for, if found.
	SignedFor *SignedForJSON `json:"signedFor,omitempty"`
	Checks    []doctor.Check `json:"checks"`
}

// ClaimJSON is a CompletionClaimV2.
type ClaimJSON struct {
	JobID          string `json:"jobId"`
	JobSpecHash    string `json:"jobSpecHash"`
	CompletionHash string `json:"completionHash"`
	RobotID        string `json:"robotId"`
	Controller     string `json:"controller"`
	Deadline       string `json:"deadline"`
	QualityScore   uint8  `json:"qualityScore"`
	WorkUnits      uint32 `json:"workUnits"`
}

// SignedForJSON is the EIP-712 domain a signature was actually made for.
type SignedForJSON struct {
	Label   string `json:"label"`
	ChainID string `json:"chainId"`
	Escrow  string `json:"escrow"`
}

type sigInput struct {
	job        *big.Int
	completion common.Hash
	quality    uint8
	workUnits  uint32
	sig        []byte
}

func required(flag, v string) error {
	if v == "" {
		return errs.Usagef("%s is required", flag).WithFix("see `vrwxctl robot verify-sig --help`")
	}
	return nil
}

// ParseCompletion validates the completion flags (exit 2 on bad input) and returns
// the submitCompletionV2 arguments.
func ParseCompletion(opts *VerifySigOptions) (jobID *big.Int, completionHash common.Hash, quality uint8, workUnits uint32, sig []byte, err error) {
	in, err := parseSigInput(opts)
	if err != nil {
		return nil, common.Hash{}, 0, 0, nil, err
	}
	return in.job, in.completion, in.quality, in.workUnits, in.sig, nil
}

func parseSigInput(opts *VerifySigOptions) (*sigInput, error) {
	for _, r := range []struct{ flag, v string }{{"--job", opts.Job}, {"--completion-hash", opts.CompletionHash}, {"--quality", opts.Quality}, {"--work-units", opts.WorkUnits}, {"--sig", opts.Sig}} {
		if err := required(r.flag, r.v); err != nil {
			return nil, err
		}
	}
	in := &sigInput{}
	var err error
	if in.job, err = cmdutil.ParseUint256("--job", opts.Job); err != nil {
		return nil, err
	}
	if in.completion, err = cmdutil.ParseBytes32("--completion-hash", opts.CompletionHash); err != nil {
		return nil, err
	}
	q, err := strconv.ParseUint(opts.Quality, 10, 64)
	if err != nil || q > 255 {
		return nil, errs.Usagef("--quality %q is not a quality score (expected an integer 0..255; 80..120 in practice)", opts.Quality)
	}
	in.quality = uint8(q)
	w, err := strconv.ParseUint(opts.WorkUnits, 10, 64)
	if err != nil || w > 1<<32-1 {
		return nil, errs.Usagef("--work-units %q is not a uint32 (expected an integer 0..4294967295)", opts.WorkUnits)
	}
	in.workUnits = uint32(w)
	if in.sig, err = cmdutil.ParseHexBytes("--sig", opts.Sig, -1); err != nil {
		return nil, err
	}
	if len(in.sig) != 65 {
		hint := ""
		switch {
		case len(in.sig) < 65:
			hint = ": it looks truncated"
		case len(in.sig) > 65:
			hint = ": extra bytes (a second signature or ABI padding?)"
		}
		return nil, errs.Usagef("--sig is %d bytes (expected 65: r, s, v — 0x followed by 130 hex characters)%s", len(in.sig), hint).
			WithFix("copy the full controllerSig (e.g. from the DLQ row's payload: vrwxctl dlq show ID)")
	}
	return in, nil
}

// candidateChains are the chain ids a signature is tried against besides the profile's.
var candidateChains = []uint64{1, 8453, 84532, 31337}

func verifyRun(ctx context.Context, opts *VerifySigOptions) error {
	out, err := CheckCompletion(ctx, opts)
	if err != nil {
		return err
	}
	if opts.IO.JSONOutput() {
		if err := opts.IO.WriteJSON(out); err != nil {
			return err
		}
	} else {
		RenderVerdict(opts.IO, *out)
	}
	if !out.Valid {
		return errs.Exit(errs.Failed)
	}
	return nil
}

// CheckCompletion validates the flags, reads the job, its robot and the claim key,
// and judges the completion signature as the escrow and the API would: the preflight
// of `job complete` and the whole of `robot verify-sig`.
func CheckCompletion(ctx context.Context, opts *VerifySigOptions) (*VerifySigJSON, error) {
	in, err := parseSigInput(opts)
	if err != nil {
		return nil, err
	}
	cfg, err := opts.Config()
	if err != nil {
		return nil, err
	}
	ct, err := cmdutil.ContractsOf(cfg)
	if err != nil {
		return nil, err
	}
	escrow, registry := ct.Escrow, ct.Identity
	c, err := opts.Chain()
	if err != nil {
		return nil, err
	}
	defer c.Close()

	// Round trip 1: the job with its robot, the claim key, the head.
	key := vrwx.ClaimKey(in.job, in.completion, in.quality, in.workUnits)
	used := vrwx.Pack(vrwx.EscrowABI(), "claimUsed", key)
	var usedOut hexutil.Bytes
	var head *chain.Head
	extra := []rpc.BatchElem{
		{Method: "eth_call", Args: []any{chain.CallMsg{To: escrow, Input: used, Data: used}, "latest"}, Result: &usedOut},
		{Method: "eth_getBlockByNumber", Args: []any{"latest", false}, Result: &head},
	}
	r, err := vrwx.ReadJob(ctx, c, escrow, registry, in.job, extra...)
	if err != nil {
		return nil, errs.Failedf("reading job %s from escrow %s", in.job, escrow.Hex()).Wrap(err).
			WithFix("check the profile's escrow (vrwxctl contracts check)")
	}
	if !r.Job.Exists() {
		return nil, errs.Failedf("job %s does not exist on escrow %s: submitCompletionV2 would revert JobNotFound", in.job, escrow.Hex()).
			WithFix("check the job id and the profile's escrow (vrwxctl config view)")
	}
	if err := firstErr(r.ControllerErr, r.ActiveErr); err != nil {
		return nil, errs.Failedf("IdentityRegistry %s unreadable", r.Registry.Hex()).Wrap(err).
			WithFix("check IDENTITY_REGISTRY_ADDRESS (vrwxctl contracts check)")
	}
	if extra[0].Error != nil {
		return nil, errs.Failedf("escrow %s: claimUsed", escrow.Hex()).Wrap(extra[0].Error)
	}
	claimUsed, err := vrwx.DecodeBool(usedOut)
	if err != nil {
		return nil, errs.Failedf("escrow %s: claimUsed", escrow.Hex()).Wrap(err)
	}
	var headTime uint64
	if extra[1].Error == nil && head != nil {
		headTime = uint64(head.Time)
	}

	domain := vrwx.Domain{ChainID: new(big.Int).SetUint64(c.ChainID()), Escrow: escrow}
	req := vrwx.SigRequest{JobID: in.job, CompletionHash: in.completion, QualityScore: in.quality, WorkUnits: in.workUnits,
		Signature: in.sig, Domain: domain, Alternatives: alternatives(opts, cfg, c.ChainID(), escrow)}
	readings := vrwx.SigReadings{Job: r.Job, Controller: r.Controller, Active: r.Active, ClaimUsed: claimUsed, Now: vrwx.Now(opts.Now(), headTime)}

	// Round trip 2: the escrow's own digest of the claim, to cross-check ours.
	claim := vrwx.Claim{JobID: in.job, JobSpecHash: r.Job.JobSpecHash, CompletionHash: in.completion, RobotID: r.Job.RobotID,
		Controller: r.Controller, Deadline: r.Job.Deadline, QualityScore: in.quality, WorkUnits: in.workUnits}
	if sh, _, err := claim.Hashes(domain); err == nil && !opts.SkipDigestCrossCheck {
		b := c.NewBatch()
		call := b.Call(escrow, vrwx.Pack(vrwx.EscrowABI(), "hashTypedDataV4", sh), chain.Latest)
		if err := b.Do(ctx); err != nil {
			return nil, err
		}
		if call.Err() == nil && len(call.Value) == 32 {
			h := common.BytesToHash(call.Value)
			readings.ChainDigest = &h
		}
	}

	d, err := vrwx.DiagnoseSignature(req, readings)
	if err != nil {
		return nil, errs.Failedf("rebuilding the claim").Wrap(err)
	}
	out := VerifySigJSON{Valid: d.Valid, ChainID: c.ChainID(), Escrow: escrow.Hex(), Registry: r.Registry.Hex(),
		Claim: ClaimJSON{JobID: in.job.String(), JobSpecHash: d.Claim.JobSpecHash.Hex(), CompletionHash: in.completion.Hex(),
			RobotID: d.Claim.RobotID.Hex(), Controller: d.Claim.Controller.Hex(), Deadline: d.Claim.Deadline.String(),
			QualityScore: in.quality, WorkUnits: in.workUnits},
		StructHash: d.StructHash.Hex(), Digest: d.Digest.Hex(), Controller: r.Controller.Hex(), Checks: []doctor.Check{}}
	if d.Signer != (common.Address{}) {
		out.Signer = d.Signer.Hex()
	}
	if d.SignedFor != nil {
		out.SignedFor = &SignedForJSON{Label: d.SignedFor.Label, ChainID: d.SignedFor.ChainID.String(), Escrow: d.SignedFor.Escrow.Hex()}
	}
	for _, f := range d.Findings {
		out.Checks = append(out.Checks, doctor.Check{Section: "signature", Name: f.Name, Level: level(f.Severity), Value: f.Value, Detail: f.Detail, Fix: f.Fix})
	}

	return &out, nil
}

func level(s vrwx.Severity) doctor.Level {
	switch s {
	case vrwx.SevOK:
		return doctor.OK
	case vrwx.SevFail:
		return doctor.Crit
	case vrwx.SevWarn:
		return doctor.Warn
	}
	return doctor.Info
}

// alternatives lists the domains a mismatching signature is tried against: the
// candidate chain ids with this profile's escrow, and every chain id with the
// escrows of the other profiles (built-in and from the config file).
func alternatives(opts *VerifySigOptions, cfg *config.Config, chainID uint64, escrow common.Address) []vrwx.NamedDomain {
	chains := []uint64{chainID}
	for _, id := range candidateChains {
		if id != chainID {
			chains = append(chains, id)
		}
	}
	type namedEscrow struct {
		label string
		addr  common.Address
	}
	escrows := []namedEscrow{{"this profile's escrow", escrow}}
	seen := map[common.Address]bool{escrow: true}
	if opts.ConfigOptions != nil {
		co := opts.ConfigOptions()
		infos, err := config.Profiles(co)
		if err != nil {
			opts.IO.Debugf("other profiles unreadable (%v): only this profile's escrow is tried", err)
		}
		for _, p := range infos {
			if p.Name == cfg.Profile || p.Escrow == "" {
				continue
			}
			a, err := units.ParseAddress(p.Escrow)
			if err != nil || seen[a] {
				continue
			}
			seen[a] = true
			escrows = append(escrows, namedEscrow{"the escrow of profile " + p.Name, a})
		}
	}
	var out []vrwx.NamedDomain
	for _, e := range escrows {
		for _, id := range chains {
			if id == chainID && e.addr == escrow {
				continue
			}
			label := fmt.Sprintf("chain %d", id)
			if n := vrwx.ChainName(id); n != "" {
				label += " (" + n + ")"
			}
			label += " with " + e.label
			out = append(out, vrwx.NamedDomain{Domain: vrwx.Domain{ChainID: new(big.Int).SetUint64(id), Escrow: e.addr}, Label: label})
		}
	}
	return out
}

func firstErr(es ...error) error {
	for _, e := range es {
		if e != nil {
			return e
		}
	}
	return nil
}

// RenderVerdict prints a completion check with the fix under every failed line.
func RenderVerdict(io *ui.IO, out VerifySigJSON) {
	s := io.Styles()
	verdict := s.OK.Render("VALID")
	if !out.Valid {
		verdict = s.Crit.Render("INVALID")
	}
	fmt.Fprintf(io.Out, "%s job %s  %s  %s\n", s.Bold.Render("COMPLETION SIGNATURE"), out.Claim.JobID, verdict,
		s.Faint.Render(fmt.Sprintf("escrow %s · chain %d · registry %s", out.Escrow, out.ChainID, out.Registry)))
	io.RenderChecks(out.Checks)
	if out.Valid {
		fmt.Fprintln(io.Out, s.OK.Render("OK")+": the escrow would accept this completion and the API would relay it")
		return
	}
	var reasons []string
	for _, c := range out.Checks {
		if c.Level == doctor.Crit {
			reasons = append(reasons, c.Name)
		}
	}
	fmt.Fprintf(io.Out, "%s: %s — see the fixes above\n", s.Crit.Render("INVALID"), strings.Join(reasons, ", "))
}
