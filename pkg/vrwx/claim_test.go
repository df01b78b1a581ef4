package vrwx_test

import (
	"bytes"
	"context"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

func readJob(t *testing.T, c *chain.Client, escrow common.Address, id uint64) *vrwx.Job {
	t.Helper()
	b := c.NewBatch()
	r := b.Call(escrow, vrwx.PackJobs(new(big.Int).SetUint64(id)), chain.Latest)
	if err := b.Do(context.Background()); err != nil || r.Err() != nil {
		t.Fatalf("jobs(%d): %v %v", id, err, r.Err())
	}
	j, err := vrwx.DecodeJob(new(big.Int).SetUint64(id), r.Value)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// The digest vrwxctl computes must be the contract's own: hashTypedDataV4(structHash)
// on a real chain, for the real escrow address and chain id.
func TestClaimDigestMatchesContract(t *testing.T) {
	t.Parallel()
	_, d := devchain.StartT(t)
	c := chain.New(chain.Options{URLs: []string{d.RPCURL}, ChainID: d.ChainID})
	job := readJob(t, c, d.Escrow, d.Jobs[devchain.JobFunded])
	claim := vrwx.Claim{
		JobID: job.ID, JobSpecHash: job.JobSpecHash, CompletionHash: crypto.Keccak256Hash([]byte("manifest")),
		RobotID: job.RobotID, Controller: d.Robots[devchain.RobotActive].Controller, Deadline: job.Deadline,
		QualityScore: 117, WorkUnits: 65535,
	}
	structHash, digest, err := claim.Hashes(vrwx.Domain{ChainID: big.NewInt(int64(d.ChainID)), Escrow: d.Escrow})
	if err != nil {
		t.Fatal(err)
	}
	b := c.NewBatch()
	onChain := b.Call(d.Escrow, vrwx.Pack(vrwx.EscrowABI(), "hashTypedDataV4", [32]byte(structHash)), chain.Latest)
	if err := b.Do(context.Background()); err != nil || onChain.Err() != nil {
		t.Fatal(err, onChain.Err())
	}
	if !bytes.Equal(onChain.Value, digest.Bytes()) {
		t.Fatalf("digest %s, contract says %x", digest, []byte(onChain.Value))
	}
	// A different chain id gives a different digest: the "signed for another chain" cause.
	other, _ := claim.Digest(vrwx.Domain{ChainID: big.NewInt(8453), Escrow: d.Escrow})
	if other == digest {
		t.Fatal("chain id does not enter the digest")
	}
}

// The seeded COMPLETED job was submitted with a real controller signature; rebuilding
// its claim from chain data must recover that controller.
func TestRecoverSeededCompletion(t *testing.T) {
	t.Parallel()
	_, d := devchain.StartT(t)
	c := chain.New(chain.Options{URLs: []string{d.RPCURL}, ChainID: d.ChainID})
	job := readJob(t, c, d.Escrow, d.Jobs[devchain.JobCompleted])
	cl := d.Claims[devchain.JobCompleted]
	if job.Status != vrwx.StatusCompleted || job.CompletionHash != cl.CompletionHash {
		t.Fatalf("seeded job %+v does not hold claim %+v", job, cl)
	}
	claim := vrwx.Claim{JobID: job.ID, JobSpecHash: job.JobSpecHash, CompletionHash: cl.CompletionHash, RobotID: job.RobotID,
		Controller: d.Robots[devchain.RobotActive].Controller, Deadline: job.Deadline, QualityScore: cl.QualityScore, WorkUnits: cl.WorkUnits}
	digest, err := claim.Digest(vrwx.Domain{ChainID: big.NewInt(int64(d.ChainID)), Escrow: d.Escrow})
	if err != nil {
		t.Fatal(err)
	}
	who, err := vrwx.Recover(digest, cl.Signature)
	if err != nil || who != d.Robots[devchain.RobotActive].Controller {
		t.Fatalf("recovered %s (%v), want %s", who, err, d.Robots[devchain.RobotActive].Controller)
	}
	if p := vrwx.SignatureProblem(cl.Signature); p != "" {
		t.Fatalf("a real signature reported as bad: %s", p)
	}
	// The claim key is what the contract marked used.
	b := c.NewBatch()
	used := b.Call(d.Escrow, vrwx.Pack(vrwx.EscrowABI(), "claimUsed", [32]byte(vrwx.ClaimKey(job.ID, cl.CompletionHash, cl.QualityScore, cl.WorkUnits))), chain.Latest)
	if err := b.Do(context.Background()); err != nil || used.Err() != nil {
		t.Fatal(err, used.Err())
	}
	if new(big.Int).SetBytes(used.Value).Uint64() != 1 {
		t.Fatal("claimUsed(ClaimKey(...)) is false for a submitted completion: the key derivation is wrong")
	}
}

// Reverts from the real contract decode to the spec's error names with fixes.
func TestDecodeRealReverts(t *testing.T) {
	t.Parallel()
	_, d := devchain.StartT(t)
	c := chain.New(chain.Options{URLs: []string{d.RPCURL}, ChainID: d.ChainID})
	zero := make([]byte, 65)
	zero[64] = 27
	cases := []struct {
		job  uint64
		sig  []byte
		want string
		args string
	}{
		{999999, zero, "JobNotFound", ""},
		{d.Jobs[devchain.JobCreated], zero, "InvalidStatus", ""},
		{d.Jobs[devchain.JobFundedOverdue], zero, "DeadlinePassed", ""},
		{d.Jobs[devchain.JobFundedUnregistered], zero, "RobotNotFound", ""},
		// OpenZeppelin's recover refuses these before the controller is compared.
		{d.Jobs[devchain.JobFunded], zero, "ECDSAInvalidSignature", ""},
		{d.Jobs[devchain.JobFunded], zero[:64], "ECDSAInvalidSignatureLength", "length=64"},
	}
	b := c.NewBatch()
	var rs []*chain.Result[vrwx.HexBytes]
	for _, tc := range cases {
		data := vrwx.Pack(vrwx.EscrowABI(), "submitCompletionV2", new(big.Int).SetUint64(tc.job), [32]byte{1}, uint8(100), uint32(10), tc.sig)
		rs = append(rs, b.Call(d.Escrow, data, chain.Latest))
	}
	if err := b.Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, tc := range cases {
		ce := vrwx.DecodeCallError(rs[i].Err())
		if ce == nil || ce.Name != tc.want || strings.Join(ce.Args, ",") != tc.args {
			t.Errorf("job %d: decoded %+v from %v, want %s(%s)", tc.job, ce, rs[i].Err(), tc.want, tc.args)
			continue
		}
		if ce.Cause == "" {
			t.Errorf("%s has no cause", ce.Name)
		}
	}
}
