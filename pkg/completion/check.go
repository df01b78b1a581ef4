// Package completion is the one way vrwxctl completes a job: it reads what the escrow
// and the API judge a completion by (the job and its deadline, the claim key, the
// robot and its controller), diagnoses the controller's signature, and sends
// submitCompletionV2 through the shared send path only when every check passes.
// `job complete`, `dlq replay` and `robot verify-sig` all call it, so a replayed
// completion gets exactly the checks of a manual one.
package completion

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/report"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// Claim is a completion as the robot's controller signed it: submitCompletionV2's
// arguments.
type Claim struct {
	JobID          *big.Int
	CompletionHash common.Hash
	QualityScore   uint8
	WorkUnits      uint32
	Signature      []byte
}

// NamedEscrow is another escrow a signature is tried against when the signer is not
// the controller, for example another profile's.
type NamedEscrow struct {
	Label   string
	Address common.Address
}

// Checker reads what a completion is judged against and judges it.
type Checker struct {
	Chain  *chain.Client
	Escrow common.Address
	// Registry is the IdentityRegistry; the zero address asks the escrow's identity().
	Registry common.Address
	// Now is the wall clock; deadlines are judged against the later of it and the
	// chain head's time.
	Now func() time.Time
	// OtherEscrows are tried, on every candidate chain id, when the signature does not
	// recover to the controller: a signature made for another deployment says so.
	OtherEscrows []NamedEscrow
	// CrossCheckDigest spends one more round trip to compare vrwxctl's EIP-712 digest
	// with the escrow's own hashTypedDataV4. A send simulates the call anyway, and
	// `contracts check` proves the encoding once per deployment.
	CrossCheckDigest bool
}

