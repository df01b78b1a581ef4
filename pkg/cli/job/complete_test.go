package job_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/job"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// completion signs a claim for job name with the controller key ctrl on domain (chainID, escrow).
func completion(t *testing.T, e *clitest.Env, name string, ctrl int, chainID uint64, escrow common.Address) (id string, hash common.Hash, sig string) {
	t.Helper()
	c, err := devchain.SignJobCompletion(context.Background(), e.D, e.D.Jobs[name], crypto.Keccak256Hash([]byte("manifest-"+name)), 100, 12,
		devchain.DevKey(ctrl), chainID, escrow)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatUint(c.JobID, 10), c.CompletionHash, hexutil.Encode(c.Signature)
}

func relayerNonce(t *testing.T, e *clitest.Env) string {
	var n string
	if err := e.Anvil.RPC(context.Background(), &n, "eth_getTransactionCount", e.D.Relayer, "pending"); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCompleteMovesFundedToCompleted(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["RELAYER_PRIVATE_KEY"] = devchain.DevKeyHex(devchain.AccountRelayer)
	id, hash, sig := completion(t, e, devchain.JobFunded, devchain.AccountActiveController, 31337, e.D.Escrow)
	var out job.CompleteJSON
	r := e.Run("job", "complete", id, "--completion-hash", hash.Hex(), "--quality", "100", "--work-units", "12", "--sig", sig,
		"--signer", "env://RELAYER_PRIVATE_KEY", "--yes", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	r.JSON(t, &out)
	if out.JobStatus != "COMPLETED" || !out.Event || out.Tx.Receipt.Status != "success" || !out.Preflight.Valid {
		t.Fatalf("json %+v", out)
	}
	var gj struct {
		Job struct {
			Status         string `json:"status"`
			CompletionHash string `json:"completionHash"`
		} `json:"job"`
	}
	e.MustRun(0, "job", "get", id, "-o", "json").JSON(t, &gj)
	if gj.Job.Status != "COMPLETED" || !strings.EqualFold(gj.Job.CompletionHash, hash.Hex()) {
		t.Fatalf("job after completion %+v", gj)
	}
}

// Every revert path is caught in preflight: no transaction is sent (the relayer's
// nonce does not move).
func TestCompletePreflightSendsNothing(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["RELAYER_PRIVATE_KEY"] = devchain.DevKeyHex(devchain.AccountRelayer)
	n0 := relayerNonce(t, e)
	reopened := e.D.Claims[devchain.JobFundedReopened]
	cases := []struct {
		name          string
		id, hash, sig string
		want          string
	}{}
	add := func(name, job string, ctrl int, chainID uint64, want string) {
		id, h, s := completion(t, e, job, ctrl, chainID, e.D.Escrow)
		cases = append(cases, struct {
			name          string
			id, hash, sig string
			want          string
		}{name, id, h.Hex(), s, want})
	}
	add("InvalidStatus", devchain.JobCreated, devchain.AccountActiveController, 31337, "status")
	add("DeadlinePassed", devchain.JobFundedOverdue, devchain.AccountActiveController, 31337, "deadline")
	add("wrong key", devchain.JobFunded, 7, 31337, "signer")
	add("wrong chain id", devchain.JobFunded, devchain.AccountActiveController, 8453, "8453")
	add("RobotNotFound", devchain.JobFundedUnregistered, devchain.AccountActiveController, 31337, "regist")
	add("deactivated robot", devchain.JobFundedDeactivated, devchain.AccountDeactivatedController, 31337, "active")
	cases = append(cases, struct {
		name          string
		id, hash, sig string
		want          string
	}{"ClaimAlreadyUsed", strconv.FormatUint(e.D.Jobs[devchain.JobFundedReopened], 10), reopened.CompletionHash.Hex(), hexutil.Encode(reopened.Signature), "claim"})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, w := "100", "12"
			if tc.name == "ClaimAlreadyUsed" {
				q, w = strconv.Itoa(int(reopened.QualityScore)), strconv.Itoa(int(reopened.WorkUnits))
			}
			r := e.Run("job", "complete", tc.id, "--completion-hash", tc.hash, "--quality", q, "--work-units", w, "--sig", tc.sig,
				"--signer", "env://RELAYER_PRIVATE_KEY", "--yes")
			if tc.name == "ClaimAlreadyUsed" {
				// The claim was used by this relayer's own completion minutes ago on
				// this chain: the chain shows that completion made, which outranks
				// the preflight's "claim already used" it also explains.
				if r.Code != 3 || !strings.Contains(r.Stderr, "the same payment, submitCompletionV2") || !strings.Contains(r.Stderr, "mined in block") {
					t.Fatalf("want exit 3 naming the completion that used the claim:\n%s", r)
				}
				return
			}
			if r.Code != 1 || !strings.Contains(r.Stderr, "preflight failed") || !strings.Contains(r.Stderr, "nothing was sent") || !strings.Contains(strings.ToLower(r.Stderr+r.Stdout), tc.want) {
				t.Fatalf("want exit 1 from preflight mentioning %q:\n%s", tc.want, r)
			}
		})
	}
	if n := relayerNonce(t, e); n != n0 {
		t.Fatalf("relayer nonce moved %s -> %s: a failed preflight sent a transaction", n0, n)
	}
}

