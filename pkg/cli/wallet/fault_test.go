package wallet_test

import (
	"context"
	"math/big"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/wallet"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

const sendMethod = "eth_sendRawTransaction"

// faultyFund is a chain behind a fault proxy, with the treasury key in env://TREASURY_KEY.
func faultyFund(t *testing.T) (*clitest.Env, *devchain.FaultProxy) {
	t.Helper()
	e := treasuryChain(t)
	p := devchain.StartFaultProxy(t, e.Anvil.URL)
	e.Vars["RPC_URL"] = p.URL
	return e, p
}

// outcomes lists the audit outcomes of hash, in order.
func outcomes(t *testing.T, e *clitest.Env, hash string) []string {
	t.Helper()
	var out []string
	for _, en := range auditEntries(t, e) {
		if strings.EqualFold(en.TxHash, hash) {
			out = append(out, en.Outcome)
		}
	}
	return out
}

// sentHashes lists the hashes with a "sent" line.
func sentHashes(t *testing.T, e *clitest.Env) []string {
	t.Helper()
	var out []string
	for _, en := range auditEntries(t, e) {
		if en.Outcome == audit.Sent {
			out = append(out, en.TxHash)
		}
	}
	return out
}

// The node acts on the broadcast but its answer is lost (connection reset, or 503
// after forwarding, or no answer at all): vrwxctl reconciles, finds the transaction
// mined, and reports it as the success it is. One payment, the hash printed, the
// audit log saying mined.
func TestFundAnswerLostAfterBroadcast(t *testing.T) {
	t.Parallel()
	for name, fault := range map[string]devchain.Fault{
		"forward-then-drop": devchain.ForwardThenDrop,
		"forward-then-503":  devchain.ForwardThen503,
		"forward-then-hang": devchain.ForwardThenHang,
	} {
		t.Run(name, func(t *testing.T) {
			e, p := faultyFund(t)
			to := devchain.DevAddress(7)
			before, n0 := balanceOf(t, e, to), nonceOf(t, e, e.D.Treasury)
			p.Inject(sendMethod, fault, -1)
			// The audit log holds the hash before the first byte reaches the node.
			var mu sync.Mutex
			var journaled []string
			p.BeforeForward(sendMethod, func() {
				mu.Lock()
				defer mu.Unlock()
				if journaled != nil {
					return
				}
				es, _ := audit.Open(filepath.Join(e.Vars["XDG_STATE_HOME"], "vrwxctl", "audit.log")).Read()
				journaled = []string{}
				for _, en := range es {
					if en.Outcome == audit.Sent {
						journaled = append(journaled, en.TxHash)
					}
				}
			})
			var j wallet.FundJSON
			r := e.Run("wallet", "fund", "--to", to.Hex(), "--amount", "0.001ether", "--signer", "env://TREASURY_KEY", "--yes", "--timeout", "6s", "-o", "json")
			if r.Code != 0 {
				t.Fatalf("the transaction was mined; want exit 0:\n%s", r)
			}
			r.JSON(t, &j)
			if got := new(big.Int).Sub(balanceOf(t, e, to), before); got.Cmp(big.NewInt(1e15)) != 0 {
				t.Fatalf("recipient gained %s wei, want exactly one payment of 0.001 ETH", got)
			}
			if n := nonceOf(t, e, e.D.Treasury); n != n0+1 {
				t.Fatalf("treasury nonce %d → %d: want exactly one transaction", n0, n)
			}
			// Reconciled as mined, or as pending when it asked in the moment between
			// anvil admitting the transaction and mining it.
			if (j.Reconciled != "mined" && j.Reconciled != "pending") || j.Receipt == nil || j.Receipt.Status != "success" {
				t.Fatalf("json %+v", j)
			}
			if !strings.Contains(r.Stderr, "signed "+j.TxHash) || !strings.Contains(r.Stderr, "answer to the broadcast was lost") {
				t.Fatalf("stderr should show the hash before the broadcast and the reconciliation:\n%s", r)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(journaled) != 1 || journaled[0] != j.TxHash {
				t.Fatalf("when the broadcast reached the proxy the audit log held sent lines %v, want [%s]", journaled, j.TxHash)
			}
			if got := outcomes(t, e, j.TxHash); strings.Join(got, ",") != "sent,mined" {
				t.Fatalf("audit outcomes %v, want sent,mined", got)
			}
		})
	}
}

// The broadcast never reaches a node and no endpoint knows the transaction: "not
// sent", exit 1, the audit log says so, and running the command again pays once.
func TestFundNotSentWhenTheBroadcastIsLost(t *testing.T) {
	t.Parallel()
	e, p := faultyFund(t)
	to := devchain.DevAddress(7)
	before := balanceOf(t, e, to)
	p.Inject(sendMethod, devchain.Hang, -1)
	r := e.Run("wallet", "fund", "--to", to.Hex(), "--amount", "0.001ether", "--signer", "env://TREASURY_KEY", "--yes", "--timeout", "6s")
	if r.Code != 1 || !strings.Contains(r.Stderr, "not sent") || !strings.Contains(r.Stderr, "is unused") {
		t.Fatalf("want exit 1 \"not sent\":\n%s", r)
	}
	hashes := sentHashes(t, e)
	if len(hashes) != 1 || strings.Join(outcomes(t, e, hashes[0]), ",") != "sent,not-sent" || p.Forwarded(sendMethod) != 0 {
		t.Fatalf("audit %v (forwarded %d): want sent,not-sent", auditEntries(t, e), p.Forwarded(sendMethod))
	}
	if balanceOf(t, e, to).Cmp(before) != 0 {
		t.Fatal("a transaction reported as not sent arrived")
	}
	p.Clear()
	e.MustRun(0, "wallet", "fund", "--to", to.Hex(), "--amount", "0.001ether", "--signer", "env://TREASURY_KEY", "--yes")
	if got := new(big.Int).Sub(balanceOf(t, e, to), before); got.Cmp(big.NewInt(1e15)) != 0 {
		t.Fatalf("recipient gained %s wei after the rerun, want one payment", got)
	}
}

// The answer is lost and then every endpoint goes quiet: nobody can tell whether
// the transaction got out. Exit 4 "MAY have been sent", with the hash and tx wait.
// The rerun finds it mined and refuses to pay again; --new-payment pays again.
func TestFundUnknownThenRerunRefuses(t *testing.T) {
	t.Parallel()
	e, p := faultyFund(t)
	to := devchain.DevAddress(7)
	before := balanceOf(t, e, to)
	p.Inject(sendMethod, devchain.ForwardThenDrop, 1)
	p.AfterForward(sendMethod, func() { p.Inject("", devchain.Hang, -1) })
	r := e.Run("wallet", "fund", "--to", to.Hex(), "--amount", "0.001ether", "--signer", "env://TREASURY_KEY", "--yes", "--timeout", "6s")
	hashes := sentHashes(t, e)
	if len(hashes) != 1 {
		t.Fatalf("audit %+v", auditEntries(t, e))
	}
	h := hashes[0]
	if r.Code != 4 || !strings.Contains(r.Stderr, "MAY have been sent") || !strings.Contains(r.Stderr, "do NOT resend") || !strings.Contains(r.Stderr, "vrwxctl tx wait "+h) {
		t.Fatalf("want exit 4 \"MAY have been sent\" naming %s and tx wait:\n%s", h, r)
	}
	if got := outcomes(t, e, h); strings.Join(got, ",") != "sent,unknown" {
		t.Fatalf("audit outcomes %v", got)
	}
	p.Clear()
	p.AfterForward(sendMethod, func() {})
	r = e.Run("wallet", "fund", "--to", to.Hex(), "--amount", "0.001ether", "--signer", "env://TREASURY_KEY", "--yes")
	if r.Code != 3 || !strings.Contains(r.Stderr, h) || !strings.Contains(r.Stderr, "tx wait") || !strings.Contains(r.Stderr, "--new-payment") {
		t.Fatalf("the rerun must refuse, naming %s, tx wait and --new-payment:\n%s", h, r)
	}
	if got := outcomes(t, e, h); strings.Join(got, ",") != "sent,unknown,mined" {
		t.Fatalf("the rerun should record what it learned: %v", got)
	}
	// Refused again while the operator has not said it is a new payment.
	e.MustRun(3, "wallet", "fund", "--to", to.Hex(), "--amount", "0.001ether", "--signer", "env://TREASURY_KEY", "--yes")
	if got := new(big.Int).Sub(balanceOf(t, e, to), before); got.Cmp(big.NewInt(1e15)) != 0 {
		t.Fatalf("recipient gained %s wei, want one payment", got)
	}
	// Another intent is not held up by it.
	e.MustRun(0, "wallet", "fund", "--to", to.Hex(), "--amount", "0.002ether", "--signer", "env://TREASURY_KEY", "--yes")
	e.MustRun(0, "wallet", "fund", "--to", to.Hex(), "--amount", "0.001ether", "--signer", "env://TREASURY_KEY", "--yes", "--new-payment")
	if got := new(big.Int).Sub(balanceOf(t, e, to), before); got.Cmp(big.NewInt(4e15)) != 0 {
		t.Fatalf("recipient gained %s wei, want 0.001 + 0.002 + 0.001 ETH", got)
	}
	// The chain shows both within the payment window: the same fund again is refused
	// whatever the audit log says, naming the newest.
	r = e.MustRun(3, "wallet", "fund", "--to", to.Hex(), "--amount", "0.001ether", "--signer", "env://TREASURY_KEY", "--yes")
	if !strings.Contains(r.Stderr, "and 1 more of the same") {
		t.Fatalf("the refusal should count both payments:\n%s", r)
	}
}

// A first RPC URL that accepts connections and never answers: the command fails over
// to the second and succeeds within --timeout; -v shows the failover.
func TestFundHungFirstURLFailsOver(t *testing.T) {
	t.Parallel()
	e, p := faultyFund(t)
	p.Inject("", devchain.Hang, -1)
	to := devchain.DevAddress(7)
	before := balanceOf(t, e, to)
	r := e.Run("wallet", "fund", "--to", to.Hex(), "--amount", "0.001ether", "--signer", "env://TREASURY_KEY", "--yes",
		"--rpc-url", p.URL, "--rpc-url", e.Anvil.URL, "--timeout", "20s", "-v")
	if r.Code != 0 {
		t.Fatalf("want success through the second URL:\n%s", r)
	}
	if !strings.Contains(r.Stderr, "no answer within") || !strings.Contains(r.Stderr, "trying "+e.Anvil.URL) {
		t.Fatalf("-v should show the failover:\n%s", r)
	}
	if got := new(big.Int).Sub(balanceOf(t, e, to), before); got.Cmp(big.NewInt(1e15)) != 0 {
		t.Fatalf("recipient gained %s wei", got)
	}
}

// drain and its answer lost: one drain, the account at exactly 0, the audit agrees.
func TestDrainAnswerLost(t *testing.T) {
	t.Parallel()
	e, p := faultyFund(t)
	e.Vars["OLD_RELAYER_KEY"] = devchain.DevKeyHex(6)
	old := devchain.DevAddress(6)
	treasuryBefore, oldBefore := balanceOf(t, e, e.D.Treasury), balanceOf(t, e, old)
	p.Inject(sendMethod, devchain.ForwardThen503, -1)
	var j wallet.DrainJSON
	r := e.Run("wallet", "drain", "--signer", "env://OLD_RELAYER_KEY", "--yes", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	r.JSON(t, &j)
	fee := wei(j.Receipt.TotalFeeWei)
	if balanceOf(t, e, old).Sign() != 0 || new(big.Int).Add(new(big.Int).Sub(balanceOf(t, e, e.D.Treasury), treasuryBefore), fee).Cmp(oldBefore) != 0 {
		t.Fatalf("want one drain to exactly 0 (old %s left, treasury +%s)", balanceOf(t, e, old), new(big.Int).Sub(balanceOf(t, e, e.D.Treasury), treasuryBefore))
	}
	if got := outcomes(t, e, j.TxHash); strings.Join(got, ",") != "sent,mined" {
		t.Fatalf("audit outcomes %v", got)
	}
}

// SIGKILL right after the broadcast reached the node, then the same command again:
// the rerun finds the journaled hash mined and refuses. One payment.
func TestFundKilledAfterBroadcastRerunDoesNotPayTwice(t *testing.T) {
	t.Parallel()
	e, p := faultyFund(t)
	to := devchain.DevAddress(7)
	before := balanceOf(t, e, to)
	args := []string{"wallet", "fund", "--to", to.Hex(), "--amount", "0.001ether", "--signer", "env://TREASURY_KEY", "--yes"}
	var proc *clitest.Proc
	var once sync.Once
	p.AfterForward(sendMethod, func() { once.Do(func() { _ = proc.Cmd.Process.Signal(syscall.SIGKILL) }) })
	proc = e.Start(args...)
	r := proc.Wait()
	if r.Code != -1 {
		t.Fatalf("the first run should have been killed:\n%s", r)
	}
	hashes := sentHashes(t, e)
	if len(hashes) != 1 {
		t.Fatalf("audit %+v", auditEntries(t, e))
	}
	p.AfterForward(sendMethod, func() {})
	waitReceipt(t, e, hashes[0])
	r = e.Exec(args...)
	if r.Code != 3 || !strings.Contains(r.Stderr, hashes[0]) || !strings.Contains(r.Stderr, "mined in block") || !strings.Contains(r.Stderr, "vrwxctl tx wait") {
		t.Fatalf("the rerun must refuse naming %s:\n%s", hashes[0], r)
	}
	if got := new(big.Int).Sub(balanceOf(t, e, to), before); got.Cmp(big.NewInt(1e15)) != 0 {
		t.Fatalf("recipient gained %s wei, want one payment", got)
	}
	if got := outcomes(t, e, hashes[0]); strings.Join(got, ",") != "sent,mined" {
		t.Fatalf("audit outcomes %v", got)
	}
}

// Several `wallet fund --yes` from one signer at the same time, as separate
// processes: the signer's lock makes them take turns, so every payment lands once
// with its own nonce and none replaces another.
func TestConcurrentFundsFromOneSigner(t *testing.T) {
	t.Parallel()
	e := treasuryChain(t)
	to := devchain.DevAddress(7)
	before, n0 := balanceOf(t, e, to), nonceOf(t, e, e.D.Treasury)
	amounts := []string{"1", "2", "3", "4"}
	procs := make([]*clitest.Proc, len(amounts))
	for i, a := range amounts {
		procs[i] = e.Start("wallet", "fund", "--to", to.Hex(), "--amount", a+"gwei", "--signer", "env://TREASURY_KEY", "--yes", "--timeout", "60s")
	}
	for _, p := range procs {
		if r := p.Wait(); r.Code != 0 {
			t.Fatalf("every fund of its own amount should land:\n%s", r)
		}
	}
	if got := new(big.Int).Sub(balanceOf(t, e, to), before); got.Cmp(big.NewInt(10e9)) != 0 {
		t.Fatalf("recipient gained %s wei, want 1+2+3+4 gwei", got)
	}
	if n := nonceOf(t, e, e.D.Treasury); n != n0+4 {
		t.Fatalf("treasury nonce %d → %d, want 4 transactions", n0, n)
	}

	// Two of the same payment at once: each lands or is refused before signing, and
	// the chain holds exactly as many payments as runs that said they paid.
	before = balanceOf(t, e, to)
	a, b := e.Start("wallet", "fund", "--to", to.Hex(), "--amount", "5gwei", "--signer", "env://TREASURY_KEY", "--yes"),
		e.Start("wallet", "fund", "--to", to.Hex(), "--amount", "5gwei", "--signer", "env://TREASURY_KEY", "--yes")
	paid := 0
	for _, p := range []*clitest.Proc{a, b} {
		r := p.Wait()
		switch {
		case r.Code == 0:
			paid++
		case r.Code == 3 && (strings.Contains(r.Stderr, "this run sends nothing") || strings.Contains(r.Stderr, "this run paid nothing")):
			// Refused by the chain (the same payment in the pool or a block, or the
			// node took the other run's) or, both runs sharing one audit log here,
			// by the log's record of the other run's send.
		default:
			t.Fatalf("want exit 0 or a refusal before signing:\n%s", r)
		}
		if strings.Contains(r.Stderr, "underpriced") || strings.Contains(r.Stderr, "replace") {
			t.Fatalf("no transaction may replace another:\n%s", r)
		}
	}
	if got := new(big.Int).Sub(balanceOf(t, e, to), before); paid == 0 || got.Cmp(big.NewInt(int64(paid)*5e9)) != 0 {
		t.Fatalf("%d runs paid, recipient gained %s wei", paid, got)
	}
}

// waitReceipt waits until anvil has mined h (it admits a transaction a moment before
// its automine writes the receipt).
func waitReceipt(t *testing.T, e *clitest.Env, h string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var r map[string]any
		if err := e.Anvil.RPC(context.Background(), &r, "eth_getTransactionReceipt", h); err != nil {
			t.Fatal(err)
		}
		if r != nil {
			return
		}
	}
	t.Fatalf("%s was not mined", h)
}
