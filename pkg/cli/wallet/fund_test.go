package wallet_test

import (
	"context"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/wallet"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/units"
)

func balanceOf(t *testing.T, e *clitest.Env, a common.Address) *big.Int {
	t.Helper()
	var s string
	if err := e.Anvil.RPC(context.Background(), &s, "eth_getBalance", a, "latest"); err != nil {
		t.Fatal(err)
	}
	v, _ := new(big.Int).SetString(strings.TrimPrefix(s, "0x"), 16)
	return v
}

func nonceOf(t *testing.T, e *clitest.Env, a common.Address) uint64 {
	t.Helper()
	var s string
	if err := e.Anvil.RPC(context.Background(), &s, "eth_getTransactionCount", a, "pending"); err != nil {
		t.Fatal(err)
	}
	v, _ := new(big.Int).SetString(strings.TrimPrefix(s, "0x"), 16)
	return v.Uint64()
}

func auditEntries(t *testing.T, e *clitest.Env) []audit.Entry {
	t.Helper()
	l := audit.Open(filepath.Join(e.Vars["XDG_STATE_HOME"], "vrwxctl", "audit.log"))
	es, err := l.Read()
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestFundSendsExactlyTheAmount(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["TREASURY_KEY"] = devchain.DevKeyHex(devchain.AccountTreasury)
	to := devchain.DevAddress(7)
	before := balanceOf(t, e, to)
	var j wallet.FundJSON
	r := e.Run("wallet", "fund", "--to", to.Hex(), "--amount", "0.5ether", "--signer", "env://TREASURY_KEY", "--yes", "--reason", "CHG-1", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	r.JSON(t, &j)
	got := new(big.Int).Sub(balanceOf(t, e, to), before)
	if got.String() != "500000000000000000" {
		t.Fatalf("recipient gained %s wei, want exactly 0.5 ETH", got)
	}
	if j.Receipt == nil || j.Receipt.Status != "success" || j.TxHash == "" || j.From != e.D.Treasury.Hex() {
		t.Fatalf("json %+v", j)
	}
	if !strings.Contains(r.Stderr, "sent "+j.TxHash) || !strings.Contains(r.Stderr, "fund(to="+to.Hex()) {
		t.Fatalf("stderr should carry the summary and the hash:\n%s", r)
	}
	es := auditEntries(t, e)
	if len(es) != 2 || es[0].Outcome != "sent" || es[1].Outcome != "mined" || es[1].TxHash != j.TxHash || es[1].Reason != "CHG-1" || es[1].Value != "500000000000000000" {
		t.Fatalf("audit log %+v", es)
	}
	info, err := os.Stat(filepath.Join(e.Vars["XDG_STATE_HOME"], "vrwxctl", "audit.log"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("audit log mode %v %v", info.Mode(), err)
	}
}

func TestFundSafetyRails(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["TREASURY_KEY"] = devchain.DevKeyHex(devchain.AccountTreasury)
	to := devchain.DevAddress(7).Hex()
	n0 := nonceOf(t, e, e.D.Treasury)

	// No terminal and no --yes: refused, nothing sent.
	r := e.Run("wallet", "fund", "--to", to, "--amount", "0.1", "--signer", "env://TREASURY_KEY")
	if r.Code != 3 || !strings.Contains(r.Stderr, "--yes") {
		t.Fatalf("want exit 3 asking for --yes:\n%s", r)
	}
	// Dry run: signs, simulates, prints the hash; sends nothing.
	r = e.Run("wallet", "fund", "--to", to, "--amount", "0.1", "--signer", "env://TREASURY_KEY", "--dry-run")
	if r.Code != 0 || !strings.Contains(r.Stdout, "dry run, not sent") {
		t.Fatalf("dry run:\n%s", r)
	}
	// The funding limit, and --force past it.
	e.WriteConfig("profiles:\n  local:\n    funding_limit_eth: 1\n")
	r = e.Run("wallet", "fund", "--to", to, "--amount", "2ether", "--signer", "env://TREASURY_KEY", "--yes")
	if r.Code != 3 || !strings.Contains(r.Stderr, "funding limit") || !strings.Contains(r.Stderr, "--force") {
		t.Fatalf("want exit 3 over the limit:\n%s", r)
	}
	// More than the balance: refused before sending.
	r = e.Run("wallet", "fund", "--to", to, "--amount", "20000ether", "--signer", "env://TREASURY_KEY", "--yes", "--force")
	if r.Code != 3 {
		t.Fatalf("want exit 3 for more than the balance:\n%s", r)
	}
	// The chain-id guard refuses before anything is signed or sent.
	r = e.Run("wallet", "fund", "--to", to, "--amount", "0.1", "--signer", "env://TREASURY_KEY", "--yes", "--profile", "base-mainnet", "--rpc-url", e.Anvil.URL)
	if r.Code != 3 || !strings.Contains(r.Stderr, "chain 31337") {
		t.Fatalf("want chain-id refusal:\n%s", r)
	}
	if n := nonceOf(t, e, e.D.Treasury); n != n0 {
		t.Fatalf("treasury nonce moved from %d to %d: something was sent", n0, n)
	}
	if r := e.Run("wallet", "fund", "--to", to, "--amount", "2ether", "--signer", "env://TREASURY_KEY", "--yes", "--force"); r.Code != 0 {
		t.Fatalf("--force --yes should send:\n%s", r)
	}
	for _, en := range auditEntries(t, e) {
		if en.Outcome == "sent" && en.Value != "2000000000000000000" {
			t.Fatalf("only the forced send may be in the audit log as sent: %+v", en)
		}
	}
}

func TestFundBadInput(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["TREASURY_KEY"] = devchain.DevKeyHex(devchain.AccountTreasury)
	to := devchain.DevAddress(7).Hex()
	cases := map[string][]string{
		"1btc":                      {"--to", to, "--amount", "1btc"},
		"-1ether":                   {"--to", to, "--amount", "-1ether"},
		"more than 18 decimals":     {"--to", to, "--amount", "0.0000000000000000001"},
		"zero address":              {"--to", "0x0000000000000000000000000000000000000000", "--amount", "1"},
		"to is required":            {"--amount", "1"},
		"--amount is required":      {"--to", to},
		"--signer is required":      {"--to", to, "--amount", "1", "--signer", ""},
		`"0xabc" is not an address`: {"--to", "0xabc", "--amount", "1"},
	}
	n0 := nonceOf(t, e, e.D.Treasury)
	for want, args := range cases {
		full := append([]string{"wallet", "fund", "--signer", "env://TREASURY_KEY", "--yes"}, args...)
		r := e.Run(full...)
		if r.Code != 2 || !strings.Contains(r.Stderr, want) {
			t.Errorf("want exit 2 mentioning %q:\n%s", want, r)
		}
	}
	if nonceOf(t, e, e.D.Treasury) != n0 || len(auditEntries(t, e)) != 0 {
		t.Fatal("bad input sent or journaled something")
	}
}

type bigInt = big.Int

func mustParse(s string) *big.Int {
	v, err := units.ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return v
}
