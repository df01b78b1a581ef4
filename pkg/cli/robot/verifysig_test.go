package robot_test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/robot"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

type completion struct {
	job        uint64
	hash       common.Hash
	quality    uint8
	workUnits  uint32
	sig        []byte
	controller common.Address
}

func (c completion) args() []string {
	return []string{"robot", "verify-sig", "--job", fmt.Sprint(c.job), "--completion-hash", c.hash.Hex(),
		"--quality", fmt.Sprint(c.quality), "--work-units", fmt.Sprint(c.workUnits), "--sig", hexutil.Encode(c.sig)}
}

// sign builds the claim for a seeded job from the chain, as the API does, and signs it
// with key for the given domain.
func sign(t *testing.T, d *devchain.Deployment, name string, key *ecdsa.PrivateKey, chainID uint64, escrow common.Address) completion {
	t.Helper()
	c, err := devchain.SignJobCompletion(context.Background(), d, d.Jobs[name], crypto.Keccak256Hash([]byte("manifest:verify:"+name)), 110, 42, key, chainID, escrow)
	if err != nil {
		t.Fatal(err)
	}
	return completion{job: c.JobID, hash: c.CompletionHash, quality: c.QualityScore, workUnits: c.WorkUnits, sig: c.Signature, controller: c.Controller}
}

// simulate asks the escrow itself, with eth_call, whether it would accept the
// completion: the ground truth verify-sig's verdict must agree with.
func simulate(t *testing.T, d *devchain.Deployment, c completion) string {
	t.Helper()
	cl := chain.New(chain.Options{URLs: []string{d.RPCURL}, ChainID: d.ChainID})
	defer cl.Close()
	b := cl.NewBatch()
	res := b.Call(d.Escrow, vrwx.Pack(vrwx.EscrowABI(), "submitCompletionV2", new(big.Int).SetUint64(c.job), c.hash, c.quality, c.workUnits, c.sig), chain.Latest)
	if err := b.Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res.Err() == nil {
		return "ok"
	}
	if ce := vrwx.DecodeCallError(res.Err()); ce != nil {
		return ce.Name
	}
	return res.Err().Error()
}

func verify(t *testing.T, e *clitest.Env, code int, c completion) robot.VerifySigJSON {
	t.Helper()
	var out robot.VerifySigJSON
	e.MustRun(code, append(c.args(), "-o", "json")...).JSON(t, &out)
	return out
}

func check(out robot.VerifySigJSON, name string) doctor.Check {
	for _, c := range out.Checks {
		if c.Name == name {
			return c
		}
	}
	return doctor.Check{}
}

// failing lists the names of the critical checks.
func failing(out robot.VerifySigJSON) []string {
	var names []string
	for _, c := range out.Checks {
		if c.Level == doctor.Crit {
			names = append(names, c.Name)
		}
	}
	return names
}

