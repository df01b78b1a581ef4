package root_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// Bad input is exit 2 and a safety rail exit 3 in every case the contract names,
// with the message naming the value and the expected form: nothing is read from a
// network that a bad value would have pointed at, and nothing is written.
func TestExitCodesFollowTheContract(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	dir := t.TempDir()
	notKey := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notKey, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"completion", "nosuch"}, 2, []string{`unknown command "nosuch" for "vrwxctl completion"`}},
		{[]string{"help", "nosuch"}, 2, []string{`unknown help topic "nosuch"`}},
		{[]string{"help", "wallet", "nosuch"}, 2, []string{`unknown help topic "wallet" "nosuch"`}},
		{[]string{"exporter", "--listen", ":-1"}, 2, []string{`--listen ":-1" is not an address`, "0 to 65535"}},
		{[]string{"exporter", "--listen", ":9469", "--rpc-url", "http://h:99999"}, 2, []string{`--rpc-url: "http://h:99999" has port "99999"`, "1 to 65535"}},
		{[]string{"status", "--rpc-url", "http://h:0"}, 2, []string{`has port "0"`}},
		{[]string{"status", "--signer", "nonsense"}, 2, []string{`signer reference "nonsense" has no scheme`}},
		{[]string{"doctor", "relay", "--signer", "nonsense"}, 2, []string{`signer reference "nonsense" has no scheme`}},
		{[]string{"exporter", "--listen", ":9469", "--signer", "nonsense"}, 2, []string{`signer reference "nonsense" has no scheme`}},
		{[]string{"wallet", "fund", "--to", devchain.DevAddress(1).Hex(), "--amount", "1gwei", "--signer", "nonsense"}, 2, []string{`signer reference "nonsense" has no scheme`}},
		{[]string{"status", "--timeout", "0"}, 2, []string{"--timeout 0s is not positive"}},
		{[]string{"status", "--timeout", "-5s"}, 2, []string{"--timeout -5s is not positive"}},
		{[]string{"key", "address", "--signer", "aws-sm://x?region=../../etc"}, 2, []string{`region "../../etc" is not an AWS region`, "us-east-1"}},
		{[]string{"key", "generate", "--store", "aws-sm://x?region=us-east-1%2F..%2Fetc"}, 2, []string{"is not an AWS region"}},
		{[]string{"key", "address", "--signer", "aws-sm://x#a/b"}, 2, []string{`#field "a/b" is not a field name`}},
		{[]string{"key", "generate", "--store", "file://" + notKey}, 2, []string{"does not hold a file key", "no new key is written", "not hex"}},
		{[]string{"key", "generate", "--store", "keystore://" + notKey + "?password-env=PW"}, 2, []string{"does not hold a keystore key"}},
	} {
		for _, out := range [][]string{nil, {"-o", "json"}} {
			r := e.Run(append(c.args, out...)...)
			if r.Code != c.code {
				t.Errorf("want exit %d:\n%s", c.code, r)
				continue
			}
			for _, w := range c.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r)
				}
			}
		}
	}
	// key generate wrote nothing beside the file that is not a key.
	if left, _ := filepath.Glob(notKey + "?*"); len(left) > 0 {
		t.Fatalf("key generate wrote %v beside a file that holds no key", left)
	}
	if b, _ := os.ReadFile(notKey); string(b) != "not a key\n" {
		t.Fatalf("the file that is not a key was changed: %q", b)
	}
}

// --timeout 0 (or negative) and an audit log others can read or change are refused
// before anything is signed: the treasury's nonce does not move.
func TestRefusedSendsSendNothing(t *testing.T) {
	t.Parallel()
	e := clitest.NewChain(t)
	e.Vars["TREASURY_KEY"] = devchain.DevKeyHex(devchain.AccountTreasury)
	treasury := devchain.DevAddress(devchain.AccountTreasury)
	nonce := func() string {
		var n string
		if err := e.Anvil.RPC(context.Background(), &n, "eth_getTransactionCount", treasury, "pending"); err != nil {
			t.Fatal(err)
		}
		return n
	}
	fund := []string{"wallet", "fund", "--to", devchain.DevAddress(7).Hex(), "--amount", "1gwei", "--signer", "env://TREASURY_KEY", "--yes"}
	before := nonce()
	for _, timeout := range []string{"0", "0s", "-1s"} {
		r := e.Run(append(fund, "--timeout", timeout)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, "is not positive") {
			t.Errorf("want exit 2 for --timeout %s:\n%s", timeout, r)
		}
	}

	state := filepath.Join(e.Vars["XDG_STATE_HOME"], "vrwxctl")
	log := filepath.Join(state, "audit.log")
	e.MustRun(0, "wallet", "fund", "--to", devchain.DevAddress(7).Hex(), "--amount", "1gwei", "--signer", "env://TREASURY_KEY", "--dry-run")
	if _, err := os.Stat(log); err != nil {
		t.Fatalf("the dry run wrote no audit log: %v", err)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
		fix  string
	}{
		{log, 0o644, "chmod 600 " + log},
		{log, 0o660, "chmod 600 " + log},
		{state, 0o777, "chmod 700 " + state},
		{state, 0o770, "chmod 700 " + state},
	} {
		if err := os.Chmod(c.path, c.mode); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{fund, {"audit", "list"}} {
			r := e.Run(args...)
			if r.Code != 3 || !strings.Contains(r.Stderr, "others on this machine can") || !strings.Contains(r.Stderr, "fix: "+c.fix) {
				t.Errorf("%s at %04o: want exit 3 with the fix %q:\n%s", c.path, c.mode, c.fix, r)
			}
		}
		private := os.FileMode(0o600)
		if c.path == state {
			private = 0o700
		}
		if err := os.Chmod(c.path, private); err != nil {
			t.Fatal(err)
		}
	}
	if after := nonce(); after != before {
		t.Fatalf("the treasury's nonce moved from %s to %s: something was sent", before, after)
	}
	e.MustRun(0, "audit", "list")
}
