package tx_test

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/tx"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

func TestMain(m *testing.M) { clitest.Main(m) }

// stuckTx sends a low-fee transfer from dev account 6 on a chain that is not mining.
func stuckTx(t *testing.T, e *clitest.Env) common.Hash {
	t.Helper()
	ctx := context.Background()
	if err := e.Anvil.SetAutomine(ctx, false); err != nil {
		t.Fatal(err)
	}
	var h common.Hash
	req := map[string]any{"from": devchain.DevAddress(6).Hex(), "to": devchain.DevAddress(9).Hex(), "value": "0x2a",
		"maxFeePerGas": "0x3b9aca00", "maxPriorityFeePerGas": "0x3b9aca00", "gas": "0x5208"}
	if err := e.Anvil.RPC(ctx, &h, "eth_sendTransaction", req); err != nil {
		t.Fatal(err)
	}
	return h
}

// runMining runs vrwxctl while mining a block once the pool holds a replacement.
func runMining(t *testing.T, e *clitest.Env, stuck common.Hash, args ...string) clitest.Result {
	t.Helper()
	done := make(chan clitest.Result)
	go func() { done <- e.Run(args...) }()
	ctx := context.Background()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		var pool map[string]map[string]map[string]struct {
			Hash common.Hash `json:"hash"`
		}
		if err := e.Anvil.RPC(ctx, &pool, "txpool_content"); err != nil {
			t.Fatal(err)
		}
		for _, byNonce := range pool["pending"] {
			for _, txn := range byNonce {
				if txn.Hash != stuck {
					if err := e.Anvil.Mine(ctx); err != nil {
						t.Fatal(err)
					}
					return <-done
				}
			}
		}
		select {
		case r := <-done:
			return r
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("no replacement appeared in the pool")
	return clitest.Result{}
}

func receiptStatus(t *testing.T, e *clitest.Env, h common.Hash) (mined bool) {
	var r map[string]any
	if err := e.Anvil.RPC(context.Background(), &r, "eth_getTransactionReceipt", h); err != nil {
		t.Fatal(err)
	}
	return r != nil
}

func TestSpeedupReplacesStuckTransaction(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["K"] = devchain.DevKeyHex(6)
	stuck := stuckTx(t, e)
	var j tx.ReplaceJSON
	r := runMining(t, e, stuck, "tx", "speedup", "--nonce", "0", "--signer", "env://K", "--yes", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	r.JSON(t, &j)
	if j.Replaced != stuck.Hex() || j.Receipt == nil || j.Receipt.Status != "success" || j.Nonce != 0 {
		t.Fatalf("json %+v", j)
	}
	fee, _ := new(big.Int).SetString(j.MaxFeePerGas, 10)
	tip, _ := new(big.Int).SetString(j.MaxPriorityFee, 10)
	if fee.Cmp(big.NewInt(1_125_000_000)) < 0 || tip.Cmp(big.NewInt(1_125_000_000)) < 0 || j.ValueWei != "42" || j.To != devchain.DevAddress(9).Hex() {
		t.Fatalf("replacement must be the same transfer with fees raised ≥12.5%%: %+v", j)
	}
	if receiptStatus(t, e, stuck) {
		t.Fatal("the stuck original was mined too")
	}
	// tx status of the replacement and of the dropped original.
	var s tx.StatusJSON
	e.MustRun(0, "tx", "status", j.TxHash, "-o", "json").JSON(t, &s)
	if s.State != "success" || s.Receipt.Block == 0 {
		t.Fatalf("status %+v", s)
	}
	// The node forgot the original; the audit log knows vrwxctl replaced it.
	var o tx.StatusJSON
	e.MustRun(0, "tx", "status", stuck.Hex(), "-o", "json").JSON(t, &o)
	if o.State != "replaced" || o.ReplacedBy == nil || o.ReplacedBy.Hash != j.TxHash || o.ReplacedBy.Command != "tx speedup" || o.ReplacedBy.State != "success" || o.ReplacedBy.Block != j.Receipt.Block {
		t.Fatalf("the replaced original: %+v (%+v)", o, o.ReplacedBy)
	}
	text := e.MustRun(0, "tx", "status", stuck.Hex())
	if !strings.Contains(text.Stdout, "replaced by "+j.TxHash+" (tx speedup by ") || strings.Contains(text.Stdout+text.Stderr, "sent again") {
		t.Fatalf("the replaced original, as text:\n%s", text)
	}
	// The summary showed what was replaced, and did not count it as an earlier
	// transaction still pending.
	if !strings.Contains(r.Stderr, "replaces "+stuck.Hex()+" (max 1 gwei/gas") || strings.Contains(r.Stderr, "earlier transaction(s) still pending") {
		t.Fatalf("the replacement's summary:\n%s", r.Stderr)
	}
	// A hash nobody sent stays unknown.
	if r := e.Run("tx", "status", "0x"+strings.Repeat("ab", 32)); r.Code != 1 || !strings.Contains(r.Stderr, "unknown") {
		t.Fatalf("an unknown hash:\n%s", r)
	}
}

func TestCancelUsesTheNonce(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["K"] = devchain.DevKeyHex(6)
	stuck := stuckTx(t, e)
	var j tx.ReplaceJSON
	r := runMining(t, e, stuck, "tx", "cancel", "--nonce", "0", "--signer", "env://K", "--yes", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	r.JSON(t, &j)
	if j.To != devchain.DevAddress(6).Hex() || j.ValueWei != "0" || j.Receipt.Status != "success" || receiptStatus(t, e, stuck) {
		t.Fatalf("cancel must be a zero-value self-transfer that wins the nonce: %+v", j)
	}
	// The nonce is now mined: a second cancel has nothing to replace.
	if r := e.Run("tx", "cancel", "--nonce", "0", "--signer", "env://K", "--yes"); r.Code != 1 || !strings.Contains(r.Stderr, "already mined") {
		t.Fatalf("%s", r)
	}
}

func TestWaitTimesOutWithHash(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	stuck := stuckTx(t, e)
	r := e.Run("tx", "wait", stuck.Hex(), "--timeout", "1s")
	if r.Code != 4 || !strings.Contains(r.Stderr, stuck.Hex()) || !strings.Contains(r.Stderr, "do NOT resend") {
		t.Fatalf("want exit 4 naming the hash:\n%s", r)
	}
	var s tx.StatusJSON
	e.MustRun(0, "tx", "status", stuck.Hex(), "-o", "json").JSON(t, &s)
	if s.State != "pending" || *s.Nonce != 0 {
		t.Fatalf("status %+v", s)
	}
	if err := e.Anvil.Mine(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.MustRun(0, "tx", "wait", stuck.Hex())
}

// A send whose receipt never comes times out with exit 4, after printing its hash.
func TestSendTimeoutExit4(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["K"] = devchain.DevKeyHex(7)
	if err := e.Anvil.SetAutomine(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	r := e.Run("wallet", "fund", "--to", devchain.DevAddress(9).Hex(), "--amount", "1wei", "--signer", "env://K", "--yes", "--timeout", "2s")
	if r.Code != 4 || !strings.Contains(r.Stderr, "sent 0x") || !strings.Contains(r.Stderr, "tx wait") {
		t.Fatalf("want exit 4 with the hash and the way to follow it:\n%s", r)
	}
}

func TestTxBadInput(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	for _, args := range [][]string{
		{"tx", "status", "0x1234"},
		{"tx", "wait", "nothex"},
		{"tx", "speedup", "--signer", "env://K"},
		{"tx", "cancel", "--nonce", "-1", "--signer", "env://K"},
	} {
		if r := e.Run(args...); r.Code != 2 {
			t.Errorf("want exit 2:\n%s", r)
		}
	}
}
