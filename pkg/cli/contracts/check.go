// Package contracts implements `vrwxctl contracts check`: the deployment proof the
// protocol's cast script gave — bytecode at every configured address, the escrow's
// wiring, its EIP-712 domain, and whether it can be paused.
package contracts

import (
	"context"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/cli/shared"
	"github.com/vrwx/vrwxctl/pkg/cli/status"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
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
			ctx, cancel := opts.Context(cmd.Context())
			defer cancel()
			if runF != nil {
				return runF(ctx, opts)
			}
			return checkRun(ctx, opts)
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

// Readings are what one round trip returns about the deployment. A read that
// failed has its *Err set.
type Readings struct {
	ChainID  uint64
	Escrow   common.Address
	Identity *common.Address // configured registry, nil when none
	Token    *common.Address // configured token, nil when none

	Code map[string]Read // "escrow", "identity", "token" -> code

	EscrowIdentity Read
	EscrowToken    Read
	Domain         Read
	JobCount       Read
	Paused         Read
	// ChainDigest is hashTypedDataV4(sampleStructHash); WantDigest is vrwxctl's.
	ChainDigest Read
	WantDigest  common.Hash
	Controller  Read // registry.getController(0)
	Decimals    Read
}

// Read is one call's answer.
type Read struct {
	Data []byte
	Err  error
}

// sampleClaim is an arbitrary claim whose digest the escrow is asked to compute.
func sampleClaim() vrwx.Claim {
	return vrwx.Claim{
		JobID: big.NewInt(1), JobSpecHash: crypto.Keccak256Hash([]byte("vrwxctl contracts check: spec")),
		CompletionHash: crypto.Keccak256Hash([]byte("vrwxctl contracts check: completion")),
		RobotID:        crypto.Keccak256Hash([]byte("vrwxctl:check")), Controller: common.HexToAddress("0x000000000000000000000000000000000000dEaD"),
		Deadline: big.NewInt(1_900_000_000), QualityScore: 100, WorkUnits: 1,
	}
}

func checkRun(ctx context.Context, opts *CheckOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	ct, err := shared.ContractsOf(cfg)
	if err != nil {
		return err
	}
	escrow, identity, haveIdentity, token, haveToken := ct.Escrow, ct.Identity, ct.HasIdentity, ct.Token, ct.HasToken
	c, err := opts.Chain()
	if err != nil {
		return err
	}
	defer c.Close()

	r := Readings{ChainID: c.ChainID(), Escrow: escrow, Code: map[string]Read{}}
	if haveIdentity {
		r.Identity = &identity
	}
	if haveToken {
		r.Token = &token
	}
	sh, want, err := sampleClaim().Hashes(vrwx.Domain{ChainID: new(big.Int).SetUint64(r.ChainID), Escrow: escrow})
	if err != nil {
		return errs.Failedf("computing the sample EIP-712 digest").Wrap(err)
	}
	r.WantDigest = want

	b := c.NewBatch()
	type pending struct {
		into *Read
		res  *chain.Result[hexutil.Bytes]
	}
	var calls []pending
	code := map[string]*chain.Result[hexutil.Bytes]{"escrow": b.Code(escrow, chain.Latest)}
	if haveIdentity {
		code["identity"] = b.Code(identity, chain.Latest)
	}
	if haveToken {
		code["token"] = b.Code(token, chain.Latest)
	}
	call := func(into *Read, to common.Address, data []byte) {
		calls = append(calls, pending{into, b.Call(to, data, chain.Latest)})
	}
	call(&r.EscrowIdentity, escrow, vrwx.Pack(vrwx.EscrowABI(), "identity"))
	call(&r.EscrowToken, escrow, vrwx.Pack(vrwx.EscrowABI(), "token"))
	call(&r.Domain, escrow, vrwx.Pack(vrwx.EscrowABI(), "eip712Domain"))
	call(&r.JobCount, escrow, vrwx.Pack(vrwx.EscrowABI(), "jobCount"))
	call(&r.Paused, escrow, vrwx.Pack(vrwx.PausableABI(), "paused"))
	call(&r.ChainDigest, escrow, vrwx.Pack(vrwx.EscrowABI(), "hashTypedDataV4", sh))
	if haveIdentity {
		call(&r.Controller, identity, vrwx.Pack(vrwx.RegistryABI(), "getController", common.Hash{}))
	}
	if haveToken {
		call(&r.Decimals, token, vrwx.Pack(vrwx.ERC20ABI(), "decimals"))
	}
	if err := b.Do(ctx); err != nil {
		return err
	}
	for name, res := range code {
		r.Code[name] = Read{Data: res.Value, Err: res.Err()}
	}
	for _, p := range calls {
		*p.into = Read{Data: p.res.Value, Err: p.res.Err()}
	}

	checks := Judge(r)
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
		status.RenderChecks(opts.IO, checks)
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

const fixEscrow = "set JOB_ESCROW_ADDRESS (or `escrow` in the profile) to the JobEscrow on this chain"

// Judge turns readings into checks. It reads nothing.
func Judge(r Readings) []doctor.Check {
	var out []doctor.Check
	add := func(c doctor.Check) { c.Section = "contracts"; out = append(out, c) }

	// Bytecode at every configured address.
	for _, x := range []struct {
		key, what, fix string
		addr           *common.Address
	}{
		{"escrow", "JobEscrow", fixEscrow, &r.Escrow},
		{"identity", "IdentityRegistry", "set IDENTITY_REGISTRY_ADDRESS (or `identity`) to the registry on this chain", r.Identity},
		{"token", "settlement token", "set VRWX_SETTLEMENT_TOKEN (or `token`) to the token on this chain", r.Token},
	} {
		name := x.key + " code"
		if x.addr == nil {
			add(doctor.Check{Name: name, Level: doctor.Info, Value: "not configured", Detail: "no " + x.what + " address in the profile"})
			continue
		}
		rd := r.Code[x.key]
		switch {
		case rd.Err != nil:
			add(doctor.Check{Name: name, Level: doctor.Crit, Value: "unreadable", Detail: rd.Err.Error()})
		case len(rd.Data) == 0:
			add(doctor.Check{Name: name, Level: doctor.Crit, Value: "no bytecode",
				Detail: fmt.Sprintf("%s %s has no code on chain %d", x.what, x.addr.Hex(), r.ChainID), Fix: x.fix})
		default:
			add(doctor.Check{Name: name, Level: doctor.OK, Value: fmt.Sprintf("%d bytes", len(rd.Data)), Detail: x.what + " " + x.addr.Hex()})
		}
	}

	// Wiring.
	wired := func(name string, rd Read, configured *common.Address, key, env string) {
		got, err := readAddress(rd)
		switch {
		case err != nil:
			add(doctor.Check{Name: name, Level: doctor.Crit, Value: "unreadable", Detail: err.Error(), Fix: "is " + r.Escrow.Hex() + " a JobEscrow? " + fixEscrow})
		case configured == nil:
			add(doctor.Check{Name: name, Level: doctor.Info, Value: got.Hex(), Detail: "the profile configures no " + key + " to compare with"})
		case got != *configured:
			add(doctor.Check{Name: name, Level: doctor.Crit, Value: got.Hex(),
				Detail: fmt.Sprintf("the profile's %s is %s", key, configured.Hex()),
				Fix:    fmt.Sprintf("set %s (or `%s` in the profile) to %s, the one the escrow uses", env, key, got.Hex())})
		default:
			add(doctor.Check{Name: name, Level: doctor.OK, Value: got.Hex(), Detail: "equals the profile's " + key})
		}
	}
	wired("escrow.identity()", r.EscrowIdentity, r.Identity, "identity", "IDENTITY_REGISTRY_ADDRESS")
	wired("escrow.token()", r.EscrowToken, r.Token, "token", "VRWX_SETTLEMENT_TOKEN")

	// The EIP-712 domain.
	if d, err := readDomain(r.Domain); err != nil {
		add(doctor.Check{Name: "eip712Domain", Level: doctor.Crit, Value: "unreadable", Detail: err.Error(),
			Fix: "the escrow must implement EIP-5267 eip712Domain(); " + fixEscrow})
	} else {
		var wrong []string
		if d.Name != vrwx.DomainName {
			wrong = append(wrong, fmt.Sprintf("name %q, want %q", d.Name, vrwx.DomainName))
		}
		if d.Version != vrwx.DomainVersion {
			wrong = append(wrong, fmt.Sprintf("version %q, want %q", d.Version, vrwx.DomainVersion))
		}
		if d.ChainID.Cmp(new(big.Int).SetUint64(r.ChainID)) != 0 {
			wrong = append(wrong, fmt.Sprintf("chainId %s, want %d", d.ChainID, r.ChainID))
		}
		if d.VerifyingContract != r.Escrow {
			wrong = append(wrong, fmt.Sprintf("verifyingContract %s, want the escrow %s", d.VerifyingContract.Hex(), r.Escrow.Hex()))
		}
		value := fmt.Sprintf("%s / %s / chain %s", d.Name, d.Version, d.ChainID)
		if len(wrong) > 0 {
			add(doctor.Check{Name: "eip712Domain", Level: doctor.Crit, Value: value, Detail: strings.Join(wrong, "; "),
				Fix: "robots' signatures are made for VRWX / 1 / this chain / this escrow: the escrow is not the deployment the profile expects"})
		} else {
			add(doctor.Check{Name: "eip712Domain", Level: doctor.OK, Value: value, Detail: "verifyingContract is the escrow"})
		}
	}
	switch {
	case r.ChainDigest.Err != nil || len(r.ChainDigest.Data) != 32:
		add(doctor.Check{Name: "EIP-712 digest", Level: doctor.Warn, Value: "not cross-checked",
			Detail: "the escrow's hashTypedDataV4 is unreadable " + readProblem(r.ChainDigest),
			Fix:    "vrwxctl cannot prove its claim digest matches this escrow's; verify-sig results rest on the spec's type string"})
	case common.BytesToHash(r.ChainDigest.Data) != r.WantDigest:
		add(doctor.Check{Name: "EIP-712 digest", Level: doctor.Crit, Value: "differs",
			Detail: fmt.Sprintf("the escrow hashes a sample claim to %s, vrwxctl to %s", common.BytesToHash(r.ChainDigest.Data).Hex(), r.WantDigest.Hex()),
			Fix:    "the escrow's CompletionClaimV2 encoding or domain differs from the spec: signatures built to the spec will be rejected"})
	default:
		add(doctor.Check{Name: "EIP-712 digest", Level: doctor.OK, Value: "matches", Detail: "the escrow's hashTypedDataV4 equals vrwxctl's CompletionClaimV2 digest"})
	}

	// State.
	if rd := r.JobCount; rd.Err != nil || len(rd.Data) != 32 {
		add(doctor.Check{Name: "jobCount", Level: doctor.Crit, Value: "unreadable", Detail: readProblem(rd), Fix: fixEscrow})
	} else {
		add(doctor.Check{Name: "jobCount", Level: doctor.OK, Value: new(big.Int).SetBytes(rd.Data).String()})
	}
	switch p := r.Paused; {
	case p.Err != nil || len(p.Data) == 0:
		add(doctor.Check{Name: "paused", Level: doctor.Info, Value: "no pause switch",
			Detail: "paused() " + readProblem(p) + ": this escrow cannot be paused, so the runbook's \"Contract paused\" cause does not apply"})
	case len(p.Data) != 32 || new(big.Int).SetBytes(p.Data).Cmp(big.NewInt(1)) > 0:
		add(doctor.Check{Name: "paused", Level: doctor.Info, Value: "no pause switch", Detail: fmt.Sprintf("paused() returned %d bytes that are not a bool", len(p.Data))})
	case p.Data[31] == 1:
		add(doctor.Check{Name: "paused", Level: doctor.Crit, Value: "true", Detail: "every job call reverts while the escrow is paused",
			Fix: "runbook: contract paused — contact the admin to unpause; relaying cannot succeed until then"})
	default:
		add(doctor.Check{Name: "paused", Level: doctor.OK, Value: "false"})
	}
	if r.Identity != nil {
		if _, err := readAddress(r.Controller); err != nil {
			add(doctor.Check{Name: "identity answers", Level: doctor.Crit, Value: "no", Detail: "getController(0x0…0) " + err.Error(),
				Fix: "is " + r.Identity.Hex() + " an IdentityRegistry? set IDENTITY_REGISTRY_ADDRESS (or `identity`) to the registry"})
		} else {
			add(doctor.Check{Name: "identity answers", Level: doctor.OK, Value: "getController"})
		}
	}
	if r.Token != nil {
		if rd := r.Decimals; rd.Err != nil || len(rd.Data) != 32 {
			add(doctor.Check{Name: "token decimals", Level: doctor.Crit, Value: "unreadable", Detail: readProblem(rd),
				Fix: "is " + r.Token.Hex() + " an ERC-20? set VRWX_SETTLEMENT_TOKEN (or `token`) to the settlement token"})
		} else if d, err := vrwx.DecodeDecimals(rd.Data); err != nil {
			add(doctor.Check{Name: "token decimals", Level: doctor.Crit, Value: "invalid", Detail: err.Error()})
		} else {
			add(doctor.Check{Name: "token decimals", Level: doctor.OK, Value: fmt.Sprint(d)})
		}
	}
	return out
}

func readProblem(rd Read) string {
	switch {
	case rd.Err != nil:
		if ce := vrwx.DecodeCallError(rd.Err); ce != nil {
			return "reverts with " + ce.Name
		}
		if strings.Contains(rd.Err.Error(), "revert") {
			return "reverts"
		}
		return "fails: " + rd.Err.Error()
	case len(rd.Data) == 0:
		return "returned no data"
	}
	return fmt.Sprintf("returned %d bytes", len(rd.Data))
}

func readAddress(rd Read) (common.Address, error) {
	if rd.Err != nil || len(rd.Data) == 0 {
		return common.Address{}, fmt.Errorf("%s", readProblem(rd))
	}
	return vrwx.DecodeAddress(rd.Data)
}

func readDomain(rd Read) (*vrwx.EIP712DomainInfo, error) {
	if rd.Err != nil || len(rd.Data) == 0 {
		return nil, fmt.Errorf("eip712Domain() %s", readProblem(rd))
	}
	return vrwx.DecodeEIP712Domain(rd.Data)
}
