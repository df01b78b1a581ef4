package apidb_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// halfRestore lays out what a restore killed after its journal leaves: the
// original database still in place, a verified copy beside it, and the journal.
func halfRestore(t *testing.T, db string) *apidb.RestoreJournal {
	t.Helper()
	dir := filepath.Dir(db)
	copyPath := filepath.Join(dir, ".vrwx-restore-1.db.tmp")
	content := []byte("the verified copy")
	if err := os.WriteFile(copyPath, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	j := &apidb.RestoreJournal{DB: db, Backup: "/backups/vrwx-20261127T031500Z.db", Restored: copyPath, RestoredSize: int64(len(content)),
		RestoredSHA256: hex.EncodeToString(sum[:]), PreRestoreDir: filepath.Join(dir, "pre-restore-20261127T031500Z"), StartedAt: time.Now()}
	var err error
	if j.RestoredID, err = apidb.FileID(copyPath); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(j.PreRestoreDir, 0o700); err != nil {
		t.Fatal(err)
	}
	id, err := apidb.FileID(db)
	if err != nil {
		t.Fatal(err)
	}
	j.Files = []apidb.JournalFile{{Path: db, ID: id}}
	if err := apidb.WriteJournal(j); err != nil {
		t.Fatal(err)
	}
	return j
}

// A database that is neither the original nor the copy, found where the original
// was (an API started meanwhile made a new, empty one), is not moved over: Recover
// refuses and says where everything is.
func TestRecoverRefusesAForeignDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "vrwx.db")
	if err := os.WriteFile(db, []byte("original"), 0o600); err != nil {
		t.Fatal(err)
	}
	j := halfRestore(t, db)
	if err := os.Rename(db, filepath.Join(j.PreRestoreDir, "vrwx.db")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, []byte("a new database"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec, err := apidb.Recover(context.Background(), db, false)
	if rec != nil || errs.KindOf(err) != errs.Refused || !strings.Contains(err.Error(), "not the file the restore started from") ||
		!strings.Contains(errs.FixOf(err), j.PreRestoreDir) {
		t.Fatalf("Recover = %v, %v; want a refusal naming where the files are", rec, err)
	}
	if b, _ := os.ReadFile(db); string(b) != "a new database" {
		t.Error("the refusal changed the database")
	}
	if _, err := os.Stat(apidb.JournalPath(db)); err != nil {
		t.Errorf("the refusal removed the journal: %v", err)
	}
}

// While a process has the database open, nothing is moved; once it is gone the
// restore completes.
func TestRecoverWaitsForTheAPIToStop(t *testing.T) {
	t.Cleanup(apidbtest.Cleanup)
	f := buildFixture(t, apidbtest.FixtureOptions{})
	j := halfRestore(t, f.Path)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := apidbtest.StartWriter(ctx, f.Path, 50, 6_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WaitCommits(ctx, 5); err != nil {
		t.Fatal(err)
	}
	_, err = apidb.Recover(ctx, f.Path, false)
	if errs.KindOf(err) != errs.Refused || !strings.Contains(err.Error(), "has it open") || !strings.Contains(errs.FixOf(err), "stop the API") {
		t.Fatalf("Recover while the writer runs = %v; want a refusal naming the holder", err)
	}
	if _, err := os.Stat(j.Restored); err != nil {
		t.Fatalf("the refusal touched the copy: %v", err)
	}
	if _, _, err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	rec, err := apidb.Recover(ctx, f.Path, false)
	if err != nil || rec == nil || rec.Action != apidb.Completed {
		t.Fatalf("Recover after the writer stopped = %+v, %v; want completed", rec, err)
	}
	if b, _ := os.ReadFile(f.Path); string(b) != "the verified copy" {
		t.Errorf("the database is not the copy: %q", b)
	}
	if _, err := os.Stat(filepath.Join(j.PreRestoreDir, "vrwx.db")); err != nil {
		t.Errorf("the original is not in the pre-restore directory: %v", err)
	}
}

// A journal that cannot be read stops everything that opens the database with the
// way out, rather than guessing.
func TestRecoverRefusesToGuessFromAnUnreadableJournal(t *testing.T) {
	db := filepath.Join(t.TempDir(), "vrwx.db")
	if err := os.WriteFile(apidb.JournalPath(db), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := apidb.OpenExisting(context.Background(), db, false)
	if errs.KindOf(err) != errs.Failed || !strings.Contains(err.Error(), "unreadable") || !strings.Contains(errs.FixOf(err), "pre-restore") {
		t.Fatalf("OpenExisting with a broken journal = %v (fix %q)", err, errs.FixOf(err))
	}
}
