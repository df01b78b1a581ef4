package secrets_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

func TestParseRef(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want secrets.Ref
		str  string
	}{
		{"aws-sm://vrwx/prod/relayer-key#RELAYER_PRIVATE_KEY",
			secrets.Ref{Scheme: "aws-sm", SecretID: "vrwx/prod/relayer-key", Field: "RELAYER_PRIVATE_KEY"},
			"aws-sm://vrwx/prod/relayer-key#RELAYER_PRIVATE_KEY"},
		{"aws-sm://vrwx/prod/relayer-key?region=eu-west-1",
			secrets.Ref{Scheme: "aws-sm", SecretID: "vrwx/prod/relayer-key", Region: "eu-west-1", Field: "RELAYER_PRIVATE_KEY"},
			"aws-sm://vrwx/prod/relayer-key?region=eu-west-1#RELAYER_PRIVATE_KEY"},
		{"aws-sm://arn:aws:secretsmanager:us-east-1:123456789012:secret:vrwx/prod/relayer-key-AbCdEf#KEY",
			secrets.Ref{Scheme: "aws-sm", SecretID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:vrwx/prod/relayer-key-AbCdEf", Field: "KEY"},
			"aws-sm://arn:aws:secretsmanager:us-east-1:123456789012:secret:vrwx/prod/relayer-key-AbCdEf#KEY"},
		{"vault://secret/vrwx/prod/relayer#RELAYER_PRIVATE_KEY",
			secrets.Ref{Scheme: "vault", Mount: "secret", Path: "vrwx/prod/relayer", Field: "RELAYER_PRIVATE_KEY"},
			"vault://secret/vrwx/prod/relayer#RELAYER_PRIVATE_KEY"},
		{"vault://kv/relayer",
			secrets.Ref{Scheme: "vault", Mount: "kv", Path: "relayer", Field: "RELAYER_PRIVATE_KEY"},
			"vault://kv/relayer#RELAYER_PRIVATE_KEY"},
		{"keystore:///home/ops/keys/relayer.json?password-env=KS_PASS",
			secrets.Ref{Scheme: "keystore", Path: "/home/ops/keys/relayer.json", PasswordEnv: "KS_PASS"},
			"keystore:///home/ops/keys/relayer.json?password-env=KS_PASS"},
		{"keystore://keys/relayer%20old.json",
			secrets.Ref{Scheme: "keystore", Path: "keys/relayer old.json"},
			"keystore://keys/relayer old.json"},
		{"file:///etc/vrwx/key.hex",
			secrets.Ref{Scheme: "file", Path: "/etc/vrwx/key.hex"},
			"file:///etc/vrwx/key.hex"},
		{"env://RELAYER_PRIVATE_KEY",
			secrets.Ref{Scheme: "env", Var: "RELAYER_PRIVATE_KEY"},
			"env://RELAYER_PRIVATE_KEY"},
		{"ENV://_K1", secrets.Ref{Scheme: "env", Var: "_K1"}, "env://_K1"},
	}
	for _, c := range cases {
		got, err := secrets.ParseRef(c.in)
		if err != nil {
			t.Errorf("ParseRef(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseRef(%q) = %+v, want %+v", c.in, got, c.want)
		}
		if got.String() != c.str {
			t.Errorf("ParseRef(%q).String() = %q, want %q", c.in, got.String(), c.str)
		}
		if got.Writable() != (c.want.Scheme != "env") {
			t.Errorf("ParseRef(%q).Writable() = %v", c.in, got.Writable())
		}
	}
}

func TestParseRefRejects(t *testing.T) {
	t.Parallel()
	_, keyHex := testKey(t)
	cases := []struct{ in, want string }{
		{"", "has no scheme"},
		{"vrwx/prod/relayer-key", "has no scheme"},
		{"s3://bucket/key", `unknown scheme "s3"`},
		{"aws-sm://", "does not name a Secrets Manager secret"},
		{"aws-sm://has space", "does not name a Secrets Manager secret"},
		{"aws-sm://x?profile=prod", `unknown parameter "profile"`},
		{"aws-sm://x?region=a&region=b", "exactly once"},
		{"aws-sm://x#", "empty #field"},
		{"vault://secret", "does not name a Vault KV v2 secret"},
		{"vault://secret/", "does not name a Vault KV v2 secret"},
		{"vault://secret/a/../b", "does not name a Vault KV v2 secret"},
		{"vault://secret/a?version=x", "not a Vault version number"},
		{"keystore://", "does not name a file"},
		{"keystore:///k.json?password-env=1BAD", "password-env must name an environment variable"},
		{"keystore:///k.json#F", "take no #field"},
		{"file:///k.hex?mode=0600", `unknown parameter "mode"`},
		{"keystore:///k.json?password=hunter2", `unknown parameter "password" (value not shown)`},
		{"env://", "does not name an environment variable"},
		{"env://MY-KEY", "does not name an environment variable"},
		{"env://" + keyHex, "shape of a raw private key"},
		{"s3://" + keyHex, "shape of a raw private key"},
		{"file:///keys/" + keyHex, "shape of a raw private key"},
		{"aws-sm://0x" + keyHex + "#F", "shape of a raw private key"},
	}
	for _, c := range cases {
		r, err := secrets.ParseRef(c.in)
		if err == nil {
			t.Fatalf("ParseRef(%q) = %+v, want an error", c.in, r)
		}
		wantKind(t, err, errs.Usage, c.want)
		noLeak(t, err.Error(), keyHex, "hunter2")
		if c.in != "" && !strings.Contains(c.in, keyHex) && !strings.Contains(c.in, "?") && !strings.Contains(err.Error(), c.in) {
			t.Errorf("error %q does not quote the reference %q", err, c.in)
		}
	}
}

// Hex shorter or longer than a key in a reference (a keystore named after its
// address, a digest) is legal; String still redacts long hex runs.
func TestRefStringRedactsLongHex(t *testing.T) {
	t.Parallel()
	_, keyHex := testKey(t)
	r, err := secrets.ParseRef("file:///keys/" + keyHex[:40])
	if err != nil {
		t.Fatal(err)
	}
	noLeak(t, r.String(), keyHex[:40])
	if r.Path != "/keys/"+keyHex[:40] {
		t.Fatalf("Path = %q", r.Path)
	}
}

func TestRawKeyInsteadOfReference(t *testing.T) {
	t.Parallel()
	_, keyHex := testKey(t)
	for _, in := range []string{keyHex, "0x" + keyHex, " 0x" + keyHex + "\n"} {
		_, err := secrets.Open(context.Background(), in, secrets.Options{})
		wantKind(t, err, errs.Usage, "raw private key")
		noLeak(t, err.Error()+errs.FixOf(err), keyHex, keyHex[:8], keyHex[len(keyHex)-8:])
		if !strings.Contains(errs.FixOf(err), "env://") {
			t.Errorf("fix %q does not show a reference form", errs.FixOf(err))
		}
	}
}
