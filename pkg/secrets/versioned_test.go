package secrets_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

func TestParseVersionRefs(t *testing.T) {
	const addr = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
	const awsID = "01234567-89ab-cdef-0123-456789abcdef"
	cases := []struct {
		in, stage, version, str string
	}{
		{"aws-sm://vrwx/prod/relayer-key?stage=previous", "previous", "", "aws-sm://vrwx/prod/relayer-key?stage=previous#RELAYER_PRIVATE_KEY"},
		{"aws-sm://vrwx/prod/relayer-key?stage=AWSPREVIOUS#K", "previous", "", "aws-sm://vrwx/prod/relayer-key?stage=previous#K"},
		{"aws-sm://vrwx/prod/relayer-key?stage=awspending", "pending", "", "aws-sm://vrwx/prod/relayer-key?stage=pending#RELAYER_PRIVATE_KEY"},
		{"aws-sm://vrwx/prod/relayer-key?stage=AWSCURRENT", "current", "", "aws-sm://vrwx/prod/relayer-key?stage=current#RELAYER_PRIVATE_KEY"},
		{"aws-sm://k?region=eu-west-1&version=" + awsID, "", awsID, "aws-sm://k?region=eu-west-1&version=" + awsID + "#RELAYER_PRIVATE_KEY"},
		{"vault://secret/vrwx/prod/relayer?version=3", "", "3", "vault://secret/vrwx/prod/relayer?version=3#RELAYER_PRIVATE_KEY"},
		{"vault://secret/vrwx/prod/relayer?stage=Previous#F", "previous", "", "vault://secret/vrwx/prod/relayer?stage=previous#F"},
		{"file:///etc/vrwx/key.hex?stage=pending", "pending", "", "file:///etc/vrwx/key.hex?stage=pending"},
		{"file:///etc/vrwx/key.hex?version=" + addr, "", "0x90f79bf6eb2c4f870365e785982e1f101e93b906", "file:///etc/vrwx/key.hex?version=0x90f79bf6eb2c4f870365e785982e1f101e93b906"},
		{"keystore:///k.json?password-env=KS&stage=previous", "previous", "", "keystore:///k.json?password-env=KS&stage=previous"},
	}
	for _, c := range cases {
		r, err := secrets.ParseRef(c.in)
		if err != nil {
			t.Errorf("ParseRef(%q): %v", c.in, err)
			continue
		}
		if r.Stage != c.stage || r.Version != c.version || !r.Versioned() {
			t.Errorf("ParseRef(%q) = stage %q version %q, want %q %q", c.in, r.Stage, r.Version, c.stage, c.version)
		}
		if r.String() != c.str {
			t.Errorf("ParseRef(%q).String() = %q, want %q", c.in, r.String(), c.str)
		}
		// The canonical form parses back to the same reference.
		again, err := secrets.ParseRef(r.String())
		if err != nil || again != r {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", r.String(), again, err, r)
		}
		if b := r.Base(); b.Versioned() || b.Stage != "" || b.Version != "" {
			t.Errorf("Base of %q still names a version: %+v", c.in, b)
		}
	}

	rejects := []struct{ in, want string }{
		{"vault://secret/a?version=0", "not a Vault version number"},
		{"vault://secret/a?version=02", "not a Vault version number"},
		{"vault://secret/a?version=latest", "not a Vault version number"},
		{"aws-sm://k?version=AWSPREVIOUS", "not an AWS VersionId"},
		{"aws-sm://k?stage=previous&version=" + awsID, "both ?stage= and ?version="},
		{"aws-sm://k?stage=AWSOLD", `stage "AWSOLD" is not a stage; expected current, pending or previous (or AWSCURRENT`},
		{"file:///k.hex?stage=AWSPREVIOUS", `stage "AWSPREVIOUS" is not a stage; expected current, pending or previous`},
		{"file:///k.hex?version=3", "not an address"},
		{"keystore:///k.json?stage=", "exactly once, with a value"},
		{"env://RELAYER_PRIVATE_KEY?stage=previous", `unknown parameter "stage"`},
	}
	for _, c := range rejects {
		r, err := secrets.ParseRef(c.in)
		if err == nil {
			t.Errorf("ParseRef(%q) = %+v, want an error", c.in, r)
			continue
		}
		wantKind(t, err, errs.Usage, c.want)
	}
}

