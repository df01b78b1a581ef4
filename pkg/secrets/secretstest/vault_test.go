package secretstest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/vrwx/vrwxctl/pkg/secrets/secretstest"
)

func vaultClient(t *testing.T, v *secretstest.Vault, token string) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = v.Addr()
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c
}

func statusOf(t *testing.T, err error) (int, string) {
	t.Helper()
	var re *api.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("not a Vault response error: %v", err)
	}
	return re.StatusCode, strings.Join(re.Errors, "; ")
}

func TestVaultKVv2CheckAndSet(t *testing.T) {
	t.Parallel()
	v := secretstest.NewVault(t)
	c := vaultClient(t, v, v.RootToken())
	kv := c.KVv2("secret")
	ctx := context.Background()

	s1, err := kv.Put(ctx, "app", map[string]any{"k": "one"}, api.WithCheckAndSet(0))
	if err != nil || s1.VersionMetadata.Version != 1 {
		t.Fatalf("first write: %+v, %v", s1, err)
	}
	_, err = kv.Put(ctx, "app", map[string]any{"k": "again"}, api.WithCheckAndSet(0))
	if code, msg := statusOf(t, err); code != 400 || msg != "check-and-set parameter did not match the current version" {
		t.Fatalf("cas=0 on an existing secret: %d %q", code, msg)
	}
	if _, err := kv.Put(ctx, "app", map[string]any{"k": "two"}, api.WithCheckAndSet(1)); err != nil {
		t.Fatal(err)
	}
	_, err = kv.Put(ctx, "app", map[string]any{"k": "stale"}, api.WithCheckAndSet(1))
	if code, _ := statusOf(t, err); code != 400 {
		t.Fatalf("stale cas: %v", err)
	}

	latest, err := kv.Get(ctx, "app")
	if err != nil || latest.Data["k"] != "two" || latest.VersionMetadata.Version != 2 {
		t.Fatalf("latest = %+v, %v", latest, err)
	}
	old, err := kv.GetVersion(ctx, "app", 1)
	if err != nil || old.Data["k"] != "one" {
		t.Fatalf("version 1 = %+v, %v", old, err)
	}
	if _, err := kv.GetVersion(ctx, "app", 9); !errors.Is(err, api.ErrSecretNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	if _, err := kv.Get(ctx, "nothing"); !errors.Is(err, api.ErrSecretNotFound) {
		t.Fatalf("missing secret: %v", err)
	}

	v.RequireCAS("secret")
	_, err = kv.Put(ctx, "app", map[string]any{"k": "no cas"})
	if code, msg := statusOf(t, err); code != 400 || !strings.Contains(msg, "check-and-set parameter required") {
		t.Fatalf("write without cas on a cas_required mount: %d %q", code, msg)
	}
}

func TestVaultKVv2Metadata(t *testing.T) {
	t.Parallel()
	v := secretstest.NewVault(t)
	c := vaultClient(t, v, v.RootToken())
	kv := c.KVv2("secret")
	ctx := context.Background()
	for i := range 3 {
		if _, err := kv.Put(ctx, "m", map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Logical().Write("secret/metadata/m", map[string]any{"custom_metadata": map[string]any{"owner": "ops"}, "max_versions": 2}); err != nil {
		t.Fatal(err)
	}
	md, err := kv.GetMetadata(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if md.CurrentVersion != 3 || md.MaxVersions != 2 || md.CustomMetadata["owner"] != "ops" || len(md.Versions) != 3 || md.Versions["1"].CreatedTime.IsZero() {
		t.Fatalf("metadata = %+v", md)
	}
	// A write past max_versions prunes the oldest.
	if _, err := kv.Put(ctx, "m", map[string]any{"i": 3}); err != nil {
		t.Fatal(err)
	}
	md, _ = kv.GetMetadata(ctx, "m")
	if len(md.Versions) != 2 || md.OldestVersion != 3 {
		t.Fatalf("after pruning: versions %v, oldest %d", md.Versions, md.OldestVersion)
	}
	// custom_metadata shows in data reads too, and is replaced as a whole.
	sec, _ := kv.Get(ctx, "m")
	if sec.CustomMetadata["owner"] != "ops" {
		t.Fatalf("data read custom_metadata = %v", sec.CustomMetadata)
	}
	_, err = c.Logical().Write("secret/metadata/m", map[string]any{"custom_metadata": map[string]any{"empty": ""}})
	if code, msg := statusOf(t, err); code != 400 || !strings.Contains(msg, "custom_metadata validation failed") {
		t.Fatalf("empty custom_metadata value: %d %q", code, msg)
	}
	if err := kv.Delete(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	del, err := kv.Get(ctx, "m")
	if err != nil || del.Data != nil || del.VersionMetadata.DeletionTime.IsZero() {
		t.Fatalf("deleted latest: %+v, %v", del, err)
	}
}

func TestVaultAuthAndNamespaces(t *testing.T) {
	t.Parallel()
	v := secretstest.NewVault(t)
	ctx := context.Background()
	v.WriteData("ns1", "secret", "x", map[string]any{"k": "in ns1"})

	_, err := vaultClient(t, v, "").KVv2("secret").Get(ctx, "x")
	if code, msg := statusOf(t, err); code != http.StatusForbidden || msg != "permission denied" {
		t.Fatalf("no token: %d %q", code, msg)
	}
	_, err = vaultClient(t, v, "hvs.bogus").KVv2("secret").Get(ctx, "x")
	if code, _ := statusOf(t, err); code != http.StatusForbidden {
		t.Fatalf("bad token: %v", err)
	}

	v.AddAppRole("r", "s")
	c := vaultClient(t, v, "")
	_, err = c.Logical().Write("auth/approle/login", map[string]any{"role_id": "r", "secret_id": "x"})
	if code, msg := statusOf(t, err); code != 400 || msg != "invalid role or secret ID" {
		t.Fatalf("bad secret_id: %d %q", code, msg)
	}
	sec, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": "r", "secret_id": "s"})
	if err != nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		t.Fatalf("login: %+v, %v", sec, err)
	}
	c.SetToken(sec.Auth.ClientToken)

	if _, err := c.KVv2("secret").Get(ctx, "x"); !errors.Is(err, api.ErrSecretNotFound) {
		t.Fatalf("secret of ns1 visible in the root namespace: %v", err)
	}
	c.SetNamespace("ns1")
	got, err := c.KVv2("secret").Get(ctx, "x")
	if err != nil || got.Data["k"] != "in ns1" {
		t.Fatalf("read in ns1: %+v, %v", got, err)
	}

	_, err = c.KVv2("nomount").Get(ctx, "x")
	if err == nil {
		t.Fatal("read on an unmounted path succeeded")
	}
}
