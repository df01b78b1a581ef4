package signer_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/signer"
)

// openEnvSigner stores a fresh key in the environment and opens it by
// reference, the way vrwxctl is run.
func openEnvSigner(t *testing.T) (*signer.Signer, common.Address, string) {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	h := hex.EncodeToString(crypto.FromECDSA(k))
	env := func(k string) (string, bool) { return "0x" + h, k == "VRWX_SIGNER_TEST_KEY" }
	s, err := signer.Open(context.Background(), "env://VRWX_SIGNER_TEST_KEY", secrets.Options{LookupEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	return s, crypto.PubkeyToAddress(k.PublicKey), h
}

func TestSignHashRecoversToAddress(t *testing.T) {
	t.Parallel()
	s, addr, h := openEnvSigner(t)
	if s.Address() != addr {
		t.Fatalf("Address = %s, want %s", s.Address().Hex(), addr.Hex())
	}
	digest := crypto.Keccak256Hash([]byte("vrwx completion claim"))
	sig, err := s.SignHash(digest)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 65 || (sig[64] != 27 && sig[64] != 28) {
		t.Fatalf("signature %x: want 65 bytes with v = 27 or 28", sig)
	}
	// Recover independently of this package, as ecrecover would.
	raw := append([]byte{}, sig...)
	raw[64] -= 27
	pub, err := crypto.SigToPub(digest[:], raw)
	if err != nil {
		t.Fatal(err)
	}
	if crypto.PubkeyToAddress(*pub) != addr {
		t.Fatal("signature does not recover to the signer's address")
	}
	if got, err := signer.RecoverHash(digest, sig); err != nil || got != addr {
		t.Fatalf("RecoverHash = %s, %v", got.Hex(), err)
	}
	for _, out := range []string{fmt.Sprintf("%v %+v %#v %s %x", s, s, s, s, s), s.String()} {
		if strings.Contains(strings.ToLower(out), h) {
			t.Fatalf("signer printed its key: %s", out)
		}
	}
}

func TestSignTxSenderRecovers(t *testing.T) {
	t.Parallel()
	s, addr, _ := openEnvSigner(t)
	chainID := big.NewInt(8453)
	to := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	txs := map[string]*types.Transaction{
		"eip1559": types.NewTx(&types.DynamicFeeTx{ChainID: chainID, Nonce: 7, GasTipCap: big.NewInt(1e9), GasFeeCap: big.NewInt(50e9), Gas: 21000, To: &to, Value: big.NewInt(1)}),
		"legacy":  types.NewTx(&types.LegacyTx{Nonce: 1, GasPrice: big.NewInt(1e9), Gas: 21000, To: &to}),
	}
	for name, tx := range txs {
		signed, err := s.SignTx(tx, chainID)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		from, err := types.Sender(types.LatestSignerForChainID(chainID), signed)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if from != addr {
			t.Fatalf("%s: sender %s, want %s", name, from.Hex(), addr.Hex())
		}
		if signed.ChainId().Cmp(chainID) != 0 {
			t.Fatalf("%s: signed for chain %s", name, signed.ChainId())
		}
	}

	wrong := types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(1), Gas: 21000, To: &to, GasFeeCap: big.NewInt(1), GasTipCap: big.NewInt(1)})
	_, err := s.SignTx(wrong, chainID)
	if !errs.Is(err, errs.Usage) || !strings.Contains(err.Error(), "chain 1") {
		t.Fatalf("signing a chain-1 tx for chain 8453: %v", err)
	}
	if _, err := s.SignTx(txs["legacy"], nil); !errs.Is(err, errs.Usage) {
		t.Fatalf("nil chain id: %v", err)
	}
}

func TestTransactOpts(t *testing.T) {
	t.Parallel()
	s, addr, _ := openEnvSigner(t)
	opts, err := s.TransactOpts(context.Background(), big.NewInt(31337))
	if err != nil {
		t.Fatal(err)
	}
	if opts.From != addr {
		t.Fatalf("From = %s", opts.From.Hex())
	}
	to := common.Address{1}
	tx := types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(31337), Gas: 21000, To: &to, GasFeeCap: big.NewInt(2), GasTipCap: big.NewInt(1)})
	signed, err := opts.Signer(addr, tx)
	if err != nil {
		t.Fatal(err)
	}
	if from, _ := types.Sender(types.LatestSignerForChainID(big.NewInt(31337)), signed); from != addr {
		t.Fatalf("sender %s", from.Hex())
	}
	if _, err := opts.Signer(common.Address{2}, tx); err == nil {
		t.Fatal("signed for another address")
	}
}

func TestSignTypedData(t *testing.T) {
	t.Parallel()
	s, addr, _ := openEnvSigner(t)
	td := apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain": {{Name: "name", Type: "string"}, {Name: "version", Type: "string"}, {Name: "chainId", Type: "uint256"}, {Name: "verifyingContract", Type: "address"}},
			"Claim":        {{Name: "jobId", Type: "uint256"}, {Name: "manifestHash", Type: "bytes32"}},
		},
		PrimaryType: "Claim",
		Domain: apitypes.TypedDataDomain{Name: "VRWX", Version: "1", ChainId: math.NewHexOrDecimal256(8453),
			VerifyingContract: "0x00000000000000000000000000000000000000cc"},
		Message: apitypes.TypedDataMessage{"jobId": "42", "manifestHash": "0x" + strings.Repeat("ab", 32)},
	}
	sig, err := s.SignTypedData(td)
	if err != nil {
		t.Fatal(err)
	}
	digest, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := signer.RecoverHash([32]byte(digest), sig); err != nil || got != addr {
		t.Fatalf("typed-data signature recovers to %s, %v", got.Hex(), err)
	}
}

func TestOpenErrorsPassThrough(t *testing.T) {
	t.Parallel()
	// A reference to nothing is bad input.
	_, err := signer.Open(context.Background(), "env://VRWX_SIGNER_TEST_UNSET", secrets.Options{})
	if !errs.Is(err, errs.Usage) {
		t.Fatalf("unset variable: %v", err)
	}
	_, err = signer.Open(context.Background(), "nope", secrets.Options{})
	if !errs.Is(err, errs.Usage) {
		t.Fatalf("malformed reference: %v", err)
	}
	if _, err := signer.New(secrets.PrivateKey{}); !errs.Is(err, errs.Usage) {
		t.Fatalf("New(zero key): %v", err)
	}
}
