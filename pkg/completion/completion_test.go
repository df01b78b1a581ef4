package completion_test

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/completion"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/report"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/signer"
	"github.com/vrwx/vrwxctl/pkg/txflow"
	"github.com/vrwx/vrwxctl/pkg/ui"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// claim signs a completion of the seeded job name with dev key ctrl for the local
// deployment's domain.
func claim(t *testing.T, d *devchain.Deployment, name string, ctrl int) completion.Claim {
	t.Helper()
	c, err := devchain.SignJobCompletion(context.Background(), d, d.Jobs[name], crypto.Keccak256Hash([]byte("manifest-"+name)), 100, 12,
		devchain.DevKey(ctrl), d.ChainID, d.Escrow)
	if err != nil {
		t.Fatal(err)
	}
	return completion.Claim{JobID: new(big.Int).SetUint64(c.JobID), CompletionHash: c.CompletionHash, QualityScore: 100, WorkUnits: 12, Signature: c.Signature}
}

func checker(d *devchain.Deployment) (completion.Checker, *chain.Client) {
	c := chain.New(chain.Options{URLs: []string{d.RPCURL}, ChainID: d.ChainID})
	return completion.Checker{Chain: c, Escrow: d.Escrow, Registry: d.Identity, Now: time.Now}, c
}

func failed(v *completion.Verdict) []string {
	var out []string
	for _, c := range v.Checks {
		if c.Level == report.Crit {
			out = append(out, c.Name)
		}
	}
	return out
}

