package dlqtest

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// Case is a failed relay of a seeded job as the live API records it: the
// completion it tried to submit, and the reason ethers gave (the TX_FAIL row's
// reason, from the node's real answer).
type Case struct {
	// Name is the contract error the relay failed with (or INSUFFICIENT_FUNDS).
	Name       string
	Completion devchain.Completion
	Reason     string
	// Raw is the signed transaction of an INSUFFICIENT_FUNDS case.
	Raw []byte
}

// Row is the case as a fixture TX_FAIL row: the live API's payload (no quality or
// work units), the reason text, and the job's idempotency key FAILED as the API
// leaves it.
func (c Case) Row(body map[string]any) apidbtest.TxFailRow {
	return apidbtest.TxFailRow{JobID: fmt.Sprint(c.Completion.JobID), ManifestHash: c.Completion.CompletionHash.Hex(),
		ControllerSig: hexutil.Encode(c.Completion.Signature), ServiceType: "inspection", Body: body, Reason: c.Reason, NullServiceType: true,
		IdempotencyFailed: true}
}

// Builder makes the cases on a deployed devchain.
type Builder struct {
	D   *devchain.Deployment
	RPC *rpc.Client
}

// NewBuilder dials the deployment's node.
func NewBuilder(ctx context.Context, d *devchain.Deployment) (*Builder, error) {
	c, err := rpc.DialContext(ctx, d.RPCURL)
	if err != nil {
		return nil, err
	}
	return &Builder{D: d, RPC: c}, nil
}

// Close closes the connection.
func (b *Builder) Close() { b.RPC.Close() }

// Sign signs a completion of the seeded job name with key for (chainID, escrow).
func (b *Builder) Sign(ctx context.Context, name string, tag string, quality uint8, workUnits uint32, key *ecdsa.PrivateKey, chainID uint64, escrow common.Address) (devchain.Completion, error) {
	id, ok := b.D.Jobs[name]
	if !ok {
		id = 999_999 // a job the escrow never created
	}
	return devchain.SignJobCompletion(ctx, b.D, id, crypto.Keccak256Hash([]byte("dlqtest-"+name+"-"+tag)), quality, workUnits, key, chainID, escrow)
}

// Controller signs for the profile's domain with the active robot's controller.
func (b *Builder) Controller(ctx context.Context, name, tag string, quality uint8, workUnits uint32) (devchain.Completion, error) {
	return b.Sign(ctx, name, tag, quality, workUnits, devchain.DevKey(devchain.AccountActiveController), b.D.ChainID, b.D.Escrow)
}

// Calldata is submitCompletionV2's calldata for c.
func Calldata(c devchain.Completion) []byte {
	return vrwx.Pack(vrwx.EscrowABI(), "submitCompletionV2", new(big.Int).SetUint64(c.JobID), [32]byte(c.CompletionHash), c.QualityScore, c.WorkUnits, c.Signature)
}

// Estimate is the estimateGas failure of relaying c from the relayer.
func (b *Builder) Estimate(ctx context.Context, name string, c devchain.Completion) (Case, error) {
	r, err := EstimateGasReason(ctx, b.RPC, b.D.Relayer, b.D.Escrow, Calldata(c))
	if err != nil {
		return Case{}, fmt.Errorf("%s: %w", name, err)
	}
	return Case{Name: name, Completion: c, Reason: r}, nil
}

