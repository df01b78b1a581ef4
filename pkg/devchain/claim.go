package devchain

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// CompletionClaim is the EIP-712 CompletionClaimV2 message (spec/VRWX.md). JobSpecHash,
// RobotID and Deadline come from the job on chain, Controller from the registry.
type CompletionClaim = vrwx.Claim

// ClaimDigest is the EIP-712 digest the controller signs, for the domain VRWX / 1 /
// chainID / escrow: vrwxctl's own encoding, which the tests check against the
// contract's hashTypedDataV4.
func ClaimDigest(chainID uint64, escrow common.Address, c CompletionClaim) (common.Hash, error) {
	if c.JobID == nil || c.Deadline == nil {
		return common.Hash{}, fmt.Errorf("completion claim: job id and deadline are required")
	}
	return c.Digest(vrwx.Domain{ChainID: new(big.Int).SetUint64(chainID), Escrow: escrow})
}

// SignCompletionV2 signs the claim as the controller would: a 65-byte r||s||v signature
// with v = 27 or 28, the form submitCompletionV2 takes.
func SignCompletionV2(key *ecdsa.PrivateKey, chainID uint64, escrow common.Address, c CompletionClaim) ([]byte, error) {
	digest, err := ClaimDigest(chainID, escrow, c)
	if err != nil {
		return nil, err
	}
	sig, err := crypto.Sign(digest.Bytes(), key)
	if err != nil {
		return nil, fmt.Errorf("sign CompletionClaimV2 for job %s: %w", c.JobID, err)
	}
	sig[64] += 27
	return sig, nil
}

// ClaimKey is the escrow's anti-replay key for a V2 claim.
func ClaimKey(jobID *big.Int, completionHash common.Hash, qualityScore uint8, workUnits uint32) common.Hash {
	return vrwx.ClaimKey(jobID, completionHash, qualityScore, workUnits)
}

// Completion is a controller-signed completion of a job, the fields a relayer submits.
type Completion struct {
	JobID          uint64
	CompletionHash common.Hash
	QualityScore   uint8
	WorkUnits      uint32
	// Controller is the registry's controller of the job's robot: the claim's signer
	// when key was the controller's.
	Controller common.Address
	Signature  []byte
}

// SignJobCompletion builds the CompletionClaimV2 of job id the way the API does — the
// job's spec hash, robot and deadline from d's escrow, the controller from its
// registry — and signs it with key for the domain (chainID, escrow). A key other than
// the controller's, or another domain, gives the signatures tests need to reject.
func SignJobCompletion(ctx context.Context, d *Deployment, id uint64, completion common.Hash, quality uint8, workUnits uint32,
	key *ecdsa.PrivateKey, chainID uint64, escrow common.Address) (Completion, error) {
	c, err := dial(ctx, d.RPCURL)
	if err != nil {
		return Completion{}, err
	}
	defer c.close()
	jobID := new(big.Int).SetUint64(id)
	out, err := c.ec.CallContract(ctx, ethereum.CallMsg{To: &d.Escrow, Data: vrwx.PackJobs(jobID)}, nil)
	if err != nil {
		return Completion{}, fmt.Errorf("read job %d: %w", id, err)
	}
	j, err := vrwx.DecodeJob(jobID, out)
	if err != nil {
		return Completion{}, err
	}
	out, err = c.ec.CallContract(ctx, ethereum.CallMsg{To: &d.Identity, Data: vrwx.Pack(vrwx.RegistryABI(), "getController", [32]byte(j.RobotID))}, nil)
	if err != nil {
		return Completion{}, fmt.Errorf("read the controller of job %d's robot: %w", id, err)
	}
	claim := CompletionClaim{JobID: jobID, JobSpecHash: j.JobSpecHash, CompletionHash: completion, RobotID: j.RobotID,
		Controller: common.BytesToAddress(out), Deadline: j.Deadline, QualityScore: quality, WorkUnits: workUnits}
	sig, err := SignCompletionV2(key, chainID, escrow, claim)
	if err != nil {
		return Completion{}, err
	}
	return Completion{JobID: id, CompletionHash: completion, QualityScore: quality, WorkUnits: workUnits, Controller: claim.Controller, Signature: sig}, nil
}
