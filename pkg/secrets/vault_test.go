package secrets_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/hashicorp/vault/api"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/secrets/secretstest"
)

// vaultEnv points the Vault client at a local server through the environment
// only, the way the vault CLI is configured.
func vaultEnv(t *testing.T) *secretstest.Vault {
	t.Helper()
	v := secretstest.NewVault(t)
	t.Setenv("VAULT_ADDR", v.Addr())
	t.Setenv("VAULT_TOKEN", v.RootToken())
	t.Setenv("VAULT_MAX_RETRIES", "0")
	for _, k := range []string{"VAULT_NAMESPACE", "VAULT_ROLE_ID", "VAULT_SECRET_ID", "VAULT_AGENT_ADDR", "VAULT_CACERT", "VAULT_CAPATH", "VAULT_HEADERS", "VAULT_PROXY_ADDR"} {
		unsetenv(t, k)
	}
	return v
}

func TestVaultRotationOnNewSecret(t *testing.T) {
	v := vaultEnv(t)
	v.RequireCAS("secret") // every data write must carry options.cas
	s := mustOpen(t, "vault://secret/vrwx/test/relayer", secrets.Options{})
	rotationRoundTrip(t, s)
	cm := v.CustomMetadata("", "secret", "vrwx/test/relayer")
	if cm["vrwxctl_current"] != "1" || cm["vrwxctl_previous"] != "2" || cm["vrwxctl_pending"] != "" {
		t.Fatalf("custom_metadata after rollback = %v, want current=1 previous=2 and no pending", cm)
	}
	if n := v.CurrentVersion("", "secret", "vrwx/test/relayer"); n != 2 {
		t.Fatalf("Vault current_version = %d, want 2", n)
	}
}