func TestVerifySig(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	d := e.D
	// A second profile whose escrow is the pausable one: "another escrow" must be
	// recognised from the configured profiles.
	e.WriteConfig("profiles:\n  staging:\n    extends: local\n    escrow: \"" + d.PausableEscrow.Hex() + "\"\n")
	active := devchain.DevKey(devchain.AccountActiveController)

	t.Run("valid", func(t *testing.T) {
		c := sign(t, d, devchain.JobFunded, active, d.ChainID, d.Escrow)
		out := verify(t, e, 0, c)
		if !out.Valid || out.Signer != c.controller.Hex() || out.Controller != c.controller.Hex() || len(failing(out)) != 0 {
			t.Errorf("valid signature judged %+v", out)
		}
		if ck := check(out, "digest"); ck.Level != doctor.OK || !strings.Contains(ck.Detail, out.Digest+" = hashTypedDataV4") {
			t.Errorf("digest cross-check %+v", ck)
		}
		if out.Claim.QualityScore != 110 || out.Claim.WorkUnits != 42 || out.Claim.Controller != c.controller.Hex() {
			t.Errorf("claim %+v", out.Claim)
		}
		if got := simulate(t, d, c); got != "ok" {
			t.Errorf("escrow says %s for the signature verify-sig calls valid", got)
		}
		r := e.MustRun(0, c.args()...)
		if !strings.Contains(r.Stdout, "VALID") || !strings.Contains(r.Stdout, "would accept") {
			t.Errorf("text:\n%s", r)
		}
	})

	t.Run("wrong key", func(t *testing.T) {
		c := sign(t, d, devchain.JobFunded, devchain.DevKey(devchain.FirstFreeAccount), d.ChainID, d.Escrow)
		out := verify(t, e, 1, c)
		ck := check(out, "signer")
		wantSigner := devchain.DevAddress(devchain.FirstFreeAccount).Hex()
		if out.Valid || out.Signer != wantSigner || ck.Level != doctor.Crit || out.SignedFor != nil ||
			!strings.Contains(ck.Detail, "The signer is "+wantSigner+" but the controller is "+c.controller.Hex()) || ck.Fix == "" {
			t.Errorf("wrong key judged %+v / %+v", out, ck)
		}
		if got := simulate(t, d, c); got != "InvalidSignature" {
			t.Errorf("escrow says %s, want InvalidSignature", got)
		}
		r := e.MustRun(1, c.args()...)
		if !strings.Contains(r.Stdout, "INVALID") || !strings.Contains(r.Stdout, "wrong controller signing") || !strings.Contains(r.Stdout, "fix:") {
			t.Errorf("text:\n%s", r)
		}
	})

	t.Run("wrong chain", func(t *testing.T) {
		c := sign(t, d, devchain.JobFunded, active, 8453, d.Escrow)
		out := verify(t, e, 1, c)
		if out.SignedFor == nil || out.SignedFor.ChainID != "8453" || out.SignedFor.Escrow != d.Escrow.Hex() ||
			!strings.Contains(out.SignedFor.Label, "base-mainnet") || !strings.Contains(check(out, "signer").Detail, "signature for wrong chain") {
			t.Errorf("wrong chain judged %+v", out)
		}
		if got := simulate(t, d, c); got != "InvalidSignature" {
			t.Errorf("escrow says %s, want InvalidSignature", got)
		}
	})

	t.Run("wrong escrow", func(t *testing.T) {
		c := sign(t, d, devchain.JobFunded, active, d.ChainID, d.PausableEscrow)
		out := verify(t, e, 1, c)
		if out.SignedFor == nil || out.SignedFor.Escrow != d.PausableEscrow.Hex() || out.SignedFor.ChainID != fmt.Sprint(d.ChainID) ||
			!strings.Contains(out.SignedFor.Label, "profile staging") {
			t.Errorf("wrong escrow judged %+v", out.SignedFor)
		}
		if got := simulate(t, d, c); got != "InvalidSignature" {
			t.Errorf("escrow says %s, want InvalidSignature", got)
		}
	})

	t.Run("high s", func(t *testing.T) {
		c := sign(t, d, devchain.JobFunded, active, d.ChainID, d.Escrow)
		n := crypto.S256().Params().N
		s := new(big.Int).Sub(n, new(big.Int).SetBytes(c.sig[32:64]))
		copy(c.sig[32:64], common.LeftPadBytes(s.Bytes(), 32))
		c.sig[64] = 55 - c.sig[64]
		out := verify(t, e, 1, c)
		if ck := check(out, "signature"); ck.Value != "high-s" || ck.Level != doctor.Crit {
			t.Errorf("signature check %+v", ck)
		}
		// Who made it is still known: the controller, in malleable form.
		if out.Signer != c.controller.Hex() || check(out, "signer").Level != doctor.OK {
			t.Errorf("high-s signer %s, want the controller %s", out.Signer, c.controller.Hex())
		}
		if got := simulate(t, d, c); got != "ECDSAInvalidSignatureS" || !strings.Contains(check(out, "signature").Detail, got) {
			t.Errorf("escrow says %s, verify-sig says %q", got, check(out, "signature").Detail)
		}
	})

	t.Run("bad v", func(t *testing.T) {
		c := sign(t, d, devchain.JobFunded, active, d.ChainID, d.Escrow)
		c.sig[64] = 29
		out := verify(t, e, 1, c)
		if ck := check(out, "signature"); ck.Value != "malformed" || !strings.Contains(ck.Detail, "v = 29") {
			t.Errorf("bad v judged %+v", ck)
		}
		if got := simulate(t, d, c); got != "ECDSAInvalidSignature" || !strings.Contains(check(out, "signature").Detail, got) {
			t.Errorf("escrow says %s, verify-sig says %q", got, check(out, "signature").Detail)
		}
	})

	t.Run("robot deactivated", func(t *testing.T) {
		c := sign(t, d, devchain.JobFundedDeactivated, devchain.DevKey(devchain.AccountDeactivatedController), d.ChainID, d.Escrow)
		out := verify(t, e, 1, c)
		if strings.Join(failing(out), ",") != "robot active" || out.Signer != c.controller.Hex() {
			t.Errorf("deactivated: failing %v, signer %s", failing(out), out.Signer)
		}
		// The escrow accepts it; only the API's isActive check stops the relay.
		if got := simulate(t, d, c); got != "ok" {
			t.Errorf("escrow says %s, want ok", got)
		}
	})

	t.Run("robot unregistered", func(t *testing.T) {
		c := sign(t, d, devchain.JobFundedUnregistered, active, d.ChainID, d.Escrow)
		out := verify(t, e, 1, c)
		if ck := check(out, "robot registered"); ck.Level != doctor.Crit || !strings.Contains(ck.Detail, "robot not registered") {
			t.Errorf("unregistered: %+v", ck)
		}
		if got := simulate(t, d, c); got != "RobotNotFound" {
			t.Errorf("escrow says %s, want RobotNotFound", got)
		}
	})

	t.Run("claim already used", func(t *testing.T) {
		cl := d.Claims[devchain.JobFundedReopened]
		c := completion{job: d.Jobs[devchain.JobFundedReopened], hash: cl.CompletionHash, quality: cl.QualityScore, workUnits: cl.WorkUnits, sig: cl.Signature}
		out := verify(t, e, 1, c)
		if strings.Join(failing(out), ",") != "claim" || check(out, "claim").Value != "already used" {
			t.Errorf("used claim: failing %v", failing(out))
		}
		if got := simulate(t, d, c); got != "ClaimAlreadyUsed" {
			t.Errorf("escrow says %s, want ClaimAlreadyUsed", got)
		}
	})

	t.Run("job completed and overdue", func(t *testing.T) {
		cl := d.Claims[devchain.JobCompleted]
		c := completion{job: d.Jobs[devchain.JobCompleted], hash: cl.CompletionHash, quality: cl.QualityScore, workUnits: cl.WorkUnits, sig: cl.Signature}
		out := verify(t, e, 1, c)
		if strings.Join(failing(out), ",") != "job status,claim" {
			t.Errorf("completed job: failing %v", failing(out))
		}
		o := sign(t, d, devchain.JobFundedOverdue, active, d.ChainID, d.Escrow)
		out = verify(t, e, 1, o)
		if strings.Join(failing(out), ",") != "deadline" {
			t.Errorf("overdue job: failing %v", failing(out))
		}
		if got := simulate(t, d, o); got != "DeadlinePassed" {
			t.Errorf("escrow says %s, want DeadlinePassed", got)
		}
	})

	t.Run("job missing", func(t *testing.T) {
		c := sign(t, d, devchain.JobFunded, active, d.ChainID, d.Escrow)
		c.job = 999
		r := e.MustRun(1, c.args()...)
		if !strings.Contains(r.Stderr, "job 999 does not exist") || !strings.Contains(r.Stderr, "JobNotFound") {
			t.Errorf("missing job:\n%s", r)
		}
	})
}

