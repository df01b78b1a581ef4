package doctor

import (
	"context"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// Deployment is what a profile says the deployment is: the escrow, and the registry
// and settlement token when it names them (nil otherwise).
type Deployment struct {
	ChainID  uint64
	Escrow   common.Address
	Identity *common.Address
	Token    *common.Address
}

// ContractReadings are what one round trip returns about the deployment. A read
// that failed has its Err set.
type ContractReadings struct {
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

// ReadContracts reads everything JudgeContracts needs about d in one batch: code at
// every address, the escrow's wiring, EIP-712 domain and digest of a sample claim,
// jobCount, paused, a registry probe and the token's decimals.
func ReadContracts(ctx context.Context, c *chain.Client, d Deployment) (ContractReadings, error) {
	r := ContractReadings{ChainID: d.ChainID, Escrow: d.Escrow, Identity: d.Identity, Token: d.Token, Code: map[string]Read{}}
	sh, want, err := sampleClaim().Hashes(vrwx.Domain{ChainID: new(big.Int).SetUint64(d.ChainID), Escrow: d.Escrow})
	if err != nil {
		return r, fmt.Errorf("computing the sample EIP-712 digest: %w", err)
	}
	r.WantDigest = want

	b := c.NewBatch()
	type pending struct {
		into *Read
		res  *chain.Result[hexutil.Bytes]
	}
	var calls []pending
	code := map[string]*chain.Result[hexutil.Bytes]{"escrow": b.Code(d.Escrow, chain.Latest)}
	if d.Identity != nil {
		code["identity"] = b.Code(*d.Identity, chain.Latest)
	}
	if d.Token != nil {
		code["token"] = b.Code(*d.Token, chain.Latest)
	}
	call := func(into *Read, to common.Address, data []byte) {
		calls = append(calls, pending{into, b.Call(to, data, chain.Latest)})
	}
	call(&r.EscrowIdentity, d.Escrow, vrwx.Pack(vrwx.EscrowABI(), "identity"))
	call(&r.EscrowToken, d.Escrow, vrwx.Pack(vrwx.EscrowABI(), "token"))
	call(&r.Domain, d.Escrow, vrwx.Pack(vrwx.EscrowABI(), "eip712Domain"))
	call(&r.JobCount, d.Escrow, vrwx.Pack(vrwx.EscrowABI(), "jobCount"))
	call(&r.Paused, d.Escrow, vrwx.Pack(vrwx.PausableABI(), "paused"))
	call(&r.ChainDigest, d.Escrow, vrwx.Pack(vrwx.EscrowABI(), "hashTypedDataV4", sh))
	if d.Identity != nil {
		call(&r.Controller, *d.Identity, vrwx.Pack(vrwx.RegistryABI(), "getController", common.Hash{}))
	}
	if d.Token != nil {
		call(&r.Decimals, *d.Token, vrwx.Pack(vrwx.ERC20ABI(), "decimals"))
	}
	if err := b.Do(ctx); err != nil {
		return r, err
	}
	for name, res := range code {
		r.Code[name] = Read{Data: res.Value, Err: res.Err()}
	}
	for _, p := range calls {
		*p.into = Read{Data: p.res.Value, Err: p.res.Err()}
	}
	return r, nil
}

const fixEscrow = "set JOB_ESCROW_ADDRESS (or `escrow` in the profile) to the JobEscrow on this chain"

// JudgeContracts turns readings into checks. It reads nothing.
func JudgeContracts(r ContractReadings) []Check {
	var out []Check
	add := func(c Check) { c.Section = "contracts"; out = append(out, c) }

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
			add(Check{Name: name, Level: Info, Value: "not configured", Detail: "no " + x.what + " address in the profile"})
			continue
		}
		rd := r.Code[x.key]
		switch {
		case rd.Err != nil:
			add(Check{Name: name, Level: Crit, Value: "unreadable", Detail: rd.Err.Error()})
		case len(rd.Data) == 0:
			add(Check{Name: name, Level: Crit, Value: "no bytecode",
				Detail: fmt.Sprintf("%s %s has no code on chain %d", x.what, x.addr.Hex(), r.ChainID), Fix: x.fix})
		default:
			add(Check{Name: name, Level: OK, Value: fmt.Sprintf("%d bytes", len(rd.Data)), Detail: x.what + " " + x.addr.Hex()})
		}
	}

	// Wiring.
	wired := func(name string, rd Read, configured *common.Address, key, env string) {
		got, err := readAddress(rd)
		switch {
		case err != nil:
			add(Check{Name: name, Level: Crit, Value: "unreadable", Detail: err.Error(), Fix: "is " + r.Escrow.Hex() + " a JobEscrow? " + fixEscrow})
		case configured == nil:
			add(Check{Name: name, Level: Info, Value: got.Hex(), Detail: "the profile configures no " + key + " to compare with"})
		case got != *configured:
			add(Check{Name: name, Level: Crit, Value: got.Hex(),
				Detail: fmt.Sprintf("the profile's %s is %s", key, configured.Hex()),
				Fix:    fmt.Sprintf("set %s (or `%s` in the profile) to %s, the one the escrow uses", env, key, got.Hex())})
		default:
			add(Check{Name: name, Level: OK, Value: got.Hex(), Detail: "equals the profile's " + key})
		}
	}
	wired("escrow.identity()", r.EscrowIdentity, r.Identity, "identity", "IDENTITY_REGISTRY_ADDRESS")
	wired("escrow.token()", r.EscrowToken, r.Token, "token", "VRWX_SETTLEMENT_TOKEN")

	// The EIP-712 domain.
	if d, err := readDomain(r.Domain); err != nil {
		add(Check{Name: "eip712Domain", Level: Crit, Value: "unreadable", Detail: err.Error(),
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
			add(Check{Name: "eip712Domain", Level: Crit, Value: value, Detail: strings.Join(wrong, "; "),
				Fix: "robots' signatures are made for VRWX / 1 / this chain / this escrow: the escrow is not the deployment the profile expects"})
		} else {
			add(Check{Name: "eip712Domain", Level: OK, Value: value, Detail: "verifyingContract is the escrow"})
		}
	}
	switch digest, err := unpackOne[[32]byte](vrwx.EscrowABI(), "hashTypedDataV4", r.ChainDigest); {
	case err != nil:
		add(Check{Name: "EIP-712 digest", Level: Warn, Value: "not cross-checked",
			Detail: "the escrow's hashTypedDataV4 is unreadable " + readProblem(r.ChainDigest),
			Fix:    "vrwxctl cannot prove its claim digest matches this escrow's; verify-sig results rest on the spec's type string"})
	case common.Hash(digest) != r.WantDigest:
		add(Check{Name: "EIP-712 digest", Level: Crit, Value: "differs",
			Detail: fmt.Sprintf("the escrow hashes a sample claim to %s, vrwxctl to %s", common.Hash(digest).Hex(), r.WantDigest.Hex()),
			Fix:    "the escrow's CompletionClaimV2 encoding or domain differs from the spec: signatures built to the spec will be rejected"})
	default:
		add(Check{Name: "EIP-712 digest", Level: OK, Value: "matches", Detail: "the escrow's hashTypedDataV4 equals vrwxctl's CompletionClaimV2 digest"})
	}

	// State.
	if n, err := unpackOne[*big.Int](vrwx.EscrowABI(), "jobCount", r.JobCount); err != nil {
		add(Check{Name: "jobCount", Level: Crit, Value: "unreadable", Detail: readProblem(r.JobCount), Fix: fixEscrow})
	} else {
		add(Check{Name: "jobCount", Level: OK, Value: n.String()})
	}
	switch paused, err := unpackOne[bool](vrwx.PausableABI(), "paused", r.Paused); {
	case r.Paused.Err != nil || len(r.Paused.Data) == 0:
		add(Check{Name: "paused", Level: Info, Value: "no pause switch",
			Detail: "paused() " + readProblem(r.Paused) + ": this escrow cannot be paused, so the runbook's \"Contract paused\" cause does not apply"})
	case err != nil:
		add(Check{Name: "paused", Level: Info, Value: "no pause switch", Detail: fmt.Sprintf("paused() returned %d bytes that are not a bool", len(r.Paused.Data))})
	case paused:
		add(Check{Name: "paused", Level: Crit, Value: "true", Detail: "every job call reverts while the escrow is paused",
			Fix: "runbook: contract paused — contact the admin to unpause; relaying cannot succeed until then"})
	default:
		add(Check{Name: "paused", Level: OK, Value: "false"})
	}
	if r.Identity != nil {
		if _, err := readAddress(r.Controller); err != nil {
			add(Check{Name: "identity answers", Level: Crit, Value: "no", Detail: "getController(0x0…0) " + err.Error(),
				Fix: "is " + r.Identity.Hex() + " an IdentityRegistry? set IDENTITY_REGISTRY_ADDRESS (or `identity`) to the registry"})
		} else {
			add(Check{Name: "identity answers", Level: OK, Value: "getController"})
		}
	}
	if r.Token != nil {
		rd := r.Decimals
		switch d, err := unpackOne[uint8](vrwx.ERC20ABI(), "decimals", rd); {
		case rd.Err != nil || len(rd.Data) != 32:
			add(Check{Name: "token decimals", Level: Crit, Value: "unreadable", Detail: readProblem(rd),
				Fix: "is " + r.Token.Hex() + " an ERC-20? set VRWX_SETTLEMENT_TOKEN (or `token`) to the settlement token"})
		case err != nil:
			add(Check{Name: "token decimals", Level: Crit, Value: "invalid", Detail: err.Error()})
		default:
			add(Check{Name: "token decimals", Level: OK, Value: fmt.Sprint(d)})
		}
	}
	return out
}

// unpackOne decodes a method's single return value with the ABI, so a malformed
// answer (short data, a bool that is neither 0 nor 1, a uint8 out of range) is an
// error rather than a misread word.
func unpackOne[T any](a *abi.ABI, method string, rd Read) (T, error) {
	var zero T
	if rd.Err != nil {
		return zero, rd.Err
	}
	vals, err := a.Methods[method].Outputs.Unpack(rd.Data)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", method, err)
	}
	if len(vals) != 1 {
		return zero, fmt.Errorf("%s: %d return values, want 1", method, len(vals))
	}
	v, ok := vals[0].(T)
	if !ok {
		return zero, fmt.Errorf("%s: return value of type %T, want %T", method, vals[0], zero)
	}
	return v, nil
}

func readProblem(rd Read) string {
	switch {
	case rd.Err != nil:
		if ce := vrwx.DecodeCallError(rd.Err); ce != nil {
			return "reverts with " + ce.Name
		}
		if chain.IsRevert(rd.Err) {
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
