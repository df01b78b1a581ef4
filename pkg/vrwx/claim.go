package vrwx

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"
)

// EIP-712 domain of the escrow.
const (
	DomainName    = "VRWX"
	DomainVersion = "1"
)

// ClaimTypeV2 is the primary type's encoding, field order as the contract hashes it.
const ClaimTypeV2 = "CompletionClaimV2(uint256 jobId,bytes32 jobSpecHash,bytes32 completionHash,bytes32 robotId,address controller,uint256 deadline,uint8 qualityScore,uint32 workUnits)"

// Claim is a CompletionClaimV2: what the robot's controller signs and the relayer submits.
type Claim struct {
	JobID          *big.Int
	JobSpecHash    common.Hash
	CompletionHash common.Hash
	RobotID        common.Hash
	Controller     common.Address
	Deadline       *big.Int
	QualityScore   uint8
	WorkUnits      uint32
}

// Domain is the EIP-712 domain of one escrow on one chain.
type Domain struct {
	ChainID *big.Int
	Escrow  common.Address
}

// TypedData is the claim as EIP-712 typed data (the shape eth_signTypedData_v4 takes).
func (c Claim) TypedData(d Domain) apitypes.TypedData {
	return apitypes.TypedData{
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
			Name:              DomainName,
			Version:           DomainVersion,
			ChainId:           (*math.HexOrDecimal256)(d.ChainID),
			VerifyingContract: d.Escrow.Hex(),
		},
		Message: apitypes.TypedDataMessage{
			"jobId":          (*math.HexOrDecimal256)(c.JobID),
			"jobSpecHash":    c.JobSpecHash.Hex(),
			"completionHash": c.CompletionHash.Hex(),
			"robotId":        c.RobotID.Hex(),
			"controller":     c.Controller.Hex(),
			"deadline":       (*math.HexOrDecimal256)(c.Deadline),
			"qualityScore":   fmt.Sprint(c.QualityScore),
			"workUnits":      fmt.Sprint(c.WorkUnits),
		},
	}
}

// Hashes returns the claim's struct hash and its EIP-712 digest under domain d.
func (c Claim) Hashes(d Domain) (structHash, digest common.Hash, err error) {
	td := c.TypedData(d)
	sh, err := td.HashStruct(td.PrimaryType, td.Message)
	if err != nil {
		return common.Hash{}, common.Hash{}, fmt.Errorf("hash CompletionClaimV2: %w", err)
	}
	ds, err := td.HashStruct("EIP712Domain", td.Domain.Map())
	if err != nil {
		return common.Hash{}, common.Hash{}, fmt.Errorf("hash EIP-712 domain: %w", err)
	}
	raw := append([]byte{0x19, 0x01}, append(ds, sh...)...)
	return common.BytesToHash(sh), crypto.Keccak256Hash(raw), nil
}

// Digest is the EIP-712 digest the controller signs.
func (c Claim) Digest(d Domain) (common.Hash, error) {
	_, dg, err := c.Hashes(d)
	return dg, err
}

// ClaimKey is the escrow's anti-replay key:
// keccak256(abi.encode(jobId, completionHash, qualityScore, workUnits)).
func ClaimKey(jobID *big.Int, completionHash common.Hash, quality uint8, workUnits uint32) common.Hash {
	buf := make([]byte, 0, 128)
	buf = append(buf, common.LeftPadBytes(jobID.Bytes(), 32)...)
	buf = append(buf, completionHash.Bytes()...)
	buf = append(buf, common.LeftPadBytes([]byte{quality}, 32)...)
	buf = append(buf, common.LeftPadBytes(big.NewInt(int64(workUnits)).Bytes(), 32)...)
	return crypto.Keccak256Hash(buf)
}

// RobotIDFromName derives a robot id the way the API does: keccak256("<tenantId>:<robotName>").
func RobotIDFromName(tenantAndName string) common.Hash {
	return crypto.Keccak256Hash([]byte(tenantAndName))
}

// secp256k1N is the curve order; a signature's s must be at most N/2 (EIP-2).
var secp256k1HalfN = new(big.Int).Rsh(crypto.S256().Params().N, 1)

// SignatureProblem says why a 65-byte signature cannot be valid, or "" when its
// shape is fine. It checks length, v, and the low-s rule OpenZeppelin's ECDSA enforces.
func SignatureProblem(sig []byte) string {
	if len(sig) != 65 {
		return fmt.Sprintf("signature is %d bytes; expected 65 (r, s, v)", len(sig))
	}
	s := new(big.Int).SetBytes(sig[32:64])
	if s.Cmp(secp256k1HalfN) > 0 {
		return "signature has a high s value (malleable form); OpenZeppelin's ECDSA rejects it — re-sign with a standard signer"
	}
	if v := sig[64]; v != 27 && v != 28 {
		return fmt.Sprintf("signature has v = %d; the escrow's ECDSA needs 27 or 28", v)
	}
	return ""
}

// Recover returns the address that signed digest with sig. It accepts v as 0/1 as
// well as 27/28, so a diagnosis can still say who signed a badly encoded signature.
func Recover(digest common.Hash, sig []byte) (common.Address, error) {
	if len(sig) != 65 {
		return common.Address{}, fmt.Errorf("signature is %d bytes; expected 65", len(sig))
	}
	s := make([]byte, 65)
	copy(s, sig)
	if s[64] >= 27 {
		s[64] -= 27
	}
	pub, err := crypto.SigToPub(digest.Bytes(), s)
	if err != nil {
		return common.Address{}, fmt.Errorf("signature does not recover: %w", err)
	}
	return crypto.PubkeyToAddress(*pub), nil
}

// HexBytes is re-exported for JSON output of signatures and calldata.
type HexBytes = hexutil.Bytes
