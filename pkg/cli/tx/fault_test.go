package tx_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/tx"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

func auditOutcomes(t *testing.T, e *clitest.Env, hash string) []string {
	t.Helper()
	es, err := audit.Open(filepath.Join(e.Vars["XDG_STATE_HOME"], "vrwxctl", "audit.log")).Read()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range es {
		if hash == "" || strings.EqualFold(en.TxHash, hash) {
			out = append(out, en.Outcome)
		}
	}
	return out
}

func minedNonce(t *testing.T, e *clitest.Env) string {
	t.Helper()
	var n string
	if err := e.Anvil.RPC(context.Background(), &n, "eth_getTransactionCount", devchain.DevAddress(6), "latest"); err != nil {
		t.Fatal(err)
	}
	return n
}

// tx speedup whose broadcast answer is lost: the replacement is in the pool, so the
// command says "sent" and waits as if the node had answered; it is mined, the stuck
// original never is, and the nonce is used once.
func TestSpeedupAnswerLost(t *testing.T) {
	e := clitest.NewChain(t)
	e.Vars["K"] = devchain.DevKeyHex(6)
	stuck := stuckTx(t, e)
	p := devchain.StartFaultProxy(t, e.Anvil.URL)
	e.Vars["RPC_URL"] = p.URL
	p.Inject("eth_sendRawTransaction", devchain.ForwardThenDrop, -1)
	// Mine only once vrwxctl has reconciled (asked for the transaction by hash) and
	// is polling for the receipt, so the reconciliation finds it pending.
	var reconciled, mined atomic.Bool
	p.BeforeForward("eth_getTransactionByHash", func() { reconciled.Store(true) })
	p.BeforeForward("eth_getTransactionReceipt", func() {
		if reconciled.Load() && !mined.Swap(true) {
			if err := e.Anvil.Mine(context.Background()); err != nil {
				t.Error(err)
			}
		}
	})
	var j tx.ReplaceJSON
	r := e.Run("tx", "speedup", "--nonce", "0", "--signer", "env://K", "--yes", "--timeout", "20s", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	r.JSON(t, &j)
	if j.Replaced != stuck.Hex() || j.Reconciled != "pending" || j.Receipt == nil || j.Receipt.Status != "success" {
		t.Fatalf("json %+v", j)
	}
	if !strings.Contains(r.Stderr, "signed "+j.TxHash) || !strings.Contains(r.Stderr, "in the pool") {
		t.Fatalf("stderr:\n%s", r)
	}
	if receiptStatus(t, e, stuck) || minedNonce(t, e) != "0x1" {
		t.Fatalf("want only the replacement mined at nonce 0 (mined nonce %s)", minedNonce(t, e))
	}
	if got := auditOutcomes(t, e, j.TxHash); strings.Join(got, ",") != "sent,mined" {
		t.Fatalf("audit outcomes %v", got)
	}
}

// tx cancel and speedup at a nonce where nothing is pending sign nothing: a cancel
// there would open a nonce gap. The error says what is pending instead.
func TestReplaceRefusesWhenNothingPending(t *testing.T) {
	e := clitest.NewChain(t)
	e.Vars["K"] = devchain.DevKeyHex(6)
	for _, verb := range []string{"cancel", "speedup"} {
		r := e.Run("tx", verb, "--nonce", "99", "--signer", "env://K", "--yes")
		if r.Code != 1 || !strings.Contains(r.Stderr, "nothing from") || !strings.Contains(r.Stderr, "nonce 99") {
			t.Fatalf("want exit 1, nothing pending at 99:\n%s", r)
		}
	}
	stuck := stuckTx(t, e)
	r := e.Run("tx", "cancel", "--nonce", "5", "--signer", "env://K", "--yes")
	if r.Code != 1 || !strings.Contains(r.Stderr, "nonce 0: "+stuck.Hex()) || !strings.Contains(r.Stderr, "--nonce 0") {
		t.Fatalf("want exit 1 naming the pending nonce 0 (%s):\n%s", stuck.Hex(), r)
	}
	if minedNonce(t, e) != "0x0" || len(auditOutcomes(t, e, "")) != 0 {
		t.Fatal("a refused replacement signed or journaled something")
	}
	var pool map[string]map[string]map[string]any
	if err := e.Anvil.RPC(context.Background(), &pool, "txpool_content"); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, byNonce := range pool["pending"] {
		n += len(byNonce)
	}
	if n != 1 {
		t.Fatalf("the pool holds %d transactions, want only the stuck one", n)
	}
}
