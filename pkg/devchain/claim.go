package devchain

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"

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
