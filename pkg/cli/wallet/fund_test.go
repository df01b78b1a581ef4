package wallet_test

import (
	"context"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/wallet"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/units"
)

// treasuryChain is a chain whose treasury key is in $TREASURY_KEY, the --signer
// env://TREASURY_KEY of these tests.
func treasuryChain(t *testing.T) *clitest.Env {
	t.Helper()
	e := clitest.NewChain(t)
	e.Vars["TREASURY_KEY"] = devchain.DevKeyHex(devchain.AccountTreasury)
	return e
}

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
	e := treasuryChain(t)
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
	e := treasuryChain(t)
	to := devchain.DevAddress(7).Hex()
	n0 := nonceOf(t, e, e.D.Treasury)

	// No terminal and no --yes: refused, nothing sent.
	r := e.Run("wallet", "fund", "--to", to, "--amount", "0.1ether", "--signer", "env://TREASURY_KEY")
	if r.Code != 3 || !strings.Contains(r.Stderr, "--yes") {
		t.Fatalf("want exit 3 asking for --yes:\n%s", r)
	}
	// Dry run: signs, simulates, prints the hash; sends nothing.
	r = e.Run("wallet", "fund", "--to", to, "--amount", "0.1ether", "--signer", "env://TREASURY_KEY", "--dry-run")
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
	r = e.Run("wallet", "fund", "--to", to, "--amount", "0.1ether", "--signer", "env://TREASURY_KEY", "--yes", "--profile", "base-mainnet", "--rpc-url", e.Anvil.URL)
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
	e := treasuryChain(t)
	to := devchain.DevAddress(7).Hex()
	cases := map[string][]string{
		"1btc":                      {"--to", to, "--amount", "1btc"},
		"-1ether":                   {"--to", to, "--amount", "-1ether"},
		"more than 18 decimals":     {"--to", to, "--amount", "0.0000000000000000001ether"},
		"zero address":              {"--to", "0x0000000000000000000000000000000000000000", "--amount", "1ether"},
		"to is required":            {"--amount", "1ether"},
		"--amount is required":      {"--to", to},
		"--signer is required":      {"--to", to, "--amount", "1ether", "--no-signer"},
		"--signer is empty":         {"--to", to, "--amount", "1ether", "--signer", ""},
		`"0xabc" is not an address`: {"--to", "0xabc", "--amount", "1ether"},
		// A bare number names both readings; cast users type wei, others ether.
		"5000ether is 5000 ETH, 5000wei is 0.000000000000005 ETH":                  {"--to", to, "--amount", "5000"},
		"500000000000000000ether is 500000000000000000 ETH, 500000000000000000wei": {"--to", to, "--amount", "500000000000000000"},
		// pflag would silently take the last one: 1000 ETH instead of 0.5.
		"--amount given more than once": {"--to", to, "--amount", "0.5ether", "--amount", "1000ether"},
		"--to given more than once":     {"--to", to, "--to", devchain.DevAddress(8).Hex(), "--amount", "0.5ether"},
	}
	n0 := nonceOf(t, e, e.D.Treasury)
	for want, args := range cases {
		full := []string{"wallet", "fund", "--yes"}
		if args[len(args)-1] == "--no-signer" {
			args = args[:len(args)-1]
		} else if !slices.Contains(args, "--signer") {
			full = append(full, "--signer", "env://TREASURY_KEY")
		}
		full = append(full, args...)
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

// A recipient typed all in one case carries no checksum that could have caught a
// typo: the summary says so before the confirmation, and JSON carries the warning.
func TestFundUnchecksummedRecipientIsWarned(t *testing.T) {
	t.Parallel()
	e := treasuryChain(t)
	to := devchain.DevAddress(7).Hex()
	lower := strings.ToLower(to)
	r := e.MustRun(0, "wallet", "fund", "--to", lower, "--amount", "0.1ether", "--signer", "env://TREASURY_KEY", "--dry-run")
	summary := r.Stderr[strings.Index(r.Stderr, "Transaction"):]
	if !strings.Contains(summary, "warning") || !strings.Contains(summary, "no checksum") || !strings.Contains(summary, lower) || !strings.Contains(summary, "checksummed: "+to) {
		t.Fatalf("the summary does not warn about the unchecksummed recipient:\n%s", r)
	}
	var j wallet.FundJSON
	e.MustRun(0, "wallet", "fund", "--to", lower, "--amount", "0.1ether", "--signer", "env://TREASURY_KEY", "--dry-run", "-o", "json").JSON(t, &j)
	if len(j.Warnings) != 1 || !strings.Contains(j.Warnings[0], "no checksum") {
		t.Fatalf("JSON warnings %q", j.Warnings)
	}
	r = e.MustRun(0, "wallet", "fund", "--to", to, "--amount", "0.1ether", "--signer", "env://TREASURY_KEY", "--dry-run")
	if strings.Contains(r.Stderr, "no checksum") {
		t.Fatalf("a checksummed recipient was warned about:\n%s", r)
	}
}
