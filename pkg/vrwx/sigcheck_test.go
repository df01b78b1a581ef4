package vrwx_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

func sigFixture(t *testing.T, chainID int64, escrow common.Address) (vrwx.SigRequest, vrwx.SigReadings) {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	job := &vrwx.Job{ID: big.NewInt(7), Buyer: common.HexToAddress("0x01"), RobotID: crypto.Keccak256Hash([]byte("t:r")),
		JobSpecHash: crypto.Keccak256Hash([]byte("spec")), Price: big.NewInt(1), Deadline: big.NewInt(2_000_000_000),
		Status: vrwx.StatusFunded, TokenID: new(big.Int), SettleAfter: new(big.Int)}
	controller := crypto.PubkeyToAddress(key.PublicKey)
	claim := vrwx.Claim{JobID: job.ID, JobSpecHash: job.JobSpecHash, CompletionHash: crypto.Keccak256Hash([]byte("m")),
		RobotID: job.RobotID, Controller: controller, Deadline: job.Deadline, QualityScore: 90, WorkUnits: 5}
	dg, err := claim.Digest(vrwx.Domain{ChainID: big.NewInt(chainID), Escrow: escrow})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := crypto.Sign(dg.Bytes(), key)
	if err != nil {
		t.Fatal(err)
	}
	sig[64] += 27
	req := vrwx.SigRequest{JobID: job.ID, CompletionHash: claim.CompletionHash, QualityScore: 90, WorkUnits: 5, Signature: sig,
		Domain: vrwx.Domain{ChainID: big.NewInt(8453), Escrow: common.HexToAddress("0x7B55CD2614d42E328622E13E2F04c6A4044dCf8B")}}
	r := vrwx.SigReadings{Job: job, Controller: controller, Active: true, Now: time.Unix(1_900_000_000, 0)}
	return req, r
}

func finding(d *vrwx.SigDiagnosis, name string) vrwx.SigFinding {
	for _, f := range d.Findings {
		if f.Name == name {
			return f
		}
	}
	return vrwx.SigFinding{}
}

func TestDiagnoseSignatureFindsTheDomain(t *testing.T) {
	t.Parallel()
	mainnetEscrow := common.HexToAddress("0x7B55CD2614d42E328622E13E2F04c6A4044dCf8B")
	oldEscrow := common.HexToAddress("0xE15d5a642379D28Af1f36aC0e3C8E6A8f27bd8fd")

	req, r := sigFixture(t, 8453, mainnetEscrow)
	d, err := vrwx.DiagnoseSignature(req, r)
	if err != nil || !d.Valid || d.Signer != r.Controller {
		t.Fatalf("valid signature: %v %+v", err, d)
	}
	// The escrow's own digest disagreeing is a warning, not a verdict on the signature.
	other := common.HexToHash("0x01")
	r.ChainDigest = &other
	d, _ = vrwx.DiagnoseSignature(req, r)
	if f := finding(d, "digest"); f.Severity != vrwx.SevWarn || !d.Valid {
		t.Errorf("digest mismatch: %+v valid=%v", f, d.Valid)
	}

	// Signed on Base Sepolia for an old escrow: found among the alternatives.
	req, r = sigFixture(t, 84532, oldEscrow)
	req.Alternatives = []vrwx.NamedDomain{
		{Domain: vrwx.Domain{ChainID: big.NewInt(84532), Escrow: mainnetEscrow}, Label: "sepolia, this escrow"},
		{Domain: vrwx.Domain{ChainID: big.NewInt(84532), Escrow: oldEscrow}, Label: "sepolia, old escrow"},
	}
	d, _ = vrwx.DiagnoseSignature(req, r)
	if d.Valid || d.SignedFor == nil || d.SignedFor.Label != "sepolia, old escrow" {
		t.Errorf("foreign domain: valid=%v signedFor=%+v", d.Valid, d.SignedFor)
	}
}

func TestDiagnoseSignatureHighS(t *testing.T) {
	t.Parallel()
	req, r := sigFixture(t, 8453, common.HexToAddress("0x7B55CD2614d42E328622E13E2F04c6A4044dCf8B"))
	sig := append([]byte(nil), req.Signature...)
	s := new(big.Int).Sub(crypto.S256().Params().N, new(big.Int).SetBytes(sig[32:64]))
	copy(sig[32:64], common.LeftPadBytes(s.Bytes(), 32))
	sig[64] = 55 - sig[64]
	req.Signature = sig
	d, err := vrwx.DiagnoseSignature(req, r)
	if err != nil {
		t.Fatal(err)
	}
	if d.Valid || finding(d, "signature").Value != "high-s" || d.Signer != r.Controller || finding(d, "signer").Severity != vrwx.SevOK {
		t.Errorf("high-s: valid=%v findings=%+v signer=%s", d.Valid, d.Findings, d.Signer.Hex())
	}
}