// After a rotation every version can be named by a reference, in every writable
// store, and read the way `--signer` reads it: ?stage=previous is the key that was
// current before the promote, ?stage=pending the one written but not promoted, and
// ?version=ID the version with that ID. Writes through a version reference are bad
// input and change nothing.
func TestVersionReferencesReadEveryVersion(t *testing.T) {
	stores := map[string]func(t *testing.T) string{
		"file": func(t *testing.T) string { return "file://" + filepath.Join(t.TempDir(), "relayer.hex") },
		"keystore": func(t *testing.T) string {
			return "keystore://" + filepath.Join(t.TempDir(), "relayer.json") + "?password-env=KS_PASS"
		},
		"aws-sm": func(t *testing.T) string { awsEnv(t); return "aws-sm://vrwx/test/relayer-key" },
		"vault":  func(t *testing.T) string { vaultEnv(t); return "vault://secret/vrwx/test/relayer" },
	}
	for name, ref := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := ctxT(t)
			opts := secrets.Options{ScryptN: 2, ScryptP: 1, LookupEnv: func(k string) (string, bool) { return "correct horse", k == "KS_PASS" }}
			base := ref(t)
			s := mustOpen(t, base, opts)
			first, second, third := key(t), key(t), key(t)
			v1 := write(t, s, first)
			v2 := write(t, s, second)
			if err := s.Promote(ctx, v2.ID); err != nil {
				t.Fatal(err)
			}
			v3 := write(t, s, third)

			at := func(q string) string { return sep(base) + q }
			want := map[string]common.Address{
				at("stage=current"):    second.Address(),
				at("stage=previous"):   first.Address(),
				at("stage=pending"):    third.Address(),
				at("version=" + v1.ID): first.Address(),
				at("version=" + v3.ID): third.Address(),
			}
			if name == "aws-sm" {
				want[at("stage=AWSPREVIOUS")] = first.Address()
			}
			for r, addr := range want {
				k, err := secrets.ReadKey(ctx, r, opts)
				if err != nil {
					t.Fatalf("ReadKey(%s): %v", r, err)
				}
				if k.Address() != addr {
					t.Fatalf("ReadKey(%s) = %s, want %s", r, k.Address().Hex(), addr.Hex())
				}
			}

			vs := mustOpen(t, at("stage=previous"), opts)
			if _, err := vs.WritePending(ctx, key(t)); !errs.Is(err, errs.Usage) {
				t.Fatalf("WritePending through a version reference: %v, want a usage error", err)
			}
			for _, err := range []error{vs.Promote(ctx, v3.ID), vs.Rollback(ctx), vs.DiscardPending(ctx)} {
				wantKind(t, err, errs.Usage, "names one version of a key")
			}
			// Nothing changed: the same three versions in the same stages.
			wantStages(t, stagesByAddress(t, s), map[common.Address]string{first.Address(): "previous", second.Address(): "current", third.Address(): "pending"})

			// After discarding the pending key, ?stage=pending names nothing.
			if err := s.DiscardPending(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := secrets.ReadKey(ctx, at("stage=pending"), opts); !errs.Is(err, errs.Failed) {
				t.Fatalf("?stage=pending with no pending version: %v, want a failure", err)
			}
		})
	}
}

func key(t *testing.T) secrets.PrivateKey {
	t.Helper()
	k, _ := testKey(t)
	return k
}

func write(t *testing.T, s secrets.Store, k secrets.PrivateKey) secrets.Version {
	t.Helper()
	v, err := s.WritePending(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sep is ref followed by the separator before its next query parameter.
func sep(ref string) string {
	if strings.Contains(ref, "?") {
		return ref + "&"
	}
	return ref + "?"
}
