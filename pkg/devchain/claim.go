package devchain

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"
)

// CompletionClaim is the EIP-712 CompletionClaimV2 message (spec/VRWX.md, "EIP-712
// completion claim"). JobSpecHash, RobotID and Deadline come from the job on chain,
// Controller from the registry.
type CompletionClaim struct {
	JobID          *big.Int
	JobSpecHash    common.Hash
	CompletionHash common.Hash
	RobotID        common.Hash
	Controller     common.Address
	Deadline       *big.Int
	QualityScore   uint8
	WorkUnits      uint32
}

// ClaimDigest is the EIP-712 digest the controller signs, for the domain VRWX / 1 /
// chainID / escrow. It is computed with go-ethereum's typed-data encoder, independently
// of the contract's OpenZeppelin code, so each checks the other.
func ClaimDigest(chainID uint64, escrow common.Address, c CompletionClaim) (common.Hash, error) {
	if c.JobID == nil || c.Deadline == nil {
		return common.Hash{}, fmt.Errorf("completion claim: job id and deadline are required")
	}
	td := apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain": {
				{Name: "name", Type: "string"},
				{Name: "version", Type: "string"},
				{Name: "chainId", Type: "uint256"},
				{Name: "verifyingContract", Type: "address"},
			},
			"CompletionClaimV2": {
				{Name: "jobId", Type: "uint256"},
				{Name: "jobSpecHash", Type: "bytes32"},
				{Name: "completionHash", Type: "bytes32"},
				{Name: "robotId", Type: "bytes32"},
				{Name: "controller", Type: "address"},
				{Name: "deadline", Type: "uint256"},
				{Name: "qualityScore", Type: "uint8"},
				{Name: "workUnits", Type: "uint32"},
			},
		},
		PrimaryType: "CompletionClaimV2",
		Domain: apitypes.TypedDataDomain{
			Name:              "VRWX",
			Version:           "1",
			ChainId:           math.NewHexOrDecimal256(int64(chainID)),
			VerifyingContract: escrow.Hex(),
		},
		Message: apitypes.TypedDataMessage{
			"jobId":          new(big.Int).Set(c.JobID),
			"jobSpecHash":    c.JobSpecHash.Bytes(),
			"completionHash": c.CompletionHash.Bytes(),
			"robotId":        c.RobotID.Bytes(),
			"controller":     c.Controller.Hex(),
			"deadline":       new(big.Int).Set(c.Deadline),
			"qualityScore":   new(big.Int).SetUint64(uint64(c.QualityScore)),
			"workUnits":      new(big.Int).SetUint64(uint64(c.WorkUnits)),
		},
	}
	digest, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		return common.Hash{}, fmt.Errorf("hash CompletionClaimV2 for job %s: %w", c.JobID, err)
	}
	return common.BytesToHash(digest), nil
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

// ClaimKey is the escrow's anti-replay key for a V2 claim:
// keccak256(abi.encode(jobId, completionHash, qualityScore, workUnits)).
func ClaimKey(jobID *big.Int, completionHash common.Hash, qualityScore uint8, workUnits uint32) common.Hash {
	word := func(v *big.Int) []byte { return common.LeftPadBytes(v.Bytes(), 32) }
	return crypto.Keccak256Hash(
		word(jobID),
		completionHash.Bytes(),
		word(new(big.Int).SetUint64(uint64(qualityScore))),
		word(new(big.Int).SetUint64(uint64(workUnits))),
	)
}
