package sqlitebackup_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

// The snapshot copy is byte for byte the copy SQLite's own backup API makes of the
// same snapshot, made self-contained, while the write-ahead log holds pages the main
// file does not have yet: changed pages, pages past the main file's end, and freed
// pages.
func TestSnapshotCopyIsTheBackupAPIsCopy(t *testing.T) {
	ctx := context.Background()
	src := fixture(t, 2<<20)
	// Another connection that never checkpoints leaves its commits in the log: the
	// main file keeps the old pages.
	w, err := apidb.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	for _, stmt := range []string{
		`PRAGMA wal_autocheckpoint = 0`,
		`UPDATE dlq_events SET reason = reason || ' (seen)' WHERE id % 7 = 0`,
		`INSERT INTO dlq_events(type, payload, reason, created_at) SELECT type, payload || payload, reason, created_at FROM dlq_events`,
		`DELETE FROM job_completions WHERE id % 3 = 0`,
	} {
		if _, err := w.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	fi, err := os.Stat(src + "-wal")
	if err != nil || fi.Size() < 1<<20 {
		t.Fatalf("the log holds too little for the test to mean anything: %v %v", fi, err)
	}
	main, _ := os.Stat(src)

	out := t.TempDir()
	api, err := sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: filepath.Join(out, "api.db")}, sqlitebackup.BackupOptions{Method: sqlitebackup.MethodBackupAPI})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: filepath.Join(out, "snap.db")}, sqlitebackup.BackupOptions{Method: sqlitebackup.MethodSnapshot})
	if err != nil {
		t.Fatal(err)
	}
	checked, err := sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: filepath.Join(out, "checked.db")}, sqlitebackup.BackupOptions{Method: sqlitebackup.MethodSnapshot, CheckCopy: true})
	if err != nil {
		t.Fatal(err)
	}
	// By default the snapshot is checked while it is copied; the other methods, and
	// the snapshot method when asked, check the written file.
	if snap.Manifest.Checked != sqlitebackup.CheckedSnapshot || checked.Manifest.Checked != sqlitebackup.CheckedCopy ||
		api.Manifest.Checked != sqlitebackup.CheckedCopy || !snap.Manifest.Verify.OK || !checked.Manifest.Verify.OK {
		t.Errorf("checked: snapshot method %q %+v, with CheckCopy %q %+v, backup API %q", snap.Manifest.Checked, snap.Manifest.Verify,
			checked.Manifest.Checked, checked.Manifest.Verify, api.Manifest.Checked)
	}
	if snap.Manifest.SHA256 != checked.Manifest.SHA256 || !sameCounts(snap.Manifest.RowCounts, checked.Manifest.RowCounts) ||
		!sameCounts(snap.Manifest.RowCounts, oracleCounts(t, snap.Location.Path)) {
		t.Errorf("the snapshot's description differs from the copy's: %v / %v / sqlite3 %v", snap.Manifest.RowCounts, checked.Manifest.RowCounts, oracleCounts(t, snap.Location.Path))
	}
	if snap.Manifest.DBSize <= main.Size() {
		t.Fatalf("the snapshot (%d bytes) is not longer than the main file (%d): the log's new pages are not exercised", snap.Manifest.DBSize, main.Size())
	}
	a, _ := os.ReadFile(api.Location.Path)
	b, _ := os.ReadFile(snap.Location.Path)
	if len(a) != len(b) || len(b) != int(snap.Manifest.PageCount*snap.Manifest.PageSize) {
		t.Fatalf("backup API copy %d bytes, snapshot copy %d, manifest %d pages", len(a), len(b), snap.Manifest.PageCount)
	}
	// Past the 100-byte file header both are the same bytes.
	if !bytes.Equal(a[100:], b[100:]) {
		for off := 100; off < len(a); off++ {
			if a[off] != b[off] {
				t.Fatalf("the copies differ first at byte %d (page %d)", off, off/int(snap.Manifest.PageSize)+1)
			}
		}
	}
	// The header is the snapshot's own, but for the journal mode. (The backup API
	// instead bumps the change counter and the schema cookie as it writes.)
	var page1 []byte
	if err := w.QueryRowContext(ctx, `SELECT data FROM sqlite_dbpage WHERE pgno = 1`).Scan(&page1); err != nil {
		t.Fatal(err)
	}
	if page1[18] != 2 || page1[19] != 2 {
		t.Fatalf("the source is not in WAL mode (header bytes 18/19 = %d/%d)", page1[18], page1[19])
	}
	want := append([]byte(nil), page1[:100]...)
	want[18], want[19] = 1, 1
	if !bytes.Equal(b[:100], want) {
		t.Errorf("snapshot copy header\n%x\nwant\n%x", b[:100], want)
	}
	if got := sqlite3(t, snap.Location.Path, "PRAGMA integrity_check"); got != "ok" {
		t.Errorf("sqlite3 integrity_check of the snapshot copy: %s", got)
	}
}

// A damaged source fails the backup, whichever is checked, and nothing is published.
func TestDamagedSourceFailsTheBackup(t *testing.T) {
	ctx := context.Background()
	src := fixture(t, 1<<20)
	f, err := os.OpenFile(src, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Garbage over the b-tree page headers of a few pages in the middle of the file.
	for _, pgno := range []int64{60, 61, 62, 63} {
		if _, err := f.WriteAt(bytes.Repeat([]byte{0xa5}, 64), (pgno-1)*4096); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	for _, copyCheck := range []bool{false, true} {
		out := t.TempDir()
		_, err := sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: out}, sqlitebackup.BackupOptions{Quick: true, CheckCopy: copyCheck})
		wantKind(t, err, errs.Failed, "failed quick_check")
		if names := dirNames(t, out); len(names) != 0 {
			t.Errorf("CheckCopy %v: a failed backup left %v", copyCheck, names)
		}
	}
}
