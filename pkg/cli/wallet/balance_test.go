package wallet_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/wallet"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

func TestMain(m *testing.M) { clitest.Main(m) }

// vrwxctl reads the same balance cast does, for every dev account.
func TestBalanceMatchesCast(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	cast := devchain.RequireCast(t)
	for i := 0; i < 4; i++ {
		addr := devchain.DevAddress(i).Hex()
		out, err := exec.Command(cast, "balance", addr, "--rpc-url", e.Anvil.URL).Output()
		if err != nil {
			t.Fatal(err)
		}
		r := e.MustRun(0, "wallet", "balance", addr, "--wei")
		if strings.TrimSpace(r.Stdout) != strings.TrimSpace(string(out)) {
			t.Fatalf("%s: vrwxctl %q, cast %q", addr, r.Stdout, out)
		}
		var j wallet.BalanceJSON
		e.MustRun(0, "wallet", "balance", addr, "-o", "json").JSON(t, &j)
		if j.Wei != strings.TrimSpace(string(out)) || j.Address != addr || j.ChainID != 31337 || j.Block == 0 {
			t.Fatalf("json %+v, cast %s", j, out)
		}
	}
	r := e.MustRun(0, "wallet", "balance", devchain.DevAddress(9).Hex())
	if !strings.Contains(r.Stdout, "10000 ETH") || !strings.Contains(r.Stdout, "(10000000000000000000000 wei)") {
		t.Fatalf("text output:\n%s", r)
	}
}

func TestBalanceOfSigner(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["TEST_RELAYER_KEY"] = devchain.DevKeyHex(2)
	var j wallet.BalanceJSON
	e.MustRun(0, "wallet", "balance", "--signer", "env://TEST_RELAYER_KEY", "-o", "json").JSON(t, &j)
	if j.Address != e.D.Relayer.Hex() {
		t.Fatalf("env signer resolved to %s, want %s", j.Address, e.D.Relayer.Hex())
	}
	ref := e.KeyFile("relayer.hex", devchain.DevKeyHex(2)+"\n", 0o600)
	e.MustRun(0, "wallet", "balance", "--signer", ref, "-o", "json").JSON(t, &j)
	if j.Address != e.D.Relayer.Hex() {
		t.Fatalf("file signer resolved to %s", j.Address)
	}
	// With no argument the profile's relayer is used.
	e.MustRun(0, "wallet", "balance", "-o", "json").JSON(t, &j)
	if j.Address != e.D.Relayer.Hex() {
		t.Fatalf("default account %s, want the local relayer", j.Address)
	}
}

func TestBalanceBadInput(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	loose := e.KeyFile("loose.hex", devchain.DevKeyHex(3), 0o644)
	notHex := e.KeyFile("nothex.hex", "this-is-not-a-key-zzzz", 0o600)
	short := e.KeyFile("short.hex", "0xabcdef", 0o600)
	cases := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"0x1234"}, 2, []string{`"0x1234"`, "40 hex"}},
		{[]string{"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293Bc"}, 2, []string{"does not match its EIP-55 checksum", "copy the address again from its source"}},
		{[]string{""}, 2, []string{"ADDRESS is empty"}},
		{[]string{"--signer", ""}, 2, []string{"--signer is empty"}},
		{[]string{"--signer", loose}, 3, []string{loose[len("file://"):]}},
		{[]string{"--signer", notHex}, 2, []string{"nothex.hex"}},
		{[]string{"--signer", short}, 2, []string{"short.hex"}},
		{[]string{"--signer", "s3://bucket/key"}, 2, []string{"s3"}},
		{[]string{"--block", "yesterday"}, 2, []string{`"yesterday"`}},
		{[]string{"a", "b"}, 2, []string{"at most 1"}},
	}
	for _, tc := range cases {
		args := append([]string{"wallet", "balance"}, tc.args...)
		r := e.Run(args...)
		if r.Code != tc.code {
			t.Errorf("want exit %d:\n%s", tc.code, r)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(r.Stderr, w) {
				t.Errorf("stderr lacks %q:\n%s", w, r)
			}
		}
		if r.Stdout != "" {
			t.Errorf("bad input printed data:\n%s", r)
		}
		// The EIP-55 form of a typo is the typo: suggesting it would send there.
		for _, leaked := range []string{"this-is-not-a-key", "abcdef", "did you mean", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"} {
			if strings.Contains(r.Stderr, leaked) {
				t.Errorf("error echoes key material %q:\n%s", leaked, r)
			}
		}
	}
}

func TestNonceMatchesCast(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	cast := devchain.RequireCast(t)
	out, err := exec.Command(cast, "nonce", e.D.Relayer.Hex(), "--rpc-url", e.Anvil.URL).Output()
	if err != nil {
		t.Fatal(err)
	}
	r := e.MustRun(0, "wallet", "nonce", e.D.Relayer.Hex())
	if strings.TrimSpace(r.Stdout) != strings.TrimSpace(string(out)) || r.Stderr != "" {
		t.Fatalf("vrwxctl %q, cast %q", r.Stdout, out)
	}
	var j wallet.NonceJSON
	e.MustRun(0, "wallet", "nonce", e.D.Relayer.Hex(), "-o", "json").JSON(t, &j)
	if j.Latest != 5 || j.Pending != 5 || j.Waiting != 0 {
		t.Fatalf("json %+v (the relayer sent 5 completions while seeding)", j)
	}
}
