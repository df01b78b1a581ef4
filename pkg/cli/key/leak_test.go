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

// echoed asserts that a run failed with the store's refusal named (want: its
// error code or status) and that neither output holds anything of the key the
// store sent back in form echo: no 16 hex digits of it in a row (in any case, cut
// short or split), no 16 characters in a row of what the store answered when that
// is an encoding of the request (base64, hex).
func echoed(t *testing.T, r clitest.Result, keys []string, form, echo, want string) {
	t.Helper()
	if r.Code != 1 || !strings.Contains(r.Stderr, want) {
		t.Fatalf("%s echo: want exit 1 naming %q:\n%s", form, want, r)
	}
	out := strings.ToLower(r.Stdout + r.Stderr)
	for _, k := range keys {
		for i := 2; i+16 <= len(k); i++ {
			if strings.Contains(out, k[i:i+16]) {
				t.Fatalf("%s echo: 16 digits of the new private key are in the output:\n%s", form, r)
			}
		}
	}
	if form == "base64" || form == "hex" {
		for i := 0; i+16 <= len(echo); i++ {
			if strings.Contains(out, strings.ToLower(echo[i:i+16])) {
				t.Fatalf("%s echo: the store's answer %q… is in the output:\n%s", form, echo[i:i+16], r)
			}
		}
	}
	if leaks := clitest.Leaks(r.Stdout + r.Stderr); len(leaks) > 0 {
		t.Fatalf("leak scan: %v\n%s", leaks, r)
	}
	if r.Stdout != "" {
		var doc map[string]any
		if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || doc["error"] == nil {
			t.Fatalf("-o json stdout is not one error document (%v):\n%s", err, r)
		}
	}
}

// A Secrets Manager (or a proxy in front of it) whose errors echo the request body
// used to put the new private key on stderr and in -o json stdout. A store's
// errors now show its status and error code, never its message: whatever form the
// echo takes — verbatim, base64, hex, the key split, cut 4 digits short, upper
// case, without 0x — and even in the error's code field, nothing of it is shown,
// for a new secret (CreateSecret) and a new version (PutSecretValue).
func TestEchoingSecretsManagerNeverShowsTheNewKey(t *testing.T) {
	e := clitest.New(t)
	sm := awsEnv(t)
	sm.Seed("vrwx/echo/existing", `{"RELAYER_PRIVATE_KEY":"`+strings.Repeat("1", 64)+`"}`)
	runs := 0
	for form, echo := range secretstest.EchoForms {
		for _, inType := range []bool{false, true} {
			sm.EchoWriteErrorsAs(echo, inType)
			want := "ValidationException (HTTP 400)"
			if inType {
				want = "an unrecognised error code (HTTP 400)"
			}
			for _, ref := range []string{"aws-sm://vrwx/echo/new", "aws-sm://vrwx/echo/existing"} {
				for _, out := range [][]string{nil, {"-o", "json"}} {
					before := len(sm.Requests())
					r := e.Run(append([]string{"key", "generate", "--store", ref}, out...)...)
					reqs := sm.Requests()[before:]
					keys := keysSent(t, reqs)
					if len(keys) != 1 {
						t.Fatalf("%d keys crossed the wire, want 1:\n%s", len(keys), r)
					}
					echoed(t, r, keys, form, echo(reqs[len(reqs)-1].Body), want)
					runs++
				}
			}
		}
	}
	l := readAudit(t, e)
	if len(l) != runs {
		t.Fatalf("audit log: want %d failed generates, got %d lines", runs, len(l))
	}
	for _, en := range l {
		if en.Outcome != "failed" || !strings.Contains(en.Error, "(HTTP 400)") || strings.Contains(en.Error, "validation error") {
			t.Fatalf("audit line: want a failed generate naming the status and not the store's message: %+v", en)
		}
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
	for form, echo := range secretstest.EchoForms {
		for _, raw := range []bool{false, true} {
			v.EchoWriteErrorsAs(echo, raw)
			for _, out := range [][]string{nil, {"-o", "json"}} {
				before := len(v.Requests())
				r := e.Run(append([]string{"key", "generate", "--store", "vault://secret/vrwx/echo/relayer"}, out...)...)
				reqs := v.Requests()[before:]
				keys := keysSent(t, reqs)
				if len(keys) != 1 {
					t.Fatalf("%d keys crossed the wire, want 1:\n%s", len(keys), r)
				}
				echoed(t, r, keys, form, echo(reqs[len(reqs)-1].Body), "(HTTP 400)")
			}
		}
	}
}
