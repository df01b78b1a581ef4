package root_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

func randomKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// noKey fails the test when r shows k (any case, with or without 0x), or anything
// the leak scan knows.
func noKey(t *testing.T, r clitest.Result, k string) {
	t.Helper()
	if strings.Contains(strings.ToLower(r.Stdout+r.Stderr), k) {
		t.Fatalf("the raw key is in the output:\n%s", r)
	}
	if leaks := clitest.Leaks(r.Stdout + r.Stderr); len(leaks) > 0 {
		t.Fatalf("leak scan: %v\n%s", leaks, r)
	}
}

// A raw private key typed where a signer reference, an address, a number or a URL
// belongs — in the environment or the config file — is refused (exit 2) by every
// command that reads the configuration, config view (text and JSON) included, and
// never shown, not even redacted once and in full once.
func TestRawKeyInEverySettingIsRefusedUnshown(t *testing.T) {
	t.Parallel()
	k := randomKey(t)
	clitest.Secret(k) // the end-of-package scan looks for it in every output and file
	settings := []struct {
		name          string
		env, envValue string
		file          string
	}{
		{name: "VRWX_SIGNER", env: "VRWX_SIGNER", envValue: "0x" + k},
		{name: "VRWX_SIGNER file://KEY", env: "VRWX_SIGNER", envValue: "file://" + k},
		{name: "VRWX_TREASURY_SIGNER", env: "VRWX_TREASURY_SIGNER", envValue: strings.ToUpper(k)},
		{name: "signer: in the file", file: "signer: 0x" + k},
		{name: "signer: file:///keys/KEY in the file", file: "signer: file:///keys/" + k + ".hex"},
		{name: "treasury_signer: in the file", file: "treasury_signer: " + k},
		{name: "chain_id", file: "chain_id: 0x" + k},
		{name: "treasury", env: "VRWX_TREASURY_ADDRESS", envValue: "0x" + k},
		{name: "treasury in the file", file: "treasury: " + k},
		{name: "rpc_urls", env: "RPC_URL", envValue: "0x" + k},
		{name: "rpc_urls in the file", file: "rpc_urls: [0x" + k + "]"},
		{name: "escrow", env: "JOB_ESCROW_ADDRESS", envValue: k},
		{name: "max_fee_gwei", env: "MAX_FEE_PER_GAS_GWEI", envValue: k},
	}
	for _, s := range settings {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			e := clitest.New(t)
			if s.env != "" {
				e.Vars[s.env] = s.envValue
			}
			if s.file != "" {
				// The file holds the key on purpose: it lives with the key stores,
				// outside the directories the leak scan reads.
				p := filepath.Join(e.SecretDir, "config.yaml")
				if err := os.WriteFile(p, []byte("profiles:\n  local:\n    "+s.file+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				e.Vars["VRWXCTL_CONFIG"] = p
			}
			for _, args := range [][]string{
				{"config", "view"}, {"config", "view", "-o", "json"}, {"config", "view", "--reveal"}, {"config", "profiles"},
				{"status"}, {"status", "-o", "json"}, {"wallet", "balance"}, {"wallet", "balance", "-o", "json"},
			} {
				r := e.Run(args...)
				if r.Code != 2 || !strings.Contains(r.Stderr, "private key") {
					t.Errorf("want exit 2 saying the value looks like a private key:\n%s", r)
				}
				noKey(t, r, k)
			}
		})
	}
}

// The same on the command line, where the key is already in argv (the leak scan
// flags any registered key in argv, so this key is checked here instead): refused
// without being echoed, as a reference, an address, a number or a flag value.
func TestRawKeyInArgumentsIsRefusedUnshown(t *testing.T) {
	t.Parallel()
	k := randomKey(t)
	e := clitest.New(t)
	for _, args := range [][]string{
		{"key", "address", "--signer", "file://" + k},
		{"key", "address", "--signer", "file:///keys/0x" + k + ".hex"},
		{"key", "address", "--signer", "0x" + k},
		{"key", "generate", "--store", "aws-sm://" + k},
		{"wallet", "balance", "--signer", "env://" + k},
		{"wallet", "balance", "0x" + k},
		{"wallet", "fund", "--to", k, "--amount", "1ether", "--signer", "env://T"},
		{"wallet", "fund", "--to", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "--amount", "0x" + k + "wei", "--signer", "env://T"},
		{"job", "get", "0x" + k},
		{"job", "get", k},
		{"dlq", "show", k, "--db", "/nonexistent"},
		{"tx", "speedup", "--nonce", k, "--signer", "env://T"},
		{"status", "--timeout", "0x" + k},
		{"status", "--rpc-url", "0x" + k},
		{"wallet", "balance", "--signer", "env://A", "--signer", "0x" + k},
	} {
		for _, out := range [][]string{nil, {"-o", "json"}} {
			r := e.Run(append(args, out...)...)
			if r.Code != 2 {
				t.Errorf("want exit 2:\n%s", r)
			}
			if strings.Contains(strings.ToLower(r.Stdout+r.Stderr), k) {
				t.Errorf("the key is echoed:\n%s", r)
			}
		}
	}
}