func TestCompleteBadInput(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["RELAYER_PRIVATE_KEY"] = devchain.DevKeyHex(devchain.AccountRelayer)
	id, hash, sig := completion(t, e, devchain.JobFunded, devchain.AccountActiveController, 31337, e.D.Escrow)
	base := []string{"job", "complete", id, "--completion-hash", hash.Hex(), "--quality", "100", "--work-units", "12", "--sig", sig, "--signer", "env://RELAYER_PRIVATE_KEY", "--yes"}
	with := func(flag, value string) []string {
		out := append([]string(nil), base...)
		for i := range out {
			if out[i] == flag {
				out[i+1] = value
			}
		}
		return out
	}
	for _, args := range [][]string{
		with("--completion-hash", "0x1234"),
		with("--quality", "256"),
		with("--work-units", "4294967296"),
		with("--sig", sig[:len(sig)-2]),
		append([]string{"job", "complete", "-1"}, base[3:]...),
	} {
		if r := e.Run(args...); r.Code != 2 {
			t.Errorf("want exit 2:\n%s", r)
		}
	}
	if n := relayerNonce(t, e); n != "0x5" {
		t.Fatalf("bad input moved the nonce to %s", n)
	}
}

// A signature made while the job was open stops working when the chain's clock passes
// its deadline: preflight says so and sends nothing.
func TestCompleteAfterDeadlineAdvancedOnChain(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["RELAYER_PRIVATE_KEY"] = devchain.DevKeyHex(devchain.AccountRelayer)
	id, hash, sig := completion(t, e, devchain.JobFundedSoon, devchain.AccountActiveController, 31337, e.D.Escrow)
	args := []string{"job", "complete", id, "--completion-hash", hash.Hex(), "--quality", "100", "--work-units", "12", "--sig", sig, "--signer", "env://RELAYER_PRIVATE_KEY", "--yes", "--dry-run"}
	if r := e.Run(args...); r.Code != 0 {
		t.Fatalf("before the deadline the completion should pass preflight:\n%s", r)
	}
	if err := e.Anvil.IncreaseTime(context.Background(), 2*3600); err != nil {
		t.Fatal(err)
	}
	n0 := relayerNonce(t, e)
	r := e.Run(args[:len(args)-1]...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "preflight failed") || !strings.Contains(strings.ToLower(r.Stderr+r.Stdout), "deadline") {
		t.Fatalf("want a deadline preflight failure:\n%s", r)
	}
	if relayerNonce(t, e) != n0 {
		t.Fatal("a transaction was sent after the deadline")
	}
}

// job complete of a job that was already completed, with the very claim that
// completed it: the signature is fine, so the header must not call it invalid, and a
// digest check skipped on purpose is not reported as unreadable.
func TestCompleteAlreadyCompletedSaysWhatFailed(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["RELAYER_PRIVATE_KEY"] = devchain.DevKeyHex(devchain.AccountRelayer)
	c := e.D.Claims[devchain.JobCompleted]
	id := strconv.FormatUint(e.D.Jobs[devchain.JobCompleted], 10)
	// The job was completed by this relayer when the chain was seeded; two hours on,
	// that completion is outside the payment window and the preflight answers.
	if err := e.Anvil.IncreaseTime(context.Background(), 2*3600); err != nil {
		t.Fatal(err)
	}
	n0 := relayerNonce(t, e)
	r := e.Run("job", "complete", id, "--completion-hash", c.CompletionHash.Hex(), "--quality", strconv.Itoa(int(c.QualityScore)),
		"--work-units", strconv.Itoa(int(c.WorkUnits)), "--sig", hexutil.Encode(c.Signature), "--signer", "env://RELAYER_PRIVATE_KEY", "--yes")
	if r.Code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	header, _, _ := strings.Cut(r.Stdout, "\n")
	for _, bad := range []string{"SIGNATURE INVALID", "COMPLETION SIGNATURE", " INVALID "} {
		if strings.Contains(header, bad) {
			t.Errorf("header says %q although the signature is valid:\n%s", bad, r)
		}
	}
	if !strings.Contains(header, "signature valid") || !strings.Contains(header, "WOULD FAIL: job status (COMPLETED), claim (already used)") {
		t.Errorf("header does not say what failed:\n%s", r)
	}
	if strings.Contains(r.Stdout, "could not be read") || !strings.Contains(r.Stdout, "not asked: the transaction's simulation runs the escrow's own signature check") {
		t.Errorf("the skipped digest check is reported as a failed read:\n%s", r)
	}
	if !strings.Contains(r.Stderr, "preflight failed: job status (COMPLETED), claim (already used) (the signature itself is valid); nothing was sent") {
		t.Errorf("error:\n%s", r)
	}
	if relayerNonce(t, e) != n0 {
		t.Error("a failed preflight sent a transaction")
	}
	// robot verify-sig asks the escrow for its digest: there a failed read would say so,
	// and here the digest matches.
	r = e.Run("robot", "verify-sig", "--job", id, "--completion-hash", c.CompletionHash.Hex(), "--quality", strconv.Itoa(int(c.QualityScore)),
		"--work-units", strconv.Itoa(int(c.WorkUnits)), "--sig", hexutil.Encode(c.Signature))
	if r.Code != 1 || !strings.Contains(r.Stdout, "matches the escrow's") || !strings.Contains(r.Stdout, "signature valid") {
		t.Errorf("verify-sig:\n%s", r)
	}
}
