package wallet_test

import (
	"context"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/wallet"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/txflow"
)

func wei(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("not a wei amount: " + s)
	}
	return v
}

// l1Charged is what the chain took beyond value and L2 gas: the L1 data fee it
// charged. anvil's receipts carry no l1Fee field, so it is read off the balances.
func l1Charged(t *testing.T, before, after *big.Int, res *txflow.Result) *big.Int {
	t.Helper()
	gas := new(big.Int).Mul(new(big.Int).SetUint64(res.Receipt.GasUsed), wei(res.Receipt.EffectiveGasPrice))
	l1 := new(big.Int).Sub(before, after)
	l1.Sub(l1, wei(res.ValueWei)).Sub(l1, gas)
	return l1
}

func setBalance(t *testing.T, e *clitest.Env, a common.Address, v *big.Int) {
	t.Helper()
	if err := e.Anvil.RPC(context.Background(), nil, "anvil_setBalance", a, hexutil.EncodeBig(v)); err != nil {
		t.Fatal(err)
	}
}

// The OP-stack fee path on a chain that really charges L1 data fees (Base-like
// numbers in the real GasPriceOracle and L1Block predeploys).
func TestOPStackFundQuotesAndPaysTheL1Fee(t *testing.T) {
	t.Parallel()
	e := clitest.NewOPStackChain(t)
	e.Vars["TREASURY_KEY"] = devchain.DevKeyHex(devchain.AccountTreasury)
	to := devchain.DevAddress(7)
	treasuryBefore, toBefore := balanceOf(t, e, e.D.Treasury), balanceOf(t, e, to)
	var j wallet.FundJSON
	r := e.Run("wallet", "fund", "--to", to.Hex(), "--amount", "0.001ether", "--signer", "env://TREASURY_KEY", "--yes", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	r.JSON(t, &j)
	if got := new(big.Int).Sub(balanceOf(t, e, to), toBefore); got.Cmp(wei("1000000000000000")) != 0 {
		t.Fatalf("recipient gained %s wei, want 0.001 ETH", got)
	}
	charged := l1Charged(t, treasuryBefore, balanceOf(t, e, e.D.Treasury), j.Result)
	quote, bound := wei(j.L1FeeWei), wei(j.L1FeeBoundWei)
	if charged.Sign() <= 0 {
		t.Fatalf("the chain charged no L1 fee (%s wei): the OP-stack set-up is not in effect", charged)
	}
	if quote.Cmp(charged) != 0 || bound.Cmp(charged) < 0 {
		t.Fatalf("L1 fee: quoted %s, bound %s, charged %s wei: the quote must be what the chain charged, the bound at least that", quote, bound, charged)
	}
	// The worst case checked against the balance includes the L1 fee bound.
	worst := new(big.Int).Mul(new(big.Int).SetUint64(j.GasLimit), wei(j.MaxFeePerGas))
	worst.Add(worst, wei(j.ValueWei)).Add(worst, bound)
	if wei(j.WorstCaseCostWei).Cmp(worst) != 0 {
		t.Fatalf("worst case %s, want value + gas limit × fee cap + L1 bound = %s", j.WorstCaseCostWei, worst)
	}
	t.Logf("fund 0.001 ETH: L1 fee quoted %s wei, charged %s wei, bound %s wei; L2 gas %d × %s wei",
		quote, charged, bound, j.Receipt.GasUsed, j.Receipt.EffectiveGasPrice)
}

// The account holds just enough for one more transaction's worst case only if the
// L1 fee is in it: the check refuses, nothing is sent.
func TestOPStackWorstCaseIncludesTheL1Fee(t *testing.T) {
	t.Parallel()
	e := clitest.NewOPStackChain(t)
	e.Vars["K"] = devchain.DevKeyHex(8)
	from := devchain.DevAddress(8)
	var dry wallet.FundJSON
	e.MustRun(0, "wallet", "fund", "--to", devchain.DevAddress(9).Hex(), "--amount", "0.001ether", "--signer", "env://K", "--dry-run", "-o", "json").JSON(t, &dry)
	// Enough for value + gas limit × fee cap, not for the L1 fee on top.
	short := new(big.Int).Mul(new(big.Int).SetUint64(dry.GasLimit), wei(dry.MaxFeePerGas))
	short.Add(short, wei(dry.ValueWei)).Add(short, big.NewInt(1))
	setBalance(t, e, from, short)
	n0 := nonceOf(t, e, from)
	r := e.Run("wallet", "fund", "--to", devchain.DevAddress(9).Hex(), "--amount", "0.001ether", "--signer", "env://K", "--yes")
	if r.Code != 3 || !strings.Contains(r.Stderr, "L1 fee") {
		t.Fatalf("want exit 3 naming the L1 fee in the worst case:\n%s", r)
	}
	if nonceOf(t, e, from) != n0 {
		t.Fatal("a refused send moved the nonce")
	}
}

func TestOPStackDrain(t *testing.T) {
	t.Parallel()
	e := clitest.NewOPStackChain(t)
	e.Vars["OLD_RELAYER_KEY"] = devchain.DevKeyHex(6)
	old := devchain.DevAddress(6)
	drain := func(name string, balance *big.Int, args ...string) wallet.DrainJSON {
		t.Helper()
		setBalance(t, e, old, balance)
		var j wallet.DrainJSON
		r := e.Run(append([]string{"wallet", "drain", "--signer", "env://OLD_RELAYER_KEY", "--yes", "-o", "json"}, args...)...)
		if r.Code != 0 {
			t.Fatalf("%s: %s", name, r)
		}
		r.JSON(t, &j)
		left := balanceOf(t, e, old)
		if j.ActualLeftoverWei != left.String() {
			t.Fatalf("%s: reported leftover %s, chain says %s", name, j.ActualLeftoverWei, left)
		}
		if j.SecondSweep == nil && j.ExpectedLeftoverWei != j.ActualLeftoverWei {
			t.Fatalf("%s: expected leftover %s wei, actual %s wei", name, j.ExpectedLeftoverWei, j.ActualLeftoverWei)
		}
		if wei(j.WorstCaseCostWei).Cmp(balance) > 0 {
			t.Fatalf("%s: worst case %s above the balance %s", name, j.WorstCaseCostWei, balance)
		}
		t.Logf("%s of %s wei: L1 fee quoted %s, reserved %s; expected leftover %s, actual %s wei, second sweep %v",
			name, balance, j.L1FeeWei, j.L1FeeBoundWei, j.ExpectedLeftoverWei, j.ActualLeftoverWei, j.SecondSweep != nil)
		return j
	}
	point1 := wei("100000000000000000")
	drain("drain", point1)
	if left := balanceOf(t, e, old); left.Sign() != 0 {
		t.Fatalf("drain left %s wei", left)
	}
	drain("drain --keep 0.01ether", point1, "--keep", "0.01ether")
	if left := balanceOf(t, e, old); left.Cmp(wei("10000000000000000")) != 0 {
		t.Fatalf("drain --keep left %s wei, want exactly 0.01 ETH", left)
	}
	drain("drain --sweep", point1, "--sweep")
	if left := balanceOf(t, e, old); left.Sign() != 0 {
		t.Fatalf("drain --sweep left %s wei", left)
	}
}