func TestVaultExistingSecretStages(t *testing.T) {
	v := vaultEnv(t)
	ctx := ctxT(t)
	old, oldHex := testKey(t)
	const path = "vrwx/prod/relayer"
	v.WriteData("", "secret", path, map[string]any{"RELAYER_PRIVATE_KEY": "0x" + oldHex, "API_TOKEN": "keep-me"})

	// Custom metadata set by someone else must survive vrwxctl's updates.
	c, err := api.NewClient(api.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("secret/metadata/"+path, map[string]any{"custom_metadata": map[string]any{"owner": "platform"}}); err != nil {
		t.Fatal(err)
	}

	s := mustOpen(t, "vault://secret/"+path+"#RELAYER_PRIVATE_KEY", secrets.Options{})
	got, cv, err := s.Read(ctx, "")
	if err != nil || !got.Equal(old) || cv.ID != "1" || !cv.Has(secrets.StageCurrent) {
		t.Fatalf("Read = %v %+v %v", got, cv, err)
	}

	next, nextHex := testKey(t)
	pv, err := s.WritePending(ctx, next)
	if err != nil {
		t.Fatal(err)
	}
	if pv.ID != "2" || !pv.Has(secrets.StagePending) {
		t.Fatalf("WritePending = %+v", pv)
	}
	cm := v.CustomMetadata("", "secret", path)
	if cm["vrwxctl_current"] != "1" || cm["vrwxctl_pending"] != "2" || cm["owner"] != "platform" {
		t.Fatalf("custom_metadata = %v", cm)
	}
	// Vault's latest version is now the pending key, but vrwxctl still reads
	// the marked current one.
	if cur, _, _ := s.Read(ctx, ""); !cur.Equal(old) {
		t.Fatal("the pending version reads as current")
	}
	data, _ := v.Data("", "secret", path, 2)
	if data["API_TOKEN"] != "keep-me" || data["RELAYER_PRIVATE_KEY"] != "0x"+nextHex {
		t.Fatalf("version 2 fields %v: other fields must be carried over", data)
	}

	if err := s.Promote(ctx, "2"); err != nil {
		t.Fatal(err)
	}
	cm = v.CustomMetadata("", "secret", path)
	if cm["vrwxctl_current"] != "2" || cm["vrwxctl_previous"] != "1" || cm["vrwxctl_pending"] != "" || cm["owner"] != "platform" {
		t.Fatalf("custom_metadata after promote = %v", cm)
	}
	vs, err := s.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Address != old.Address() || strings.Join(vs[0].Stages, ",") != "previous" ||
		vs[1].Address != next.Address() || strings.Join(vs[1].Stages, ",") != "current" || vs[1].Created.IsZero() {
		t.Fatalf("Versions = %+v", vs)
	}

	for _, r := range v.Requests() {
		for _, h := range []string{oldHex, nextHex} {
			if r.InURLOrHeaders(h) {
				t.Fatalf("key in URL or headers of %s %s", r.Method, r.Path)
			}
		}
		if r.InBody(nextHex) && !(r.Path == "/v1/secret/data/"+path && (r.Method == "PUT" || r.Method == "POST")) {
			t.Fatalf("key sent in %s %s", r.Method, r.Path)
		}
	}

	// Deleted versions are listed with the reason, not dropped or fatal.
	if err := c.KVv2("secret").Delete(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	vs, err = s.Versions(ctx)
	if err != nil || len(vs) != 2 || !strings.Contains(vs[1].Problem, "deleted") || vs[1].Address != (common.Address{}) {
		t.Fatalf("Versions with version 2 deleted = %+v, %v", vs, err)
	}
	_, _, err = s.Read(ctx, "")
	wantKind(t, err, errs.Failed, "version 2", "deleted")
	if err := s.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, _, err := s.Read(ctx, ""); err != nil || !cur.Equal(old) {
		t.Fatalf("after rollback: %v, %v", cur, err)
	}
}

func TestVaultConcurrentRotationsExactlyOneWins(t *testing.T) {
	v := vaultEnv(t)
	_, h := testKey(t)
	v.WriteData("", "secret", "race", map[string]any{"RELAYER_PRIVATE_KEY": h})
	// Both writers read version 1 before either write is applied.
	v.GateDataWrites(2)
	ctx := ctxT(t)
	keys := make([]secrets.PrivateKey, 2)
	results := make([]error, 2)
	versions := make([]secrets.Version, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		keys[i], _ = testKey(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := mustOpen(t, "vault://secret/race", secrets.Options{})
			versions[i], results[i] = s.WritePending(ctx, keys[i])
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range results {
		if err == nil {
			if winner != -1 {
				t.Fatal("both writers succeeded")
			}
			winner = i
			continue
		}
		wantKind(t, err, errs.Failed, "check-and-set", "nothing was written")
	}
	if winner == -1 {
		t.Fatalf("no writer succeeded: %v", results)
	}
	if n := v.CurrentVersion("", "secret", "race"); n != 2 {
		t.Fatalf("Vault has %d versions, want 2 (one rotation's write)", n)
	}
	pend, pv, err := mustOpen(t, "vault://secret/race", secrets.Options{}).ReadPending(ctx)
	if err != nil || !pend.Equal(keys[winner]) || pv.ID != versions[winner].ID {
		t.Fatalf("pending = %v %+v %v, want the winner's key", pend, pv, err)
	}
}

func TestVaultAppRole(t *testing.T) {
	v := vaultEnv(t)
	k, h := testKey(t)
	v.WriteData("", "secret", "approle", map[string]any{"RELAYER_PRIVATE_KEY": h})
	v.AddAppRole("role-1234", "secret-5678")
	unsetenv(t, "VAULT_TOKEN")
	ctx := ctxT(t)

	_, _, err := mustOpen(t, "vault://secret/approle", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "no Vault credentials", "vault://secret/approle")

	_, _, err = mustOpen(t, "vault://secret/approle", secrets.Options{LookupEnv: envOf("VAULT_ROLE_ID", "role-1234", "VAULT_SECRET_ID", "wrong")}).Read(ctx, "")
	wantKind(t, err, errs.Failed, "AppRole login", "(HTTP 400)")
	noLeak(t, err.Error(), "role-1234", "wrong")

	before := len(v.Requests())
	got, _, err := mustOpen(t, "vault://secret/approle", secrets.Options{LookupEnv: envOf("VAULT_ROLE_ID", "role-1234", "VAULT_SECRET_ID", "secret-5678")}).Read(ctx, "")
	if err != nil || !got.Equal(k) {
		t.Fatalf("Read after AppRole login = %v, %v", got, err)
	}
	reqs := v.Requests()[before:]
	if reqs[0].Path != "/v1/auth/approle/login" || reqs[0].Header.Get("X-Vault-Token") != "" {
		t.Fatalf("first request %s %s (token %q), want an unauthenticated AppRole login", reqs[0].Method, reqs[0].Path, reqs[0].Header.Get("X-Vault-Token"))
	}
	tok := reqs[1].Header.Get("X-Vault-Token")
	if tok == "" || tok == v.RootToken() {
		t.Fatalf("read used token %q, want the one AppRole issued", tok)
	}
}

func TestVaultPermissionDeniedAndNamespace(t *testing.T) {
	v := vaultEnv(t)
	k, h := testKey(t)
	v.WriteData("team-a", "secret", "relayer", map[string]any{"RELAYER_PRIVATE_KEY": h})
	ctx := ctxT(t)

	t.Setenv("VAULT_TOKEN", "hvs.not-a-token")
	_, _, err := mustOpen(t, "vault://secret/relayer", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Failed, "denied read", "(HTTP 403)", "vault://secret/relayer")
	if !strings.Contains(errs.FixOf(err), "VAULT_TOKEN") {
		t.Errorf("fix %q does not mention VAULT_TOKEN", errs.FixOf(err))
	}

	t.Setenv("VAULT_TOKEN", v.RootToken())
	_, _, err = mustOpen(t, "vault://secret/relayer", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "not found")

	t.Setenv("VAULT_NAMESPACE", "team-a")
	got, _, err := mustOpen(t, "vault://secret/relayer", secrets.Options{}).Read(ctx, "")
	if err != nil || !got.Equal(k) {
		t.Fatalf("Read in namespace = %v, %v", got, err)
	}
	reqs := v.Requests()
	if ns := reqs[len(reqs)-1].Header.Get("X-Vault-Namespace"); ns != "team-a" {
		t.Fatalf("X-Vault-Namespace = %q", ns)
	}

	// VaultAddr in Options overrides VAULT_ADDR.
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:1")
	if _, _, err := mustOpen(t, "vault://secret/relayer", secrets.Options{VaultAddr: v.Addr()}).Read(ctx, ""); err != nil {
		t.Fatal(err)
	}
	_, _, err = mustOpen(t, "vault://secret/relayer", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Failed, "127.0.0.1:1")
}

func TestVaultReadErrors(t *testing.T) {
	v := vaultEnv(t)
	_, h := testKey(t)
	v.WriteData("", "secret", "other-field", map[string]any{"KEY": h})
	v.WriteData("", "secret", "bad", map[string]any{"RELAYER_PRIVATE_KEY": h[:50]})
	v.WriteData("", "secret", "zero", map[string]any{"RELAYER_PRIVATE_KEY": strings.Repeat("0", 64)})
	ctx := ctxT(t)

	_, _, err := mustOpen(t, "vault://secret/missing", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "vault://secret/missing", "not found")

	_, _, err = mustOpen(t, "vault://nomount/x", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "vault://nomount/x")

	_, _, err = mustOpen(t, "vault://secret/other-field", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, `no field "RELAYER_PRIVATE_KEY"`, "KEY")
	noLeak(t, err.Error(), h)
	if _, _, err := mustOpen(t, "vault://secret/other-field#KEY", secrets.Options{}).Read(ctx, ""); err != nil {
		t.Fatal(err)
	}

	_, _, err = mustOpen(t, "vault://secret/bad", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "vault://secret/bad#RELAYER_PRIVATE_KEY", "50 hex digits")
	noLeak(t, err.Error(), h[:50], h[:8])

	_, _, err = mustOpen(t, "vault://secret/zero", secrets.Options{}).Read(ctx, "")
	wantKind(t, err, errs.Usage, "zero")

	s := mustOpen(t, "vault://secret/other-field#KEY", secrets.Options{})
	_, _, err = s.Read(ctx, "7")
	wantKind(t, err, errs.Failed, "version 7", "not found")
	_, _, err = s.Read(ctx, "latest")
	wantKind(t, err, errs.Failed, "Vault versions are numbers")
	_, _, err = s.ReadPending(ctx)
	wantKind(t, err, errs.Failed, "no pending version")
	wantKind(t, s.Rollback(ctx), errs.Failed, "no previous version")
	wantKind(t, s.Promote(ctx, "9"), errs.Usage, "not pending")
}
