package wallet_test

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/wallet"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// The runbook's "Recent transactions" row: an account's transactions with status,
// fees and the decoded reason of the one that reverted, then what waits in the pool.
func TestHistoryShowsFailedTransactionWithReason(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	ctx := context.Background()
	key := devchain.DevKey(7)
	addr := devchain.DevAddress(7).Hex()
	if _, err := devchain.SendRawTx(ctx, e.Anvil.URL, key, devchain.RawTx{To: e.D.Treasury, Value: big.NewInt(5)}); err != nil {
		t.Fatal(err)
	}
	data := vrwx.Pack(vrwx.EscrowABI(), "submitCompletionV2", big.NewInt(999_999), [32]byte{1}, uint8(100), uint32(1), make([]byte, 65))
	failed, err := devchain.SendRawTx(ctx, e.Anvil.URL, key, devchain.RawTx{To: e.D.Escrow, Data: data, Gas: 300_000})
	if err != nil {
		t.Fatal(err)
	}
	// Mined, and its block the latest: the history search starts there.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := devchain.WaitMined(wctx, e.Anvil.URL, failed); err != nil {
		t.Fatal(err)
	}

	var h wallet.HistoryJSON
	e.MustRun(0, "wallet", "history", addr, "-o", "json").JSON(t, &h)
	if len(h.Transactions) != 2 || h.Source != "otterscan" || h.TxPool == nil {
		t.Fatalf("history %+v", h)
	}
	f := h.Transactions[0]
	if f.Hash != failed.Hex() || f.State != "reverted" || f.Method != "submitCompletionV2" || f.Revert == nil || f.Revert.Error != "JobNotFound" || f.FeeWei == "" || f.Nonce != 1 {
		t.Fatalf("newest %+v (revert %+v)", f, f.Revert)
	}
	if ok := h.Transactions[1]; ok.State != "success" || ok.ValueWei != "5" || ok.Method != "" || ok.To != e.D.Treasury.Hex() {
		t.Fatalf("oldest %+v", ok)
	}

	// A node without the Otterscan index: the nonce scan finds the same.
	p := devchain.StartNodeProxy(t, e.Anvil.URL)
	p.Disable("ots_")
	e.Vars["RPC_URL"] = p.URL
	r := e.MustRun(0, "wallet", "history", addr)
	for _, want := range []string{"nonce scan", failed.Hex(), "reverted", "JobNotFound", "submitCompletionV2", "success", "transfer"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r)
		}
	}
}

func TestHistoryBadInput(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--blocks", "0"}, `--blocks "0"`},
		{[]string{"--limit", "0"}, "--limit 0"},
		{[]string{"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293Bc"}, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293Bc"},
	} {
		r := e.Run(append([]string{"wallet", "history"}, c.args...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%v: want exit 2 naming %q:\n%s", c.args, c.want, r)
		}
	}
}