// The checker judges a claim as the escrow would, with no CLI in between: a good
// claim is valid; a claim signed by the wrong key, for another chain, for a
// deactivated robot or past its deadline is not, and says which check failed.
func TestCheck(t *testing.T) {
	_, d := devchain.StartT(t)
	k, c := checker(d)
	defer c.Close()
	ctx := context.Background()

	good := claim(t, d, devchain.JobFunded, devchain.AccountActiveController)
	v, err := k.Check(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	ctl := d.Robots[devchain.RobotActive].Controller.Hex()
	if !v.Valid || v.Signer != ctl || v.Controller != ctl || len(failed(v)) != 0 || v.Claim.JobID != good.JobID.String() {
		t.Fatalf("good claim: %+v", v)
	}

	wrong := claim(t, d, devchain.JobFunded, 7)
	v, err = k.Check(ctx, wrong)
	if err != nil {
		t.Fatal(err)
	}
	if v.Valid || v.Signer != devchain.DevAddress(7).Hex() || !strings.Contains(strings.Join(failed(v), ","), "signer") {
		t.Fatalf("wrong key: valid %v signer %s failed %v", v.Valid, v.Signer, failed(v))
	}

	for _, tc := range []struct {
		job  string
		ctrl int
		want string
	}{
		{devchain.JobFundedDeactivated, devchain.AccountDeactivatedController, "active"},
		{devchain.JobFundedOverdue, devchain.AccountActiveController, "deadline"},
		{devchain.JobCreated, devchain.AccountActiveController, "status"},
	} {
		v, err := k.Check(ctx, claim(t, d, tc.job, tc.ctrl))
		if err != nil {
			t.Fatal(err)
		}
		if v.Valid || !strings.Contains(strings.ToLower(strings.Join(failed(v), ",")), tc.want) {
			t.Errorf("%s: valid %v, failed %v, want a failed %q check", tc.job, v.Valid, failed(v), tc.want)
		}
	}

	// Another deployment's escrow, named by the caller, is recognised as the domain
	// the controller signed for.
	other := common.HexToAddress("0x00000000000000000000000000000000000000bb")
	sig, err := devchain.SignJobCompletion(ctx, d, d.Jobs[devchain.JobFunded], good.CompletionHash, 100, 12,
		devchain.DevKey(devchain.AccountActiveController), d.ChainID, other)
	if err != nil {
		t.Fatal(err)
	}
	k.OtherEscrows = []completion.NamedEscrow{{Label: "the escrow of profile staging", Address: other}}
	bad := good
	bad.Signature = sig.Signature
	v, err = k.Check(ctx, bad)
	if err != nil {
		t.Fatal(err)
	}
	if v.Valid || v.SignedFor == nil || v.SignedFor.Escrow != other.Hex() || !strings.Contains(v.SignedFor.Label, "staging") {
		t.Fatalf("signature for another escrow: signedFor %+v", v.SignedFor)
	}

	// A job that does not exist is an error, not a verdict.
	missing := good
	missing.JobID = big.NewInt(999)
	if _, err := k.Check(ctx, missing); err == nil || !strings.Contains(err.Error(), "JobNotFound") {
		t.Fatalf("missing job: %v", err)
	}
}

// flow is the shared send path as a command builds it, on buffers.
func flow(t *testing.T, c *chain.Client, dryRun bool) (*txflow.Flow, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	key := devchain.DevKeyHex(devchain.AccountRelayer)
	s, err := signer.Open(context.Background(), "env://RELAYER_KEY", secrets.Options{LookupEnv: func(k string) (string, bool) {
		return key, k == "RELAYER_KEY"
	}})
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	return &txflow.Flow{Chain: c, Signer: s, IO: ui.Test(strings.NewReader(""), &out, &errOut), Audit: audit.Open(filepath.Join(t.TempDir(), "audit.log")),
		Profile: "local", Command: "test", Yes: true, DryRun: dryRun, Poll: 10 * time.Millisecond}, &out, &errOut
}

func nonce(t *testing.T, c *chain.Client, d *devchain.Deployment) uint64 {
	t.Helper()
	b := c.NewBatch()
	n := b.Nonce(d.Relayer, chain.Pending)
	if err := b.Do(context.Background()); err != nil || n.Err() != nil {
		t.Fatal(err, n.Err())
	}
	return uint64(n.Value)
}

func jobStatus(t *testing.T, c *chain.Client, d *devchain.Deployment, cl completion.Claim) vrwx.Status {
	t.Helper()
	b := c.NewBatch()
	r := b.Call(d.Escrow, vrwx.PackJobs(cl.JobID), chain.Latest)
	if err := b.Do(context.Background()); err != nil || r.Err() != nil {
		t.Fatal(err, r.Err())
	}
	j, err := vrwx.DecodeJob(cl.JobID, r.Value)
	if err != nil {
		t.Fatal(err)
	}
	return j.Status
}

// Submit sends nothing when a check fails, nothing on a dry run, and otherwise
// completes the job on chain and reports the job's new status.
func TestSubmit(t *testing.T) {
	_, d := devchain.StartT(t)
	k, c := checker(d)
	defer c.Close()
	ctx := context.Background()
	n0 := nonce(t, c, d)

	f, out, _ := flow(t, c, false)
	_, err := completion.Submit(ctx, f, k, chain.FeePolicy{}, claim(t, d, devchain.JobFunded, 7))
	if errs.KindOf(err) != errs.Failed || !strings.Contains(err.Error(), "preflight failed") || !strings.Contains(err.Error(), "nothing was sent") {
		t.Fatalf("wrong signer: %v", err)
	}
	if !strings.Contains(out.String(), "INVALID") || !strings.Contains(out.String(), "fix:") {
		t.Fatalf("a failed preflight shows the verdict with its fixes:\n%s", out)
	}
	if nonce(t, c, d) != n0 {
		t.Fatal("a failed preflight sent a transaction")
	}

	good := claim(t, d, devchain.JobFunded, devchain.AccountActiveController)
	f, _, _ = flow(t, c, true)
	res, err := completion.Submit(ctx, f, k, chain.FeePolicy{}, good)
	if err != nil {
		t.Fatal(err)
	}
	if res.Tx.Receipt != nil || !res.Preflight.Valid || res.JobStatus != "" || nonce(t, c, d) != n0 || jobStatus(t, c, d, good) != vrwx.StatusFunded {
		t.Fatalf("dry run: %+v", res)
	}

	f, _, errOut := flow(t, c, false)
	res, err = completion.Submit(ctx, f, k, chain.FeePolicy{}, good)
	if err != nil {
		t.Fatal(err)
	}
	if res.Tx.Receipt == nil || res.Tx.Receipt.Status != "success" || res.JobStatus != "COMPLETED" || !res.Event {
		t.Fatalf("send: %+v", res)
	}
	if jobStatus(t, c, d, good) != vrwx.StatusCompleted || nonce(t, c, d) != n0+1 {
		t.Fatal("the job is not COMPLETED on chain after one transaction")
	}
	if !strings.Contains(errOut.String(), "preflight passed") {
		t.Fatalf("stderr lacks the preflight line:\n%s", errOut)
	}
	// The same claim again: the chain shows the completion made (which is also why
	// its preflight would fail: claim used, job no longer FUNDED), and says so first.
	f, _, _ = flow(t, c, false)
	if _, err := completion.Submit(ctx, f, k, chain.FeePolicy{}, good); !errors.Is(err, txflow.ErrAlreadyPaid) || !strings.Contains(err.Error(), res.Tx.TxHash) {
		t.Fatalf("second submit: %v", err)
	}
	if nonce(t, c, d) != n0+1 {
		t.Fatal("a second submit of the same claim sent a transaction")
	}
}
