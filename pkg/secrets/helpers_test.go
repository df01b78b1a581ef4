package secrets_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

// testKey is a fresh key and its hex form (no 0x), the string that must never
// leak.
func testKey(t *testing.T) (secrets.PrivateKey, string) {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pk, err := secrets.FromECDSA(k)
	if err != nil {
		t.Fatal(err)
	}
	return pk, hex.EncodeToString(crypto.FromECDSA(k))
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantKind fails unless err is of kind k and its text contains every want.
func wantKind(t *testing.T, err error, k errs.Kind, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want kind %d", k)
	}
	if got := errs.KindOf(err); got != k {
		t.Fatalf("error kind = %d, want %d: %v", got, k, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err.Error(), w)
		}
	}
}

// noLeak fails if any of the secrets occurs in s, in either case.
func noLeak(t *testing.T, s string, secretHex ...string) {
	t.Helper()
	ls := strings.ToLower(s)
	for _, h := range secretHex {
		if h != "" && strings.Contains(ls, strings.ToLower(h)) {
			t.Fatalf("key material leaked into %q", s)
		}
	}
}

func mustOpen(t *testing.T, ref string, opts secrets.Options) secrets.Store {
	t.Helper()
	s, err := secrets.Open(context.Background(), ref, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", ref, err)
	}
	return s
}

// envOf is an environment holding only the given name/value pairs, handed to a
// store through Options.LookupEnv so tests never touch the process environment.
func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}