// RPC URLs carry credentials: user:password@, an API key in the path, a token in
// the query. Go's transport errors quote the whole URL (only the password masked);
// wherever such an error goes — stderr, -v retries, -o json stdout, the audit log's
// error field — the user, path and query are gone.
func TestRPCCredentialsAppearNowhere(t *testing.T) {
	t.Parallel()
	const user, pass, apiKey, token = "vrwxUser7", "Pw9Secret", "Xk9ApiKey31", "Q7TokenZ"
	for _, c := range []string{user, pass, apiKey, token} {
		clitest.Credential(c)
	}
	withCreds := func(hostport string) string {
		return fmt.Sprintf("http://%s:%s@%s/v2/%s?key=%s", user, pass, hostport, apiKey, token)
	}

	// An endpoint that refuses connections: every read fails.
	e := clitest.New(t)
	e.Vars["RPC_URL"] = withCreds(strings.TrimPrefix(deadURL(t), "http://")) + "," + withCreds(strings.TrimPrefix(deadURL(t), "http://"))
	for _, args := range [][]string{
		{"wallet", "balance", devchain.DevAddress(0).Hex()},
		{"wallet", "balance", devchain.DevAddress(0).Hex(), "-v"},
		{"wallet", "balance", devchain.DevAddress(0).Hex(), "-o", "json"},
		{"status"}, {"status", "-o", "json"}, {"contracts", "check", "-o", "json"},
		{"config", "view"}, {"config", "view", "-o", "json"},
	} {
		r := e.Run(args...)
		if args[0] != "config" && (r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, "127.0.0.1")) {
			t.Errorf("want a failure naming the endpoint:\n%s", r)
		}
		if leaks := clitest.Leaks(r.Stdout + r.Stderr); len(leaks) > 0 {
			t.Errorf("credentials shown: %v\n%s", leaks, r)
		}
	}

	// A send whose broadcast is lost: the transport error lands in the audit log.
	c := clitest.NewChain(t)
	p := devchain.StartFaultProxy(t, c.Anvil.URL)
	c.Vars["RPC_URL"] = withCreds(strings.TrimPrefix(p.URL, "http://"))
	c.Vars["TREASURY_KEY"] = devchain.DevKeyHex(devchain.AccountTreasury)
	p.Inject("eth_sendRawTransaction", devchain.Hang, -1)
	for _, out := range [][]string{nil, {"-o", "json"}} {
		r := c.Run(append([]string{"wallet", "fund", "--to", devchain.DevAddress(7).Hex(), "--amount", "1gwei", "--signer", "env://TREASURY_KEY", "--yes", "--timeout", "6s", "--new-payment"}, out...)...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "not sent") {
			t.Fatalf("want exit 1 \"not sent\":\n%s", r)
		}
		if leaks := clitest.Leaks(r.Stdout + r.Stderr); len(leaks) > 0 {
			t.Errorf("credentials shown: %v\n%s", leaks, r)
		}
	}
	log := filepath.Join(c.Vars["XDG_STATE_HOME"], "vrwxctl", "audit.log")
	es, err := audit.Open(log).Read()
	if err != nil {
		t.Fatal(err)
	}
	withError := 0
	for _, en := range es {
		if en.Error != "" {
			withError++
			if !strings.Contains(en.Error, "127.0.0.1") {
				t.Errorf("audit error %q does not name the endpoint", en.Error)
			}
		}
	}
	b, _ := os.ReadFile(log)
	if withError == 0 || len(clitest.Leaks(string(b))) > 0 {
		t.Fatalf("audit log: want errors without credentials, got %v:\n%s", clitest.Leaks(string(b)), b)
	}
}