// Reverts are the estimateGas failures of every error submitCompletionV2 can revert
// with on the test escrow, each a real eth_estimateGas on the node: the spec's
// errors in the escrow's order of checks, then OpenZeppelin's signature errors.
func (b *Builder) Reverts(ctx context.Context) ([]Case, error) {
	var out []Case
	add := func(name string, c devchain.Completion, err error) error {
		if err != nil {
			return err
		}
		cs, err := b.Estimate(ctx, name, c)
		out = append(out, cs)
		return err
	}
	steps := []func() error{
		func() error {
			c, err := b.Controller(ctx, "no-such-job", "nf", 100, 10)
			return add("JobNotFound", c, err)
		},
		func() error {
			c, err := b.Controller(ctx, devchain.JobCompleted, "st", 100, 10)
			return add("InvalidStatus", c, err)
		},
		func() error {
			c, err := b.Controller(ctx, devchain.JobFundedOverdue, "dl", 100, 10)
			return add("DeadlinePassed", c, err)
		},
		func() error {
			cl := b.D.Claims[devchain.JobFundedReopened]
			c := devchain.Completion{JobID: b.D.Jobs[devchain.JobFundedReopened], CompletionHash: cl.CompletionHash, QualityScore: cl.QualityScore,
				WorkUnits: cl.WorkUnits, Signature: cl.Signature}
			return add("ClaimAlreadyUsed", c, nil)
		},
		func() error {
			c, err := b.Controller(ctx, devchain.JobFundedUnregistered, "rb", 100, 10)
			return add("RobotNotFound", c, err)
		},
		func() error {
			// Signed by someone who is not the controller.
			c, err := b.Sign(ctx, devchain.JobFunded, "wk", 100, 10, devchain.DevKey(devchain.AccountBuyer), b.D.ChainID, b.D.Escrow)
			return add("InvalidSignature", c, err)
		},
		func() error {
			c, err := b.Controller(ctx, devchain.JobFunded, "ln", 100, 10)
			c.Signature = c.Signature[:64]
			return add("ECDSAInvalidSignatureLength", c, err)
		},
		func() error {
			c, err := b.Controller(ctx, devchain.JobFunded, "hs", 100, 10)
			if err == nil {
				c.Signature = highS(c.Signature)
			}
			return add("ECDSAInvalidSignatureS", c, err)
		},
		func() error {
			c, err := b.Controller(ctx, devchain.JobFunded, "vv", 100, 10)
			if err == nil {
				c.Signature = append([]byte(nil), c.Signature...)
				c.Signature[64] = 30
			}
			return add("ECDSAInvalidSignature", c, err)
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// WrongDomain is an InvalidSignature whose signature the controller made for another
// chain id (the runbook's "signature for wrong chain").
func (b *Builder) WrongDomain(ctx context.Context, name string, chainID uint64, quality uint8, workUnits uint32) (Case, error) {
	c, err := b.Sign(ctx, name, fmt.Sprint("chain", chainID), quality, workUnits, devchain.DevKey(devchain.AccountActiveController), chainID, b.D.Escrow)
	if err != nil {
		return Case{}, err
	}
	return b.Estimate(ctx, "InvalidSignature", c)
}

var secp256k1N = crypto.S256().Params().N

// highS returns the same signature with s' = N - s and v flipped: still valid
// mathematically, refused by OpenZeppelin.
func highS(sig []byte) []byte {
	out := append([]byte(nil), sig...)
	s := new(big.Int).Sub(secp256k1N, new(big.Int).SetBytes(sig[32:64]))
	copy(out[32:64], common.LeftPadBytes(s.Bytes(), 32))
	out[64] = 55 - out[64]
	return out
}

// Unfunded signs c's relay with key (an account holding no ETH) the way ethers does —
// EIP-1559, the node's nonce, fees from the node, gas limit estimate × 1.2 — and
// sends it, returning the INSUFFICIENT_FUNDS reason the node's refusal becomes.
func (b *Builder) Unfunded(ctx context.Context, key *ecdsa.PrivateKey, c devchain.Completion) (Case, error) {
	from := crypto.PubkeyToAddress(key.PublicKey)
	data := Calldata(c)
	var nonce hexutil.Uint64
	if err := b.RPC.CallContext(ctx, &nonce, "eth_getTransactionCount", from, "pending"); err != nil {
		return Case{}, err
	}
	var gas hexutil.Uint64
	if err := b.RPC.CallContext(ctx, &gas, "eth_estimateGas", map[string]any{"from": from, "to": b.D.Escrow, "data": hexutil.Bytes(data)}); err != nil {
		return Case{}, fmt.Errorf("estimate the unfunded relay: %w", err)
	}
	var head struct {
		BaseFee *hexutil.Big `json:"baseFeePerGas"`
	}
	if err := b.RPC.CallContext(ctx, &head, "eth_getBlockByNumber", "latest", false); err != nil {
		return Case{}, err
	}
	tip := big.NewInt(1_000_000_000)
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee.ToInt(), big.NewInt(2)), tip)
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(new(big.Int).SetUint64(b.D.ChainID)), &types.DynamicFeeTx{
		ChainID: new(big.Int).SetUint64(b.D.ChainID), Nonce: uint64(nonce), GasTipCap: tip, GasFeeCap: feeCap,
		Gas: uint64(gas) * 12 / 10, To: &b.D.Escrow, Data: data,
	})
	if err != nil {
		return Case{}, err
	}
	raw, err := tx.MarshalBinary()
	if err != nil {
		return Case{}, err
	}
	r, err := SendRawReason(ctx, b.RPC, raw)
	if err != nil {
		return Case{}, err
	}
	return Case{Name: "INSUFFICIENT_FUNDS", Completion: c, Reason: r, Raw: raw}, nil
}