func TestVerifySigBadInput(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	e.Vars["RPC_URL"] = "http://127.0.0.1:1"
	good := completion{job: 7, hash: crypto.Keccak256Hash([]byte("m")), quality: 100, workUnits: 3, sig: make([]byte, 65)}
	with := func(flag, value string) []string {
		args := good.args()
		for i := range args {
			if args[i] == flag {
				args[i+1] = value
			}
		}
		return args
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{with("--sig", hexutil.Encode(make([]byte, 64))), "--sig is 64 bytes (expected 65"},
		{with("--sig", hexutil.Encode(make([]byte, 64))), "truncated"},
		{with("--sig", hexutil.Encode(make([]byte, 66))), "--sig is 66 bytes"},
		{with("--sig", "0xnothex"), "not hex"},
		{with("--quality", "256"), `--quality "256"`},
		{with("--quality", "-1"), `--quality "-1"`},
		{with("--work-units", "4294967296"), `--work-units "4294967296"`},
		{with("--completion-hash", "0x1234"), "--completion-hash \"0x1234\" is 2 bytes"},
		{with("--job", "seven"), `--job "seven" is not a number`},
		{with("--job", "115792089237316195423570985008687907853269984665640564039457584007913129639936"), "larger than 2^256-1"},
		{[]string{"robot", "verify-sig", "--job", "1"}, "--completion-hash is required"},
	} {
		r := e.Run(c.args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) || r.Stdout != "" {
			t.Errorf("want exit 2 mentioning %q:\n%s", c.want, r)
		}
	}
}
