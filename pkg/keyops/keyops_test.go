package keyops_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/keyops"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

// Every change — done, refused, failed, or only tried in a dry run — is one line
// in the audit log with the store, the version and the address, never a key.
func TestChangesAreRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := secrets.Open(ctx, "file://"+filepath.Join(dir, "relayer.hex"), secrets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := &audit.Log{Path: filepath.Join(dir, "audit.log"), User: "op"}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := keyops.Change{Store: s, Audit: log, Command: "key generate", Now: func() time.Time { return at }}

	// A dry run generates nothing.
	dry := c
	dry.DryRun = true
	if v, a, err := dry.Generate(ctx, false); err != nil || v.ID != "" || a != ([20]byte{}) {
		t.Fatalf("dry run: %v %v %v", v, a, err)
	}
	// The first key of an empty store is current at once.
	v1, a1, err := c.Generate(ctx, false)
	if err != nil || !v1.Has(secrets.StageCurrent) {
		t.Fatalf("first key: %+v %v", v1, err)
	}
	// Not confirmed: refused, nothing changed.
	refused := c
	refused.Command = "key generate --promote"
	refused.Confirm = func() error { return errs.Refusedf("not confirmed") }
	if _, _, err := refused.Generate(ctx, true); errs.KindOf(err) != errs.Refused {
		t.Fatalf("unconfirmed: %v", err)
	}
	// Generate and promote: the new key current, the first previous.
	c.Command = "key generate --promote"
	v2, a2, err := c.Generate(ctx, true)
	if err != nil || !v2.Has(secrets.StageCurrent) {
		t.Fatalf("generate --promote: %+v %v", v2, err)
	}
	// Roll back and roll back again (nothing previous now: failed).
	c.Command = "key rollback"
	if err := c.Rollback(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, cur, _ := s.Read(ctx, ""); cur.Address != a1 {
		t.Fatalf("after the rollback %s is current, want %s", cur.Address.Hex(), a1.Hex())
	}
	c.Command = "key discard-pending"
	if err := c.DiscardPending(ctx, "", ""); err == nil {
		t.Fatal("discarding a pending version that does not exist succeeded")
	}
	c.Command = "key generate"
	v3, a3, err := c.Generate(ctx, false)
	if err != nil || !v3.Has(secrets.StagePending) {
		t.Fatalf("a pending key: %+v %v", v3, err)
	}
	c.Command = "key promote"
	if err := c.Promote(ctx, v3.ID, a3.Hex()); err != nil {
		t.Fatal(err)
	}

	es, err := log.Read()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		if e.User != "op" || !e.Time.Equal(at) || e.Store != s.Ref().String() {
			t.Errorf("line %+v: user, time or store", e)
		}
		got = append(got, e.Command+" "+e.Outcome+" "+e.Address)
	}
	want := []string{"key generate dry-run ", "key generate done " + a1.Hex(), "key generate --promote refused ",
		"key generate --promote done " + a2.Hex(), "key rollback done ", "key discard-pending failed ", "key generate done " + a3.Hex(), "key promote done " + a3.Hex()}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
