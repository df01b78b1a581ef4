package wallet_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/wallet"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

func TestDrainLeavesExactlyZeroOrKeep(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["OLD_RELAYER_KEY"] = devchain.DevKeyHex(6)
	old := devchain.DevAddress(6)
	treasuryBefore := balanceOf(t, e, e.D.Treasury)
	oldBefore := balanceOf(t, e, old)

	var j wallet.DrainJSON
	r := e.Run("wallet", "drain", "--signer", "env://OLD_RELAYER_KEY", "--yes", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	r.JSON(t, &j)
	if got := balanceOf(t, e, old); got.Sign() != 0 || j.ActualLeftoverWei != "0" {
		t.Fatalf("old relayer left with %s wei (reported %s), want exactly 0", got, j.ActualLeftoverWei)
	}
	gained := new(bigInt).Sub(balanceOf(t, e, e.D.Treasury), treasuryBefore)
	fee, _ := new(bigInt).SetString(j.Receipt.TotalFeeWei, 10)
	if new(bigInt).Add(gained, fee).Cmp(oldBefore) != 0 {
		t.Fatalf("treasury gained %s + fee %s != old balance %s", gained, fee, oldBefore)
	}

	// --keep leaves exactly that much; fund the account again first.
	if err := e.Anvil.RPC(context.Background(), nil, "anvil_setBalance", old, hexutil.EncodeBig(mustParse("3ether"))); err != nil {
		t.Fatal(err)
	}
	e.MustRun(0, "wallet", "drain", "--signer", "env://OLD_RELAYER_KEY", "--keep", "0.01ether", "--yes")
	if got := balanceOf(t, e, old); got.Cmp(mustParse("0.01ether")) != 0 {
		t.Fatalf("left %s wei, want exactly 0.01 ETH", got)
	}
}

func TestDrainRails(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["OLD_RELAYER_KEY"] = devchain.DevKeyHex(6)
	other := devchain.DevAddress(8).Hex()
	n0 := nonceOf(t, e, devchain.DevAddress(6))
	r := e.Run("wallet", "drain", "--signer", "env://OLD_RELAYER_KEY", "--to", other, "--yes")
	if r.Code != 3 || !strings.Contains(r.Stderr, "not the profile's treasury") {
		t.Fatalf("want exit 3 for a non-treasury destination:\n%s", r)
	}
	r = e.Run("wallet", "drain", "--signer", "env://OLD_RELAYER_KEY", "--keep", "20000ether", "--yes")
	if r.Code != 2 || !strings.Contains(r.Stderr, "more than the balance") {
		t.Fatalf("want exit 2 for --keep above the balance:\n%s", r)
	}
	if nonceOf(t, e, devchain.DevAddress(6)) != n0 {
		t.Fatal("a refused drain sent something")
	}
	e.MustRun(0, "wallet", "drain", "--signer", "env://OLD_RELAYER_KEY", "--to", other, "--allow-non-treasury", "--yes")
	if balanceOf(t, e, devchain.DevAddress(6)).Sign() != 0 {
		t.Fatal("drain to a non-treasury address with --allow-non-treasury did not empty the account")
	}
}

// drain waits for the account's pending transactions before pricing the sweep.
func TestDrainWaitsForPending(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	ctx := context.Background()
	e.Vars["OLD_RELAYER_KEY"] = devchain.DevKeyHex(6)
	if err := e.Anvil.SetAutomine(ctx, false); err != nil {
		t.Fatal(err)
	}
	tx := map[string]any{"from": devchain.DevAddress(6).Hex(), "to": devchain.DevAddress(9).Hex(), "value": "0x1"}
	if err := e.Anvil.RPC(ctx, nil, "eth_sendTransaction", tx); err != nil {
		t.Fatal(err)
	}
	r := e.Run("wallet", "drain", "--signer", "env://OLD_RELAYER_KEY", "--yes", "--timeout", "2s")
	if r.Code != 4 || !strings.Contains(r.Stderr, "pending") {
		t.Fatalf("want exit 4 while a transaction is pending:\n%s", r)
	}
}