// Verdict is a completion judged as the escrow and the API would: the -o json shape
// of robot verify-sig and the preflight of a completion's send.
type Verdict struct {
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
	Checks    []report.Check `json:"checks"`
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

// candidateChains are the chain ids a signature is tried against besides the client's.
var candidateChains = []uint64{1, 8453, 84532, 31337}

// Check reads the job with its robot, the claim key and the head in one round trip
// (a second one with CrossCheckDigest), and judges the completion. An error means
// the readings could not be had; a completion that would fail is a Verdict with
// Valid false and the failed checks.
func (k *Checker) Check(ctx context.Context, c Claim) (*Verdict, error) {
	used := vrwx.Pack(vrwx.EscrowABI(), "claimUsed", vrwx.ClaimKey(c.JobID, c.CompletionHash, c.QualityScore, c.WorkUnits))
	var usedOut hexutil.Bytes
	var head *chain.Head
	extra := []rpc.BatchElem{
		{Method: "eth_call", Args: []any{chain.CallMsg{To: k.Escrow, Input: used, Data: used}, "latest"}, Result: &usedOut},
		{Method: "eth_getBlockByNumber", Args: []any{"latest", false}, Result: &head},
	}
	r, err := vrwx.ReadJob(ctx, k.Chain, k.Escrow, k.Registry, c.JobID, extra...)
	if err != nil {
		return nil, errs.Failedf("reading job %s from escrow %s", c.JobID, k.Escrow.Hex()).Wrap(err).
			WithFix("check the profile's escrow (vrwxctl contracts check)")
	}
	if !r.Job.Exists() {
		return nil, errs.Failedf("job %s does not exist on escrow %s: submitCompletionV2 would revert JobNotFound", c.JobID, k.Escrow.Hex()).
			WithFix("check the job id and the profile's escrow (vrwxctl config view)")
	}
	if err := firstErr(r.ControllerErr, r.ActiveErr); err != nil {
		return nil, errs.Failedf("IdentityRegistry %s unreadable", r.Registry.Hex()).Wrap(err).
			WithFix("check IDENTITY_REGISTRY_ADDRESS (vrwxctl contracts check)")
	}
	if extra[0].Error != nil {
		return nil, errs.Failedf("escrow %s: claimUsed", k.Escrow.Hex()).Wrap(extra[0].Error)
	}
	claimUsed, err := vrwx.DecodeBool(usedOut)
	if err != nil {
		return nil, errs.Failedf("escrow %s: claimUsed", k.Escrow.Hex()).Wrap(err)
	}
	var headTime uint64
	if extra[1].Error == nil && head != nil {
		headTime = uint64(head.Time)
	}

	chainID := k.Chain.ChainID()
	domain := vrwx.Domain{ChainID: new(big.Int).SetUint64(chainID), Escrow: k.Escrow}
	req := vrwx.SigRequest{JobID: c.JobID, CompletionHash: c.CompletionHash, QualityScore: c.QualityScore, WorkUnits: c.WorkUnits,
		Signature: c.Signature, Domain: domain, Alternatives: k.alternatives(chainID)}
	readings := vrwx.SigReadings{Job: r.Job, Controller: r.Controller, Active: r.Active, ClaimUsed: claimUsed, Now: vrwx.Now(k.Now(), headTime),
		DigestSkipped: !k.CrossCheckDigest}

	claim := vrwx.Claim{JobID: c.JobID, JobSpecHash: r.Job.JobSpecHash, CompletionHash: c.CompletionHash, RobotID: r.Job.RobotID,
		Controller: r.Controller, Deadline: r.Job.Deadline, QualityScore: c.QualityScore, WorkUnits: c.WorkUnits}
	if sh, _, err := claim.Hashes(domain); err == nil && k.CrossCheckDigest {
		b := k.Chain.NewBatch()
		call := b.Call(k.Escrow, vrwx.Pack(vrwx.EscrowABI(), "hashTypedDataV4", sh), chain.Latest)
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
	out := &Verdict{Valid: d.Valid, ChainID: chainID, Escrow: k.Escrow.Hex(), Registry: r.Registry.Hex(),
		Claim: ClaimJSON{JobID: c.JobID.String(), JobSpecHash: d.Claim.JobSpecHash.Hex(), CompletionHash: c.CompletionHash.Hex(),
			RobotID: d.Claim.RobotID.Hex(), Controller: d.Claim.Controller.Hex(), Deadline: d.Claim.Deadline.String(),
			QualityScore: c.QualityScore, WorkUnits: c.WorkUnits},
		StructHash: d.StructHash.Hex(), Digest: d.Digest.Hex(), Controller: r.Controller.Hex(), Checks: []report.Check{}}
	if d.Signer != (common.Address{}) {
		out.Signer = d.Signer.Hex()
	}
	if d.SignedFor != nil {
		out.SignedFor = &SignedForJSON{Label: d.SignedFor.Label, ChainID: d.SignedFor.ChainID.String(), Escrow: d.SignedFor.Escrow.Hex()}
	}
	for _, f := range d.Findings {
		out.Checks = append(out.Checks, report.Check{Section: "signature", Name: f.Name, Level: level(f.Severity), Value: f.Value, Detail: f.Detail, Fix: f.Fix})
	}
	return out, nil
}

func level(s vrwx.Severity) report.Level {
	switch s {
	case vrwx.SevOK:
		return report.OK
	case vrwx.SevFail:
		return report.Crit
	case vrwx.SevWarn:
		return report.Warn
	}
	return report.Info
}

// alternatives lists the domains a mismatching signature is tried against: the
// candidate chain ids with this escrow, and every chain id with the other escrows.
func (k *Checker) alternatives(chainID uint64) []vrwx.NamedDomain {
	chains := []uint64{chainID}
	for _, id := range candidateChains {
		if id != chainID {
			chains = append(chains, id)
		}
	}
	escrows := []NamedEscrow{{"this profile's escrow", k.Escrow}}
	seen := map[common.Address]bool{k.Escrow: true}
	for _, e := range k.OtherEscrows {
		if !seen[e.Address] {
			seen[e.Address] = true
			escrows = append(escrows, e)
		}
	}
	var out []vrwx.NamedDomain
	for _, e := range escrows {
		for _, id := range chains {
			if id == chainID && e.Address == k.Escrow {
				continue
			}
			label := fmt.Sprintf("chain %d", id)
			if n := vrwx.ChainName(id); n != "" {
				label += " (" + n + ")"
			}
			label += " with " + e.Label
			out = append(out, vrwx.NamedDomain{Domain: vrwx.Domain{ChainID: new(big.Int).SetUint64(id), Escrow: e.Address}, Label: label})
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
