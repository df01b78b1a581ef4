package key_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
)

// --dry-run writes nothing on every key command that changes a store: rollback and
// discard-pending included.
func TestKeyDryRunChangesNothing(t *testing.T) {
	e := clitest.New(t)
	p := filepath.Join(e.SecretDir, "relayer.hex")
	ref := "file://" + p
	address := func() string { return strings.TrimSpace(e.MustRun(0, "key", "address", "--signer", ref).Stdout) }
	first := strings.TrimSpace(e.MustRun(0, "key", "generate", "--store", ref).Stdout)
	second := strings.TrimSpace(e.MustRun(0, "key", "generate", "--store", ref, "--promote").Stdout)
	for _, f := range []string{p, p + ".previous"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		clitest.Secret(strings.TrimSpace(string(b)))
	}
	if address() != second {
		t.Fatalf("after generate --promote the current key is %s, want %s", address(), second)
	}
	r := e.MustRun(0, "key", "rollback", "--store", ref, "--dry-run")
	if !strings.Contains(r.Stderr, "dry run") || address() != second {
		t.Fatalf("rollback --dry-run changed the current key to %s:\n%s", address(), r)
	}
	e.MustRun(0, "key", "rollback", "--store", ref, "--yes")
	if address() != first {
		t.Fatalf("after rollback the current key is %s, want %s", address(), first)
	}

	third := strings.TrimSpace(e.MustRun(0, "key", "generate", "--store", ref).Stdout)
	b, err := os.ReadFile(p + ".pending")
	if err != nil {
		t.Fatal(err)
	}
	clitest.Secret(strings.TrimSpace(string(b)))
	e.MustRun(0, "key", "discard-pending", "--store", ref, "--dry-run")
	if _, err := os.Stat(p + ".pending"); err != nil {
		t.Fatalf("discard-pending --dry-run removed the pending key %s: %v", third, err)
	}
	e.MustRun(0, "key", "discard-pending", "--store", ref, "--yes")
	if _, err := os.Stat(p + ".pending"); err == nil {
		t.Fatal("discard-pending left the pending key")
	}
}
