package vrwx

import (
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Severity of a signature finding.
type Severity string

const (
	SevOK   Severity = "ok"
	SevFail Severity = "fail"
	SevWarn Severity = "warn"
	SevInfo Severity = "info"
)

// SigFinding is one line of a signature diagnosis, with the runbook's cause and fix
// when something is wrong.
type SigFinding struct {
	Name     string
	Severity Severity
	Value    string
	Detail   string
	Fix      string
}

// NamedDomain is an EIP-712 domain a signature may have been made for, with a label
// for the operator ("chain 8453 (base-mainnet)", "escrow of profile staging").
type NamedDomain struct {
	Domain
	Label string
}

// SigRequest is the completion to check: what the relayer would submit.
type SigRequest struct {
	JobID          *big.Int
	CompletionHash common.Hash
	QualityScore   uint8
	WorkUnits      uint32
	Signature      []byte
	// Domain is the profile's: its chain id and escrow.
	Domain Domain
	// Alternatives are the other domains to try when the signer is not the
	// controller: other chain ids, other profiles' escrows.
	Alternatives []NamedDomain
}

// SigReadings are what the chain says about the job and its robot.
type SigReadings struct {
	Job        *Job
	Controller common.Address
	Active     bool
	ClaimUsed  bool
	// Now is the time the escrow would judge the deadline against.
	Now time.Time
	// ChainDigest is the escrow's own hashTypedDataV4 of the claim's struct hash,
	// when it could be read; it proves vrwxctl hashes the claim as the contract does.
	ChainDigest *common.Hash
	// DigestSkipped says the escrow's digest was not asked for on purpose (a send
	// simulates the call on the escrow anyway), rather than asked and unreadable.
	DigestSkipped bool
}

// SigDiagnosis is the verdict on a completion signature.
type SigDiagnosis struct {
	// Valid means the escrow would accept the completion now and the API would
	// relay it: right signer, well-formed signature, robot registered and active,
	// claim unused, job FUNDED and within its deadline.
	Valid      bool
	Claim      Claim
	StructHash common.Hash
	Digest     common.Hash
	// Signer is who signed the profile-domain digest (zero when it cannot be
	// recovered).
	Signer common.Address
	// SignedFor is the domain the controller actually signed for, when it is one
	// of the alternatives.
	SignedFor *NamedDomain
	Findings  []SigFinding
}

// DiagnoseSignature rebuilds the CompletionClaimV2 from the chain's readings and
// says whether the signature would pass, and if not, every reason why.
func DiagnoseSignature(req SigRequest, r SigReadings) (*SigDiagnosis, error) {
	claim := Claim{
		JobID: req.JobID, JobSpecHash: r.Job.JobSpecHash, CompletionHash: req.CompletionHash,
		RobotID: r.Job.RobotID, Controller: r.Controller, Deadline: r.Job.Deadline,
		QualityScore: req.QualityScore, WorkUnits: req.WorkUnits,
	}
	sh, digest, err := claim.Hashes(req.Domain)
	if err != nil {
		return nil, err
	}
	d := &SigDiagnosis{Claim: claim, StructHash: sh, Digest: digest}
	add := func(f SigFinding) { d.Findings = append(d.Findings, f) }
	fixOf := func(name string) string {
		if e := ErrorByName(name); e != nil {
			return e.Fix
		}
		return ""
	}

	// The signature's shape, as OpenZeppelin's ECDSA judges it.
	sig := req.Signature
	shape := SignatureProblem(sig)
	recoverable := sig
	// OpenZeppelin's recover checks the length, then s, then recovers: the first
	// failure is the error the escrow reverts with.
	switch {
	case len(sig) != 65:
		add(SigFinding{Name: "signature", Severity: SevFail, Value: "malformed", Detail: shape + ": the escrow reverts ECDSAInvalidSignatureLength",
			Fix: fixOf("ECDSAInvalidSignatureLength")})
		recoverable = nil
	case isHighS(sig):
		add(SigFinding{Name: "signature", Severity: SevFail, Value: "high-s", Detail: shape + ": the escrow reverts ECDSAInvalidSignatureS",
			Fix: fixOf("ECDSAInvalidSignatureS")})
		recoverable = lowS(sig)
	case shape != "":
		add(SigFinding{Name: "signature", Severity: SevFail, Value: "malformed", Detail: shape + ": the escrow reverts ECDSAInvalidSignature",
			Fix: fixOf("ECDSAInvalidSignature")})
	default:
		add(SigFinding{Name: "signature", Severity: SevOK, Value: "well-formed", Detail: "65 bytes, low s, v = 27/28"})
	}
	if recoverable != nil {
		if a, err := Recover(digest, recoverable); err == nil {
			d.Signer = a
		} else if shape == "" {
			d.Findings[len(d.Findings)-1] = SigFinding{Name: "signature", Severity: SevFail, Value: "malformed",
				Detail: "r and s do not form a recoverable signature: the escrow reverts ECDSAInvalidSignature", Fix: fixOf("ECDSAInvalidSignature")}
		}
	}

	// The robot, as the registry has it.
	registered := r.Controller != (common.Address{})
	if registered {
		add(SigFinding{Name: "robot registered", Severity: SevOK, Value: "yes", Detail: "controller " + r.Controller.Hex()})
		if r.Active {
			add(SigFinding{Name: "robot active", Severity: SevOK, Value: "yes"})
		} else {
			add(SigFinding{Name: "robot active", Severity: SevFail, Value: "no: deactivated",
				Detail: "runbook: robot deactivated. The escrow itself would accept the signature, but the API does not relay completions of an inactive robot",
				Fix:    "check IdentityRegistry state: vrwxctl robot get " + r.Job.RobotID.Hex() + "; the robot's owner must use an active robot (the buyer can refund after the deadline)"})
		}
	} else {
		add(SigFinding{Name: "robot registered", Severity: SevFail, Value: "no",
			Detail: "runbook: robot not registered. The registry has no controller for robot " + r.Job.RobotID.Hex() + "; the escrow reverts RobotNotFound",
			Fix:    "check IdentityRegistry state (vrwxctl robot get " + r.Job.RobotID.Hex() + ") and IDENTITY_REGISTRY_ADDRESS; register the robot before completing its jobs"})
	}

	// Who signed.
	switch {
	case d.Signer == (common.Address{}):
		add(SigFinding{Name: "signer", Severity: SevFail, Value: "unknown", Detail: "the signature cannot be recovered"})
	case registered && d.Signer == r.Controller:
		add(SigFinding{Name: "signer", Severity: SevOK, Value: d.Signer.Hex(), Detail: "the robot's controller, for chain " + req.Domain.ChainID.String() + " and escrow " + req.Domain.Escrow.Hex()})
	default:
		if registered {
			d.SignedFor = findDomain(claim, recoverable, r.Controller, req.Alternatives)
		}
		f := SigFinding{Name: "signer", Severity: SevFail, Value: d.Signer.Hex()}
		switch {
		case d.SignedFor != nil:
			f.Value = "controller, for another domain"
			f.Detail = fmt.Sprintf("runbook: signature for wrong chain. The controller %s signed this claim for %s (chain %s, escrow %s), not for chain %s and escrow %s",
				r.Controller.Hex(), d.SignedFor.Label, d.SignedFor.ChainID, d.SignedFor.Escrow.Hex(), req.Domain.ChainID, req.Domain.Escrow.Hex())
			f.Fix = fmt.Sprintf("the robot must sign with domain {name VRWX, version 1, chainId %s, verifyingContract %s}; check the robot's / API's DEFAULT_CHAIN_ID and JOB_ESCROW_ADDRESS",
				req.Domain.ChainID, req.Domain.Escrow.Hex())
		case registered:
			f.Detail = fmt.Sprintf("runbook: wrong controller signing. The signer is %s but the controller is %s (and no other known chain or escrow explains it); a claim with another completion hash, quality score or work units also recovers to another address",
				d.Signer.Hex(), r.Controller.Hex())
			f.Fix = "sign with the controller's key, or rotate the registry's controller; check --completion-hash, --quality and --work-units against what the robot signed"
		default:
			f.Detail = "the signer is " + d.Signer.Hex() + ", but the robot has no controller to compare with"
		}
		add(f)
	}

	// The claim against the job's state, in the escrow's order of checks.
	if r.Job.Status == StatusFunded {
		add(SigFinding{Name: "job status", Severity: SevOK, Value: r.Job.Status.String()})
	} else {
		add(SigFinding{Name: "job status", Severity: SevFail, Value: r.Job.Status.String(),
			Detail: "submitCompletionV2 needs FUNDED: it would revert InvalidStatus", Fix: fixOf("InvalidStatus")})
	}
	deadline := time.Unix(clampUnix(r.Job.Deadline), 0).UTC()
	if r.Job.Deadline.IsInt64() && !r.Now.After(deadline) {
		add(SigFinding{Name: "deadline", Severity: SevOK, Value: deadline.Format(time.RFC3339)})
	} else {
		add(SigFinding{Name: "deadline", Severity: SevFail, Value: deadline.Format(time.RFC3339),
			Detail: "the deadline has passed: it would revert DeadlinePassed", Fix: fixOf("DeadlinePassed")})
	}
	if r.ClaimUsed {
		add(SigFinding{Name: "claim", Severity: SevFail, Value: "already used",
			Detail: "this exact completion (job, completion hash, quality, work units) was submitted before: it would revert ClaimAlreadyUsed",
			Fix:    fixOf("ClaimAlreadyUsed")})
	} else {
		add(SigFinding{Name: "claim", Severity: SevOK, Value: "unused"})
	}

	// vrwxctl's digest against the contract's own.
	switch {
	case r.ChainDigest == nil && r.DigestSkipped:
		add(SigFinding{Name: "digest", Severity: SevInfo, Value: "not cross-checked", Detail: digest.Hex() + "; not asked: the transaction's simulation runs the escrow's own signature check"})
	case r.ChainDigest == nil:
		add(SigFinding{Name: "digest", Severity: SevInfo, Value: "not cross-checked", Detail: digest.Hex() + "; the escrow's hashTypedDataV4 could not be read"})
	case *r.ChainDigest == digest:
		add(SigFinding{Name: "digest", Severity: SevOK, Value: "matches the escrow's", Detail: digest.Hex() + " = hashTypedDataV4 on chain"})
	default:
		add(SigFinding{Name: "digest", Severity: SevWarn, Value: "differs from the escrow's",
			Detail: "vrwxctl " + digest.Hex() + ", the escrow's hashTypedDataV4 " + r.ChainDigest.Hex() + ": its EIP-712 domain or claim type differs from the profile's",
			Fix:    "run vrwxctl contracts check: the escrow's eip712Domain must be VRWX / 1 / the profile's chain id / the escrow address"})
	}

	d.Valid = true
	for _, f := range d.Findings {
		if f.Severity == SevFail {
			d.Valid = false
		}
	}
	return d, nil
}

// findDomain returns the alternative domain under which sig recovers to controller.
func findDomain(c Claim, sig []byte, controller common.Address, alts []NamedDomain) *NamedDomain {
	if sig == nil {
		return nil
	}
	for _, alt := range alts {
		dg, err := c.Digest(alt.Domain)
		if err != nil {
			continue
		}
		if a, err := Recover(dg, sig); err == nil && a == controller {
			found := alt
			return &found
		}
	}
	return nil
}

var secp256k1N = crypto.S256().Params().N

func isHighS(sig []byte) bool {
	return len(sig) == 65 && new(big.Int).SetBytes(sig[32:64]).Cmp(secp256k1HalfN) > 0
}

// lowS returns the equivalent low-s signature (s' = N - s, v flipped), so a high-s
// signature still tells who made it.
func lowS(sig []byte) []byte {
	out := append([]byte(nil), sig...)
	s := new(big.Int).Sub(secp256k1N, new(big.Int).SetBytes(sig[32:64]))
	copy(out[32:64], common.LeftPadBytes(s.Bytes(), 32))
	switch out[64] {
	case 27, 28:
		out[64] = 55 - out[64]
	case 0, 1:
		out[64] = 1 - out[64]
	}
	return out
}

func clampUnix(v *big.Int) int64 {
	if v.IsInt64() {
		return v.Int64()
	}
	return 1<<63 - 1
}

// ChainName names the chain ids vrwxctl knows, for messages.
func ChainName(id uint64) string {
	switch id {
	case 1:
		return "Ethereum mainnet"
	case 8453:
		return "base-mainnet"
	case 84532:
		return "base-sepolia"
	case 31337:
		return "local (anvil)"
	}
	return ""
}
