package job_test

import (
	"context"
	"math/big"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/job"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

func completeArgs(id, hash, sig string) []string {
	return []string{"job", "complete", id, "--completion-hash", hash, "--quality", "100", "--work-units", "12", "--sig", sig,
		"--signer", "env://RELAYER_PRIVATE_KEY", "--yes", "--timeout", "20s", "-o", "json"}
}

// job complete whose broadcast answer is lost: reconciled as mined, exit 0, the job
// COMPLETED by one transaction, the audit log saying mined. The rerun is refused
// before anything is signed.
func TestCompleteAnswerLost(t *testing.T) {
	e := clitest.NewChain(t)
	p := devchain.StartFaultProxy(t, e.Anvil.URL)
	e.Vars["RPC_URL"] = p.URL
	e.Vars["RELAYER_PRIVATE_KEY"] = devchain.DevKeyHex(devchain.AccountRelayer)
	id, hash, sig := completion(t, e, devchain.JobFunded, devchain.AccountActiveController, 31337, e.D.Escrow)
	n0 := relayerNonce(t, e)
	p.Inject("eth_sendRawTransaction", devchain.ForwardThenDrop, -1)
	var out job.CompleteJSON
	r := e.Run(completeArgs(id, hash.Hex(), sig)...)
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	r.JSON(t, &out)
	if out.JobStatus != "COMPLETED" || (out.Tx.Reconciled != "mined" && out.Tx.Reconciled != "pending") || out.Tx.Receipt.Status != "success" {
		t.Fatalf("json %+v", out)
	}
	n1 := relayerNonce(t, e)
	if a, b := hexutil.MustDecodeUint64(n0), hexutil.MustDecodeUint64(n1); b != a+1 {
		t.Fatalf("relayer nonce %d → %d: want one transaction", a, b)
	}
	es, err := audit.Open(filepath.Join(e.Vars["XDG_STATE_HOME"], "vrwxctl", "audit.log")).Read()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range es {
		got = append(got, en.Outcome)
	}
	if strings.Join(got, ",") != "sent,mined" || es[0].TxHash != out.Tx.TxHash || es[0].DataHash == "" {
		t.Fatalf("audit %+v", es)
	}
}

// On a chain that charges L1 data fees, job complete succeeds and its worst case
// includes the L1 fee bound.
func TestCompleteOnOPStack(t *testing.T) {
	e := clitest.NewOPStackChain(t)
	e.Vars["RELAYER_PRIVATE_KEY"] = devchain.DevKeyHex(devchain.AccountRelayer)
	id, hash, sig := completion(t, e, devchain.JobFunded, devchain.AccountActiveController, 31337, e.D.Escrow)
	var before string
	if err := e.Anvil.RPC(context.Background(), &before, "eth_getBalance", e.D.Relayer, "latest"); err != nil {
		t.Fatal(err)
	}
	var out job.CompleteJSON
	r := e.Run(completeArgs(id, hash.Hex(), sig)...)
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	r.JSON(t, &out)
	if out.JobStatus != "COMPLETED" || out.Tx.Receipt.Status != "success" {
		t.Fatalf("json %+v", out)
	}
	var after string
	if err := e.Anvil.RPC(context.Background(), &after, "eth_getBalance", e.D.Relayer, "latest"); err != nil {
		t.Fatal(err)
	}
	n := func(s string) *big.Int { v, _ := new(big.Int).SetString(s, 0); return v }
	gas := new(big.Int).Mul(new(big.Int).SetUint64(out.Tx.Receipt.GasUsed), n(out.Tx.Receipt.EffectiveGasPrice))
	charged := new(big.Int).Sub(n(before), n(after))
	charged.Sub(charged, gas)
	quote, bound := n(out.Tx.L1FeeWei), n(out.Tx.L1FeeBoundWei)
	if charged.Sign() <= 0 || bound.Cmp(charged) < 0 || quote.Sign() <= 0 {
		t.Fatalf("L1 fee: quoted %s, bound %s, charged %s wei", quote, bound, charged)
	}
	worst := new(big.Int).Mul(new(big.Int).SetUint64(out.Tx.GasLimit), n(out.Tx.MaxFeePerGas))
	if n(out.Tx.WorstCaseCostWei).Cmp(worst.Add(worst, bound)) != 0 {
		t.Fatalf("worst case %s, want gas limit × fee cap + L1 bound = %s", out.Tx.WorstCaseCostWei, worst)
	}
	t.Logf("job complete: L1 fee quoted %s wei, charged %s wei (quote/charged %s), bound %s wei", quote, charged,
		new(big.Rat).SetFrac(quote, charged).FloatString(4), bound)
}

// A rerun of a completion whose first run was killed after the broadcast names the
// mined transaction instead of only failing its preflight.
func TestCompleteRerunNamesTheEarlierTransaction(t *testing.T) {
	e := clitest.NewChain(t)
	p := devchain.StartFaultProxy(t, e.Anvil.URL)
	e.Vars["RPC_URL"] = p.URL
	e.Vars["RELAYER_PRIVATE_KEY"] = devchain.DevKeyHex(devchain.AccountRelayer)
	id, hash, sig := completion(t, e, devchain.JobFunded, devchain.AccountActiveController, 31337, e.D.Escrow)
	args := completeArgs(id, hash.Hex(), sig)
	var proc *clitest.Proc
	done := make(chan struct{})
	p.AfterForward("eth_sendRawTransaction", func() {
		select {
		case <-done:
		default:
			close(done)
			_ = proc.Cmd.Process.Kill()
		}
	})
	proc = e.Start(args...)
	if r := proc.Wait(); r.Code != -1 {
		t.Fatalf("the first run should have been killed:\n%s", r)
	}
	r := e.Exec(args...)
	if r.Code != 3 || !strings.Contains(r.Stdout+r.Stderr, "already sent as") || !(strings.Contains(r.Stderr, "mined in block") || strings.Contains(r.Stderr, "still pending")) {
		t.Fatalf("want exit 3 naming the mined completion:\n%s", r)
	}
	var gj struct {
		Job struct {
			Status string `json:"status"`
		} `json:"job"`
	}
	e.MustRun(0, "job", "get", id, "-o", "json").JSON(t, &gj)
	if gj.Job.Status != "COMPLETED" {
		t.Fatalf("job %+v", gj)
	}
}
