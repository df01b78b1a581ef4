package secrets

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// vaultClientEnv clears the VAULT_* settings the client reads, then sets kv.
func vaultClientEnv(t *testing.T, kv ...string) {
	t.Helper()
	for _, k := range []string{"VAULT_ADDR", "VAULT_AGENT_ADDR", "VAULT_TOKEN", "VAULT_NAMESPACE", "VAULT_CACERT", "VAULT_CAPATH",
		"VAULT_CLIENT_CERT", "VAULT_CLIENT_KEY", "VAULT_TLS_SERVER_NAME", "VAULT_SKIP_VERIFY", "VAULT_MAX_RETRIES",
		"VAULT_CLIENT_TIMEOUT", "VAULT_HTTP_PROXY", "VAULT_PROXY_ADDR"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		t.Setenv(kv[i], kv[i+1])
	}
}

const kvAnswer = `{"data":{"data":{"KEY":"v","n":12345678901234567890},"metadata":{"version":3,"created_time":"2026-01-02T03:04:05.123456Z","deletion_time":"","destroyed":false,"custom_metadata":{"vrwxctl_current":"3"}}}}`

// A Vault behind TLS with a private CA is reached with VAULT_CACERT (or, knowingly,
// VAULT_SKIP_VERIFY), and not without; the token, namespace and request marker
// travel as headers, and the answer reads as KV v2 (numbers kept as written).
func TestVaultClientTLSAndHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		if r.URL.Path != "/v1/secret/data/a/b" || r.URL.Query().Get("version") != "3" {
			http.Error(w, `{"errors":["unexpected `+r.URL.String()+`"]}`, 400)
			return
		}
		_, _ = w.Write([]byte(kvAnswer))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake this test makes fail
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	vaultClientEnv(t, "VAULT_ADDR", srv.URL, "VAULT_MAX_RETRIES", "0")
	c, err := newVaultClient("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.kvGet(ctx, "secret", "a/b", 3); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: %v, want a certificate error", err)
	}

	for _, env := range [][]string{{"VAULT_CACERT", ca}, {"VAULT_CAPATH", filepath.Dir(ca)}, {"VAULT_SKIP_VERIFY", "true"}} {
		vaultClientEnv(t, "VAULT_ADDR", srv.URL+"/", "VAULT_TOKEN", "hvs.t", "VAULT_NAMESPACE", "team-a", env[0], env[1])
		c, err := newVaultClient("", nil)
		if err != nil {
			t.Fatal(err)
		}
		sec, err := c.kvGet(ctx, "secret", "a/b", 3)
		if err != nil {
			t.Fatalf("%s: %v", env[0], err)
		}
		if sec.Data["KEY"] != "v" || sec.Data["n"].(interface{ String() string }).String() != "12345678901234567890" ||
			sec.VersionMetadata.Version != 3 || !sec.VersionMetadata.DeletionTime.IsZero() ||
			!sec.VersionMetadata.CreatedTime.Equal(time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)) || sec.CustomMetadata["vrwxctl_current"] != "3" {
			t.Fatalf("%s: read %+v %+v", env[0], sec, sec.VersionMetadata)
		}
		if got.Get("X-Vault-Token") != "hvs.t" || got.Get("X-Vault-Namespace") != "team-a" || got.Get("X-Vault-Request") != "true" {
			t.Fatalf("%s: headers %v", env[0], got)
		}
	}
}

// Answers Vault's client retries (unreachable, 412, 5xx but 501) are retried up to
// VAULT_MAX_RETRIES times; the others are not, and a read's bare 404 is "not found"
// while a write's is the server's answer.
func TestVaultClientRetriesAndStatuses(t *testing.T) {
	var calls atomic.Int32
	status := map[string][]int{"/v1/s/data/flaky": {503, 200}, "/v1/s/data/notimpl": {501, 200}, "/v1/s/data/bad": {400, 200}, "/v1/s/data/gone": {404}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		seq := status[r.URL.Path]
		code := seq[min(int(n)-1, len(seq)-1)]
		w.WriteHeader(code)
		if code == 200 {
			_, _ = w.Write([]byte(kvAnswer))
		} else {
			_, _ = w.Write([]byte(`{"errors":["status ` + http.StatusText(code) + `"]}`))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	vaultClientEnv(t, "VAULT_ADDR", srv.URL, "VAULT_TOKEN", "t", "VAULT_MAX_RETRIES", "1")
	c, err := newVaultClient("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.kvGet(ctx, "s", "flaky", 0); err != nil || calls.Load() != 2 {
		t.Fatalf("503 then 200: %v after %d requests, want success after 2", err, calls.Load())
	}
	for path, want := range map[string]int{"notimpl": 501, "bad": 400} {
		calls.Store(0)
		_, err := c.kvGet(ctx, "s", path, 0)
		var re *vaultResponseError
		if !errors.As(err, &re) || re.StatusCode != want || calls.Load() != 1 || !strings.Contains(re.Error(), "status") {
			t.Fatalf("%s: %v after %d requests, want HTTP %d once", path, err, calls.Load(), want)
		}
	}
	calls.Store(0)
	if _, err := c.kvGet(ctx, "s", "gone", 0); !errors.Is(err, errVaultNotFound) {
		t.Fatalf("read 404: %v", err)
	}
	calls.Store(0)
	_, err = c.kvPut(ctx, "s", "gone", map[string]any{"k": "v"}, 0)
	var re *vaultResponseError
	if !errors.As(err, &re) || re.StatusCode != 404 {
		t.Fatalf("write 404: %v", err)
	}
}

// Settings that cannot be right are refused before anything is sent, naming them.
func TestVaultClientRefusesBadSettings(t *testing.T) {
	for _, tc := range [][]string{
		{"VAULT_ADDR", "vault.example:8200"},
		{"VAULT_ADDR", "ftp://vault.example"},
		{"VAULT_MAX_RETRIES", "two"},
		{"VAULT_CLIENT_TIMEOUT", "soon"},
		{"VAULT_SKIP_VERIFY", "perhaps"},
		{"VAULT_CACERT", "/nonexistent/ca.pem"},
		{"VAULT_CLIENT_CERT", "/some/cert.pem"},
		{"VAULT_PROXY_ADDR", "::"},
	} {
		vaultClientEnv(t, tc...)
		_, err := newVaultClient("", nil)
		if err == nil || !strings.Contains(err.Error(), tc[0][len("VAULT_"):]) && !strings.Contains(err.Error(), tc[1]) {
			t.Errorf("%s=%s: %v, want an error naming it", tc[0], tc[1], err)
		}
	}
	vaultClientEnv(t, "VAULT_ADDR", "https://a.example", "VAULT_AGENT_ADDR", "http://127.0.0.1:8100", "VAULT_CLIENT_TIMEOUT", "5")
	c, err := newVaultClient("", nil)
	if err != nil || c.addr != "http://127.0.0.1:8100" || c.http.Timeout != 5*time.Second || c.retries != 2 {
		t.Fatalf("agent address, timeout in seconds, default retries: %+v %v", c, err)
	}
	if c, err := newVaultClient("https://override.example/", nil); err != nil || c.addr != "https://override.example" {
		t.Fatalf("Options.VaultAddr: %+v %v", c, err)
	}
}
