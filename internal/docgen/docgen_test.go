package docgen

import (
	"bytes"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The committed command reference and man pages are what the command tree
// generates: a command, flag or help text changed without `make docs` fails here.
func TestCommittedDocsAreCurrent(t *testing.T) {
	dir := t.TempDir()
	md, man := filepath.Join(dir, "cli"), filepath.Join(dir, "man")
	if err := Write(md, man); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ generated, committed string }{
		{md, filepath.Join("..", "..", "docs", "cli")},
		{man, filepath.Join("..", "..", "docs", "man")},
	} {
		want, err := Files(c.generated)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Files(c.committed)
		if err != nil {
			t.Fatalf("%s: %v (run make docs)", c.committed, err)
		}
		var stale []string
		for name, b := range want {
			if !bytes.Equal(got[name], b) {
				stale = append(stale, name)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				stale = append(stale, name+" (no such command)")
			}
		}
		sort.Strings(stale)
		if len(stale) > 0 {
			t.Errorf("%s is out of date — run `make docs`: %s", c.committed, strings.Join(stale, ", "))
		}
	}
	if _, err := Files(md); err != nil {
		t.Fatal(err)
	}
}

// Every command is in the reference, the doctor and audit commands among them.
func TestEveryCommandHasAPage(t *testing.T) {
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "cli"), filepath.Join(dir, "man")); err != nil {
		t.Fatal(err)
	}
	md, _ := Files(filepath.Join(dir, "cli"))
	man, _ := Files(filepath.Join(dir, "man"))
	for _, name := range []string{"vrwxctl", "vrwxctl_status", "vrwxctl_doctor_relay", "vrwxctl_doctor_signature", "vrwxctl_wallet_history", "vrwxctl_audit_list", "vrwxctl_completion_bash"} {
		if _, ok := md[name+".md"]; !ok {
			t.Errorf("no %s.md", name)
		}
		if _, ok := man[strings.ReplaceAll(name, "_", "-")+".1"]; !ok {
			t.Errorf("no man page for %s", name)
		}
	}
}
