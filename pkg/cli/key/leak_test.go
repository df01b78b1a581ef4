package key_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/secrets/secretstest"
)

var bodyKey = regexp.MustCompile(`0x[0-9a-f]{64}`)

// keysSent registers with the leak scan every key that crossed the wire in a request
// body, and returns them: what an echoing store could have sent back.
func keysSent(t *testing.T, reqs []secretstest.Request) []string {
	t.Helper()
	var keys []string
	for _, r := range reqs {
		for _, k := range bodyKey.FindAllString(string(r.Body), -1) {
			clitest.Secret(k)
			keys = append(keys, k)
		}
	}
	return keys
}

// echoed asserts that a run failed with the store's echo in its error (so the path
// that used to print the new key was taken) and that neither output holds the key.
func echoed(t *testing.T, r clitest.Result, keys []string, marker string) {
	t.Helper()
	if r.Code != 1 || !strings.Contains(r.Stderr, marker) {
		t.Fatalf("want exit 1 with the store's error %q:\n%s", marker, r)
	}
	for _, k := range keys {
		if strings.Contains(strings.ToLower(r.Stdout+r.Stderr), k[2:]) {
			t.Fatalf("the new private key is in the output:\n%s", r)
		}
	}
	if leaks := clitest.Leaks(r.Stdout + r.Stderr); len(leaks) > 0 {
		t.Fatalf("leak scan: %v\n%s", leaks, r)
	}
	if !strings.Contains(r.Stdout+r.Stderr, "[redacted key]") {
		t.Fatalf("the echoed body did not reach the output redacted; the test no longer exercises the echo:\n%s", r)
	}
	if r.Stdout != "" {
		var doc map[string]any
		if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || doc["error"] == nil {
			t.Fatalf("-o json stdout is not one error document (%v):\n%s", err, r)
		}
	}
}

// A Secrets Manager (or a proxy in front of it) whose errors echo the request body
// used to put the new private key on stderr and in -o json stdout on every run. The
// key is registered with the scrubber when it is generated, so the echo arrives
// redacted, whatever store answer carries it: CreateSecret for a new secret,
// PutSecretValue for a new version.
func TestEchoingSecretsManagerNeverShowsTheNewKey(t *testing.T) {
	e := clitest.New(t)
	sm := awsEnv(t)
	sm.Seed("vrwx/echo/existing", `{"RELAYER_PRIVATE_KEY":"`+strings.Repeat("1", 64)+`"}`)
	sm.EchoWriteErrors()
	for i := 0; i < 8; i++ {
		for _, ref := range []string{"aws-sm://vrwx/echo/new", "aws-sm://vrwx/echo/existing"} {
			for _, out := range [][]string{nil, {"-o", "json"}} {
				before := len(sm.Requests())
				r := e.Run(append([]string{"key", "generate", "--store", ref}, out...)...)
				keys := keysSent(t, sm.Requests()[before:])
				if len(keys) != 1 {
					t.Fatalf("%d keys crossed the wire, want 1:\n%s", len(keys), r)
				}
				echoed(t, r, keys, "ValidationException")
			}
		}
	}
	if l := readAudit(t, e); len(l) != 32 || l[0].Outcome != "failed" || !strings.Contains(l[0].Error, "[redacted key]") {
		t.Fatalf("audit log: want 32 failed generates, the error redacted: %+v", l)
	}
}

// The same through Vault, with the echo in Vault's error list and as a raw body the
// client quotes whole.
func TestEchoingVaultNeverShowsTheNewKey(t *testing.T) {
	e := clitest.New(t)
	v := secretstest.NewVault(t)
	t.Setenv("VAULT_ADDR", v.Addr())
	t.Setenv("VAULT_TOKEN", v.RootToken())
	t.Setenv("VAULT_MAX_RETRIES", "0")
	for _, k := range []string{"VAULT_NAMESPACE", "VAULT_ROLE_ID", "VAULT_SECRET_ID", "VAULT_AGENT_ADDR", "VAULT_CACERT", "VAULT_CAPATH", "VAULT_HEADERS", "VAULT_PROXY_ADDR"} {
		t.Setenv(k, "")
	}
	for _, raw := range []bool{false, true} {
		v.EchoWriteErrors(raw)
		for i := 0; i < 8; i++ {
			for _, out := range [][]string{nil, {"-o", "json"}} {
				before := len(v.Requests())
				r := e.Run(append([]string{"key", "generate", "--store", "vault://secret/vrwx/echo/relayer"}, out...)...)
				keys := keysSent(t, v.Requests()[before:])
				if len(keys) != 1 {
					t.Fatalf("%d keys crossed the wire, want 1:\n%s", len(keys), r)
				}
				echoed(t, r, keys, "HTTP 400")
			}
		}
	}
}
