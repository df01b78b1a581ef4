package sqlitebackup_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

func sha(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func backupTo(t testing.TB, src, dir string, opts sqlitebackup.BackupOptions) *sqlitebackup.BackupResult {
	t.Helper()
	res, err := sqlitebackup.Backup(context.Background(), src, sqlitebackup.Location{Path: dir}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// staleWAL leaves a -wal full of committed-but-never-checkpointed frames (and a
// -shm) beside db, the way a crashed API does.
func staleWAL(t *testing.T, db string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := apidbtest.StartWriter(ctx, db, 200, 8_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WaitCommits(ctx, 150); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Kill(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(db + "-wal")
	if err != nil || fi.Size() == 0 {
		t.Fatalf("no stale -wal beside %s: %v", db, err)
	}
	if _, err := os.Stat(db + "-shm"); err != nil {
		t.Fatalf("no stale -shm beside %s: %v", db, err)
	}
}

func TestRestoreBesideAStaleWALYieldsExactlyTheBackup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := fixture(t, 1<<20)
	bk := backupTo(t, db, t.TempDir(), sqlitebackup.BackupOptions{})
	staleWAL(t, db)

	// What the runbook's `cp backup vrwx.db` does here: SQLite replays the stale WAL
	// over the copied file and the result is malformed.
	naive := filepath.Join(t.TempDir(), "vrwx.db")
	copyFile(t, bk.Location.Path, naive)
	copyFile(t, db+"-wal", naive+"-wal")
	copyFile(t, db+"-shm", naive+"-shm")
	if out, err := exec.Command(needSQLite3(t), naive, "PRAGMA integrity_check").CombinedOutput(); err == nil && strings.TrimSpace(string(out)) == "ok" {
		t.Fatal("a stale WAL beside a copied backup did no harm; this test would prove nothing")
	}
	backupSum := sqlite3(t, bk.Location.Path, ".sha3sum")

	oldDB, oldWAL, oldSHM := sha(t, db), sha(t, db+"-wal"), sha(t, db+"-shm")
	at := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	rep, err := sqlitebackup.Restore(ctx, bk.Location, db, sqlitebackup.RestoreOptions{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Dir(db)
	pre := filepath.Join(dir, "pre-restore-20261127T040000Z")
	if rep.PreRestoreDir != pre {
		t.Errorf("PreRestoreDir = %s, want %s", rep.PreRestoreDir, pre)
	}
	// The replaced files are kept, byte for byte.
	for file, sum := range map[string]string{"vrwx.db": oldDB, "vrwx.db-wal": oldWAL, "vrwx.db-shm": oldSHM} {
		if got := sha(t, filepath.Join(pre, file)); got != sum {
			t.Errorf("%s in %s changed", file, pre)
		}
	}
	// No stale sidecar survives next to the restored file, and nothing temporary.
	if got := strings.Join(dirNames(t, dir), ","); got != "pre-restore-20261127T040000Z,vrwx.db" {
		t.Errorf("database directory holds %s", got)
	}
	// The oracle sees exactly the backup.
	if got := sqlite3(t, db, ".sha3sum"); got != backupSum {
		t.Errorf("restored content hash %s, backup's %s", got, backupSum)
	}
	maxIDs := "SELECT (SELECT max(id) FROM dlq_events), (SELECT max(id) FROM job_completions), (SELECT max(rowid) FROM idempotency_keys)"
	if got, want := sqlite3(t, db, maxIDs), sqlite3(t, bk.Location.Path, maxIDs); got != want {
		t.Errorf("restored max ids %s, backup's %s", got, want)
	}
	if got := sqlite3(t, db, "PRAGMA integrity_check"); got != "ok" {
		t.Errorf("integrity_check of the restored database: %s", got)
	}
	counts := oracleCounts(t, db)
	if !sameCounts(rep.RowCounts, counts) || !sameCounts(counts, bk.Manifest.RowCounts) {
		t.Errorf("row counts: restore reported %v, sqlite3 counts %v, manifest %v", rep.RowCounts, counts, bk.Manifest.RowCounts)
	}
	if !rep.Check.OK || !rep.Verify.OK {
		t.Errorf("report = %+v", rep)
	}

	// The API opens the restored file the usual way and carries on in WAL mode.
	if got := sqlite3(t, db, "PRAGMA journal_mode=WAL; INSERT INTO payments(stripe_session_id, service_type, units, amount_cents, status, created_at) VALUES ('cs_after_restore','inspection',1,100,'paid',1); SELECT count(*) FROM payments"); !strings.HasSuffix(got, itoa(int(counts["payments"]+1))) {
		t.Errorf("writing after restore: %s", got)
	}
}

func TestRestoreIsRefusedWhileAWriterHoldsTheDatabase(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := fixture(t, 0)
	bk := backupTo(t, db, t.TempDir(), sqlitebackup.BackupOptions{Quick: true})
	w, err := apidbtest.StartWriter(ctx, db, 200, 6_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WaitCommits(ctx, 20); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(db)
	for _, dry := range []bool{false, true} {
		rep, err := sqlitebackup.Restore(ctx, bk.Location, db, sqlitebackup.RestoreOptions{DryRun: dry})
		wantKind(t, err, errs.Refused, "another process has it open", "pid "+itoa(w.Pid))
		if errs.FixOf(err) == "" || !errors.Is(err, sqlitebackup.ErrInUse) {
			t.Errorf("the refusal %v carries no fix or does not wrap ErrInUse", err)
		}
		found := false
		for _, h := range rep.Holders {
			found = found || h.PID == w.Pid
		}
		if !found {
			t.Errorf("holders %+v do not include the writer (pid %d)", rep.Holders, w.Pid)
		}
	}
	if err := w.WaitCommits(ctx, len(w.Commits())+20); err != nil {
		t.Fatal(err)
	}
	commits, werrs, err := w.Stop()
	if err != nil || len(werrs) > 0 {
		t.Fatalf("writer failed: %v %v", err, werrs)
	}
	after, _ := os.Stat(db)
	if !os.SameFile(before, after) {
		t.Error("the database file was replaced although the restore was refused")
	}
	for _, n := range dirNames(t, filepath.Dir(db)) {
		if strings.HasPrefix(n, "pre-restore") || strings.HasPrefix(n, ".") {
			t.Errorf("refused restore left %s", n)
		}
	}
	n := sqlite3(t, db, "SELECT count(*) FROM dlq_events WHERE CAST(job_id AS INTEGER) > 6000000")
	if n != itoa(len(commits)) {
		t.Errorf("writer committed %d rows, database has %s: the refused restore disturbed it", len(commits), n)
	}
}

// An idle connection to a rollback-journal database holds no lock at all; the
// /proc scan still sees it. --force restores anyway and keeps the old file.
func TestRestoreSeesAnIdleConnectionAndForceOverridesIt(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc here: idle rollback-mode connections cannot be seen")
	}
	ctx := context.Background()
	db := fixture(t, 0)
	bk := backupTo(t, db, t.TempDir(), sqlitebackup.BackupOptions{Quick: true})
	sqlite3(t, db, "PRAGMA journal_mode=DELETE")

	cmd := exec.Command(needSQLite3(t), db)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	if _, err := io.WriteString(stdin, "SELECT count(*) FROM tenants;\n"); err != nil {
		t.Fatal(err)
	}
	var holders []apidb.Holder
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if holders, err = apidb.Holders(ctx, db); err != nil {
			t.Fatal(err)
		}
		if len(holders) > 0 {
			break
		}
	}
	if len(holders) != 1 || holders[0].PID != cmd.Process.Pid || holders[0].Program != "sqlite3" {
		t.Fatalf("holders = %+v, want the sqlite3 process %d", holders, cmd.Process.Pid)
	}
	_, err = sqlitebackup.Restore(ctx, bk.Location, db, sqlitebackup.RestoreOptions{})
	// An idle sqlite3 shows as an open file, or as a lock while it still reads the
	// schema: either way it is named and the restore is refused.
	wantKind(t, err, errs.Refused, fmt.Sprintf("pid %d (sqlite3)", cmd.Process.Pid))

	rep, err := sqlitebackup.Restore(ctx, bk.Location, db, sqlitebackup.RestoreOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Holders) != 1 || rep.PreRestoreDir == "" {
		t.Errorf("forced restore report = %+v", rep)
	}
	if _, err := os.Stat(filepath.Join(rep.PreRestoreDir, "vrwx.db")); err != nil {
		t.Errorf("the replaced database was not kept: %v", err)
	}
	stdin.Close()
	cmd.Wait()
	if h, err := apidb.Holders(ctx, db); err != nil || len(h) != 0 {
		t.Errorf("after the holder exited: %+v, %v", h, err)
	}
}

func TestDamagedBackupsAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := fixture(t, 1<<20)
	good := backupTo(t, db, t.TempDir(), sqlitebackup.BackupOptions{})
	liveSum := sha(t, db)

	// damaged returns a copy of the good backup and its manifest, changed by fn.
	damaged := func(fn func(file string, m map[string]any)) sqlitebackup.Location {
		dir := t.TempDir()
		file := filepath.Join(dir, filepath.Base(good.Location.Path))
		copyFile(t, good.Location.Path, file)
		raw, _ := os.ReadFile(good.Location.Path + ".manifest.json")
		var m map[string]any
		json.Unmarshal(raw, &m)
		fn(file, m)
		raw, _ = json.Marshal(m)
		os.WriteFile(file+".manifest.json", raw, 0o600)
		return sqlitebackup.Location{Path: file}
	}
	flip := func(file string, off int64, n int) {
		f, err := os.OpenFile(file, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, n)
		f.ReadAt(b, off)
		for i := range b {
			b[i] ^= 0xff
		}
		f.WriteAt(b, off)
	}
	size := good.Manifest.Size
	withoutManifest := func(l sqlitebackup.Location) sqlitebackup.Location {
		if err := os.Remove(l.Path + ".manifest.json"); err != nil {
			t.Fatal(err)
		}
		return l
	}

	cases := []struct {
		name string
		loc  sqlitebackup.Location
		want string
	}{
		{"flipped bytes", damaged(func(f string, _ map[string]any) { flip(f, size/2, 16) }), "checksum mismatch"},
		{"wrong checksum", damaged(func(_ string, m map[string]any) { m["sha256"] = strings.Repeat("0", 64) }), "checksum mismatch"},
		{"truncated", damaged(func(f string, _ map[string]any) { os.Truncate(f, size-4096) }), "size mismatch"},
		{"no manifest", withoutManifest(damaged(func(string, map[string]any) {})), "no manifest"},
		{"manifest for another file", damaged(func(_ string, m map[string]any) { m["file"] = "vrwx-20200101T000000Z.db" }), "describes"},
		// Damage that a re-computed checksum hides is still caught by integrity_check:
		// page 2's b-tree page type byte becomes invalid.
		{"corrupt page with matching checksum", damaged(func(f string, m map[string]any) {
			flip(f, 4096, 1)
			m["sha256"] = sha(t, f)
			m["db_sha256"] = m["sha256"]
		}), "integrity_check failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := sqlitebackup.Verify(ctx, c.loc, sqlitebackup.VerifyOptions{})
			wantKind(t, err, errs.Failed, c.want)
			if rep == nil || rep.OK {
				t.Fatalf("Verify report = %+v", rep)
			}
			_, err = sqlitebackup.Restore(ctx, c.loc, db, sqlitebackup.RestoreOptions{})
			wantKind(t, err, errs.Refused, "does not verify", c.want)
			if !errors.Is(err, sqlitebackup.ErrDoesNotVerify) {
				t.Errorf("%v should wrap ErrDoesNotVerify", err)
			}
			if sha(t, db) != liveSum {
				t.Fatal("a refused restore changed the database")
			}
			if got := strings.Join(dirNames(t, filepath.Dir(db)), ","); got != "vrwx.db" {
				t.Fatalf("a refused restore left %s", got)
			}
		})
	}

	// A backup without a manifest (e.g. from the old runbook's sqlite3 .backup) can be
	// accepted explicitly: its checksum is then unchecked, everything else is.
	old := filepath.Join(t.TempDir(), "vrwx-20241001.db")
	sqlite3(t, db, ".backup "+old)
	rep, err := sqlitebackup.Verify(ctx, sqlitebackup.Location{Path: old}, sqlitebackup.VerifyOptions{AllowNoManifest: true})
	if err != nil || !rep.OK || rep.ChecksumOK || len(rep.MissingTables) != 0 {
		t.Errorf("Verify(no manifest allowed) = %+v, %v", rep, err)
	}

	_, err = sqlitebackup.Verify(ctx, sqlitebackup.Location{Path: filepath.Dir(good.Location.Path)}, sqlitebackup.VerifyOptions{})
	wantKind(t, err, errs.Usage, "is a directory")
	_, err = sqlitebackup.Verify(ctx, sqlitebackup.Location{Path: good.Location.Path + ".nope"}, sqlitebackup.VerifyOptions{})
	wantKind(t, err, errs.Usage, "does not exist")
}

func TestVerifyReportsMissingTablesAndMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := fixture(t, 0)
	sqlite3(t, db, "DELETE FROM _migrations WHERE name = '007_tenant_plans.sql'")
	res := backupTo(t, db, t.TempDir(), sqlitebackup.BackupOptions{})
	if got := strings.Join(res.Manifest.MissingMigrations, ","); got != "007_tenant_plans.sql" {
		t.Errorf("manifest missing_migrations = %s", got)
	}
	rep, err := sqlitebackup.Verify(ctx, res.Location, sqlitebackup.VerifyOptions{Quick: true})
	wantKind(t, err, errs.Failed, "missing migrations: 007_tenant_plans.sql")
	if !rep.ChecksumOK || !rep.Check.OK || len(rep.MissingMigrations) != 1 || len(rep.Migrations) != 6 {
		t.Errorf("report = %+v", rep)
	}

	// A backup whose file lost a table (its manifest re-computed to match) is caught
	// by the schema check, which names the table.
	bk := res.Location.Path
	sqlite3(t, bk, "DROP TABLE payments")
	raw, _ := os.ReadFile(bk + ".manifest.json")
	var m map[string]any
	json.Unmarshal(raw, &m)
	fi, _ := os.Stat(bk)
	m["sha256"], m["db_sha256"], m["size"], m["db_size"] = sha(t, bk), sha(t, bk), fi.Size(), fi.Size()
	raw, _ = json.Marshal(m)
	os.WriteFile(bk+".manifest.json", raw, 0o600)
	rep, err = sqlitebackup.Verify(ctx, res.Location, sqlitebackup.VerifyOptions{})
	wantKind(t, err, errs.Failed, "missing tables: payments")
	if !rep.ChecksumOK || strings.Join(rep.MissingTables, ",") != "payments" {
		t.Errorf("report = %+v", rep)
	}
}

func TestRestoreDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := fixture(t, 0)
	bk := backupTo(t, db, t.TempDir(), sqlitebackup.BackupOptions{Compression: sqlitebackup.Gzip})
	sqlite3(t, db, "DELETE FROM payments")
	before := sha(t, db)
	rep, err := sqlitebackup.Restore(ctx, bk.Location, db, sqlitebackup.RestoreOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || rep.PreRestoreDir == "" || len(rep.Moved) != 1 || rep.RowCounts["payments"] == 0 {
		t.Errorf("dry-run report = %+v", rep)
	}
	if sha(t, db) != before || strings.Join(dirNames(t, filepath.Dir(db)), ",") != "vrwx.db" {
		t.Error("a dry run changed the database directory")
	}
}

func TestRestoreIntoAnEmptyPlace(t *testing.T) {
	t.Parallel()
	db := fixture(t, 0)
	bk := backupTo(t, db, t.TempDir(), sqlitebackup.BackupOptions{})
	target := filepath.Join(t.TempDir(), "new", "vrwx.db")
	_, err := sqlitebackup.Restore(context.Background(), bk.Location, target, sqlitebackup.RestoreOptions{})
	wantKind(t, err, errs.Usage, "does not exist")
	os.MkdirAll(filepath.Dir(target), 0o755)
	rep, err := sqlitebackup.Restore(context.Background(), bk.Location, target, sqlitebackup.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.PreRestoreDir != "" || len(rep.Moved) != 0 || !sameCounts(rep.RowCounts, bk.Manifest.RowCounts) {
		t.Errorf("report = %+v", rep)
	}
	_, err = sqlitebackup.Restore(context.Background(), sqlitebackup.Location{Path: target}, target, sqlitebackup.RestoreOptions{})
	wantKind(t, err, errs.Usage, "the database itself")
}

func TestListShowsWhichBackupsVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := fixture(t, 0)
	dir := t.TempDir()
	var locs []string
	for i := 0; i < 3; i++ {
		at := time.Date(2026, 11, 25+i, 3, 15, 0, 0, time.UTC)
		locs = append(locs, backupTo(t, db, dir, sqlitebackup.BackupOptions{Quick: true, Now: func() time.Time { return at }}).Location.Path)
	}
	f, _ := os.OpenFile(locs[1], os.O_RDWR, 0)
	f.WriteAt([]byte("bitrot"), 8192)
	f.Close()
	os.Remove(locs[0] + ".manifest.json")
	os.WriteFile(filepath.Join(dir, "README"), []byte("not a backup"), 0o600)

	now := time.Date(2026, 11, 28, 3, 15, 0, 0, time.UTC)
	entries, err := sqlitebackup.List(ctx, sqlitebackup.Location{Path: dir}, sqlitebackup.ListOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name+"|"+e.Status+"|"+e.Age.String())
	}
	want := []string{
		"vrwx-20261127T031500Z.db|ok|24h0m0s",
		"vrwx-20261126T031500Z.db|checksum mismatch|48h0m0s",
		"vrwx-20261125T031500Z.db|no manifest|72h0m0s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("List =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !entries[0].Verified() || entries[0].Size == 0 || entries[0].Manifest == nil {
		t.Errorf("newest entry = %+v", entries[0])
	}
	_, err = sqlitebackup.List(ctx, sqlitebackup.Location{Path: locs[2]}, sqlitebackup.ListOptions{})
	wantKind(t, err, errs.Usage, "not a directory")
}

// Every restore keeps what it replaced in a pre-restore folder; with a retention,
// only the newest folders stay, the older ones are deleted and reported, and
// folders of other names are never touched.
func TestPreRestoreFoldersAreKeptToTheNewest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := fixture(t, 0)
	bk := backupTo(t, db, t.TempDir(), sqlitebackup.BackupOptions{Quick: true})
	dir := filepath.Dir(db)
	if err := os.Mkdir(filepath.Join(dir, "pre-restore-notes"), 0o700); err != nil {
		t.Fatal(err)
	}
	var made []string
	for i := 0; i < 4; i++ {
		at := time.Date(2026, 11, 25, 3, 15+i, 0, 0, time.UTC)
		rep, err := sqlitebackup.Restore(ctx, bk.Location, db, sqlitebackup.RestoreOptions{Quick: true, KeepPreRestore: 2, Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, rep.PreRestoreDir)
		wantPruned := []string{}
		if i >= 2 {
			wantPruned = []string{made[i-2]}
		}
		if strings.Join(rep.PrunedPreRestore, ",") != strings.Join(wantPruned, ",") || rep.PruneErr != nil {
			t.Fatalf("restore %d deleted %v (%v), want %v", i+1, rep.PrunedPreRestore, rep.PruneErr, wantPruned)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "pre-restore-*"))
	want := []string{made[2], made[3], filepath.Join(dir, "pre-restore-notes")}
	sort.Strings(want)
	if strings.Join(left, ",") != strings.Join(want, ",") {
		t.Errorf("pre-restore folders left: %v, want %v", left, want)
	}
}
