package key_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/key"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

// --dry-run writes nothing on every key command that changes a store: rollback and
// discard-pending included.
func TestKeyDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	p := filepath.Join(e.SecretDir, "relayer.hex")
	ref := "file://" + p
	address := func() string { return strings.TrimSpace(e.MustRun(0, "key", "address", "--signer", ref).Stdout) }
	first := strings.TrimSpace(e.MustRun(0, "key", "generate", "--store", ref).Stdout)
	second := strings.TrimSpace(e.MustRun(0, "key", "generate", "--store", ref, "--promote", "--yes").Stdout)
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

// key generate --promote makes an unfunded key current: it takes the same rail as
// key promote (a summary, then a confirmation; --yes without a terminal), and a
// refusal changes nothing. --dry-run generates no key, so it prints no address.
// Every key operation, refused ones included, is in the audit log, without a key.
func TestGeneratePromoteTakesTheRail(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	p := filepath.Join(e.SecretDir, "relayer.hex")
	ref := "file://" + p
	first := strings.TrimSpace(e.MustRun(0, "key", "generate", "--store", ref).Stdout)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	clitest.Secret(strings.TrimSpace(string(b)))

	r := e.MustRun(3, "key", "generate", "--store", ref, "--promote")
	if !strings.Contains(r.Stderr, "becomes the current key") || !strings.Contains(r.Stderr, "holds no ETH") || !strings.Contains(r.Stderr, "--yes") || r.Stdout != "" {
		t.Fatalf("want a summary and a refusal asking for --yes:\n%s", r)
	}
	if _, err := os.Stat(p + ".pending"); err == nil {
		t.Fatal("a refused generate --promote wrote a pending key")
	}
	if got := strings.TrimSpace(e.MustRun(0, "key", "address", "--signer", ref).Stdout); got != first {
		t.Fatalf("a refused generate --promote changed the current key to %s", got)
	}

	r = e.MustRun(0, "key", "generate", "--store", ref, "--promote", "--dry-run")
	if r.Stdout != "" || !strings.Contains(r.Stderr, "none was generated") || !strings.Contains(r.Stderr, "no address") {
		t.Fatalf("a dry run printed an address whose key was thrown away, or did not say so:\n%s", r)
	}
	var dry key.GenerateJSON
	e.MustRun(0, "key", "generate", "--store", ref, "--dry-run", "-o", "json").JSON(t, &dry)
	if dry.Address != "" || !dry.DryRun {
		t.Fatalf("dry-run JSON %+v", dry)
	}

	second := strings.TrimSpace(e.MustRun(0, "key", "generate", "--store", ref, "--promote", "--yes").Stdout)
	b, err = os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	clitest.Secret(strings.TrimSpace(string(b)))
	if got := strings.TrimSpace(e.MustRun(0, "key", "address", "--signer", ref).Stdout); got != second || got == first {
		t.Fatalf("after generate --promote --yes the current key is %s, want %s", got, second)
	}

	log := readAudit(t, e)
	var outcomes []string
	for _, en := range log {
		outcomes = append(outcomes, en.Command+":"+en.Outcome)
		if en.Store != clean(ref) {
			t.Errorf("audit entry names store %q, want %q", en.Store, clean(ref))
		}
	}
	want := []string{"key generate:done", "key generate --promote:refused", "key generate --promote:dry-run", "key generate:dry-run", "key generate --promote:done"}
	if strings.Join(outcomes, " ") != strings.Join(want, " ") {
		t.Fatalf("audit log outcomes %v, want %v", outcomes, want)
	}
	if log[0].Address != first || log[4].Address != second || log[4].Version == "" {
		t.Fatalf("audit entries lack the address or version: %+v", log)
	}
}

func readAudit(t *testing.T, e *clitest.Env) []audit.Entry {
	t.Helper()
	es, err := audit.Open(filepath.Join(e.Vars["XDG_STATE_HOME"], "vrwxctl", "audit.log")).Read()
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// clean is a file reference as vrwxctl prints it.
func clean(ref string) string {
	r, err := secrets.ParseRef(ref)
	if err != nil {
		panic(err)
	}
	return r.String()
}
