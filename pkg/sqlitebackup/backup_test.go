package sqlitebackup_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

// A backup taken while another process commits at 200 transactions (400 rows) per
// second is one point in time: it holds exactly the first k of the writer's commits,
// in both tables each commit touches, and the writer never fails or waits on it.
func TestBackupOfLiveDatabaseIsOnePointInTime(t *testing.T) {
	t.Parallel()
	for _, method := range []sqlitebackup.Method{sqlitebackup.MethodSnapshot, sqlitebackup.MethodBackupAPI, sqlitebackup.MethodVacuumInto} {
		t.Run(string(method), func(t *testing.T) {
			t.Parallel()
			// VACUUM INTO cannot be slowed down from outside, so it gets a bigger
			// database to give the writer time to commit during the copy.
			size := int64(16 << 20)
			if method == sqlitebackup.MethodVacuumInto {
				size = 48 << 20
			}
			src := fixture(t, size)
			out := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			const jobBase = 7_000_000
			w, err := apidbtest.StartWriter(ctx, src, 200, jobBase)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WaitCommits(ctx, 100); err != nil {
				t.Fatal(err)
			}
			before := len(w.Commits())
			steps, atCopyEnd := 0, 0
			// A checkpointer copying the log into the main file while the copy
			// reads that file: what the API's own checkpoints do.
			ckpt, err := apidb.Open(src)
			if err != nil {
				t.Fatal(err)
			}
			defer ckpt.Close()
			var backfilled int64
			res, err := sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: out}, sqlitebackup.BackupOptions{
				Method:    method,
				StepPages: 64,
				// Slow the copy down so the writer commits many times between the
				// first page copied and the last.
				Progress: func(p sqlitebackup.Progress) {
					switch {
					case p.Phase == "copy" && method == sqlitebackup.MethodBackupAPI:
						steps++
						time.Sleep(4 * time.Millisecond)
					case p.Phase == "copy" && method == sqlitebackup.MethodSnapshot:
						// One report per megabyte: the writer's pages reach the
						// log, and the checkpointer the main file, meanwhile.
						steps++
						var busy, logged, done int64
						if err := ckpt.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &done); err != nil {
							t.Errorf("checkpoint during the copy: %v", err)
						}
						backfilled = max(backfilled, done)
						time.Sleep(25 * time.Millisecond)
					case p.Phase == "check" && atCopyEnd == 0:
						atCopyEnd = len(w.Commits())
					}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			during := len(w.Commits()) - before
			if err := w.WaitCommits(ctx, len(w.Commits())+50); err != nil {
				t.Fatal(err)
			}
			commits, werrs, err := w.Stop()
			if err != nil || len(werrs) > 0 {
				t.Fatalf("the writer failed during the backup: %v %v", err, werrs)
			}
			if method == sqlitebackup.MethodSnapshot && backfilled == 0 {
				t.Fatal("no checkpoint copied a frame into the main file during the copy; the test proves less than it says")
			}
			if atCopyEnd-before < 10 {
				t.Fatalf("only %d commits landed while the copy ran (%d steps); the test proves nothing", atCopyEnd-before, steps)
			}
			t.Logf("%s: %d commits before, %d during the copy, %d during the whole backup, %d in all",
				method, before, atCopyEnd-before, during, len(commits))

			bk := res.Location.Path
			if got := sqlite3(t, bk, "PRAGMA integrity_check"); got != "ok" {
				t.Fatalf("sqlite3 integrity_check of the backup: %s", got)
			}
			if got := sqlite3(t, bk, "PRAGMA journal_mode"); got != "delete" {
				t.Errorf("backup journal_mode = %s, want delete", got)
			}
			for _, side := range []string{"-wal", "-shm", "-journal"} {
				if _, err := os.Stat(bk + side); err == nil {
					t.Errorf("backup has a %s beside it", side)
				}
			}

			db := openRO(t, bk)
			var got []string
			for _, table := range []string{"dlq_events", "job_completions"} {
				rows, err := db.Query(`SELECT job_id FROM `+table+` WHERE CAST(job_id AS INTEGER) > ? ORDER BY id`, jobBase)
				if err != nil {
					t.Fatal(err)
				}
				var jobs []string
				for rows.Next() {
					var j string
					if err := rows.Scan(&j); err != nil {
						t.Fatal(err)
					}
					jobs = append(jobs, j)
				}
				rows.Close()
				if got == nil {
					got = jobs
				}
				if strings.Join(jobs, ",") != strings.Join(got, ",") {
					t.Fatalf("%s holds writer jobs %v..., dlq_events holds %v...: not one point in time", table, head(jobs), head(got))
				}
			}
			k := len(got)
			if k < before || k > len(commits) {
				t.Fatalf("backup holds %d writer commits; %d were committed before it started, %d in all", k, before, len(commits))
			}
			for i, j := range got {
				if j != commits[i].JobID {
					t.Fatalf("backup's writer row %d is job %s, the writer's commit %d was job %s: not a prefix", i, j, i, commits[i].JobID)
				}
			}
			m := res.Manifest
			if m.RowCounts["dlq_events"] == 0 || m.JournalMode != "delete" || !m.Verify.OK || m.Verify.Check != "integrity_check" {
				t.Errorf("manifest = %+v", m)
			}
			if !sameCounts(m.RowCounts, oracleCounts(t, bk)) {
				t.Errorf("manifest row counts %v, sqlite3 counts %v", m.RowCounts, oracleCounts(t, bk))
			}
		})
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

func TestBackupWritesManifestAndNeverOverwrites(t *testing.T) {
	t.Parallel()
	src := fixture(t, 0)
	out := t.TempDir()
	ctx := context.Background()
	fixed := time.Date(2026, 11, 27, 3, 15, 0, 0, time.UTC)
	opts := sqlitebackup.BackupOptions{Now: func() time.Time { return fixed }, Quick: true}

	first, err := sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: out}, opts)
	if err != nil {
		t.Fatal(err)
	}
	second, err := sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: out}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(first.Location.Path) != "vrwx-20261127T031500Z.db" || filepath.Base(second.Location.Path) != "vrwx-20261127T031500Z-1.db" {
		t.Fatalf("names = %s, %s", first.Location.Path, second.Location.Path)
	}
	raw, err := os.ReadFile(first.Location.Path + ".manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(src)
	fi, _ := os.Stat(first.Location.Path)
	if m["source"] != abs || m["size"] != float64(fi.Size()) || m["journal_mode"] != "delete" || m["compressed"] != false ||
		m["created_at"] != "2026-11-27T03:15:00Z" || m["sqlite_version"] == "" || m["page_count"].(float64)*m["page_size"].(float64) != float64(fi.Size()) {
		t.Errorf("manifest = %s", raw)
	}
	if v := m["verify"].(map[string]any); v["check"] != "quick_check" || v["ok"] != true {
		t.Errorf("manifest verify = %v", v)
	}
	if sum := strings.Fields(mustRun(t, "sha256sum", first.Location.Path))[0]; m["sha256"] != sum {
		t.Errorf("manifest sha256 %v, sha256sum says %s", m["sha256"], sum)
	}
	if got := m["migrations"].([]any); len(got) != 7 || got[6] != "007_tenant_plans.sql" {
		t.Errorf("manifest migrations = %v", got)
	}

	// An explicit file name that exists is refused, not replaced.
	before, _ := os.ReadFile(first.Location.Path)
	_, err = sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: first.Location.Path}, opts)
	wantKind(t, err, errs.Refused, "already exists")
	after, _ := os.ReadFile(first.Location.Path)
	if string(before) != string(after) {
		t.Fatal("an existing backup was overwritten")
	}

	// An explicit new file name is used as given.
	named := filepath.Join(out, "before-migration.db")
	res, err := sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: named}, opts)
	if err != nil || res.Location.Path != named {
		t.Fatalf("backup to %s = %v, %v", named, res, err)
	}
	if _, err := os.Stat(named + ".manifest.json"); err != nil {
		t.Error(err)
	}
	for _, n := range dirNames(t, out) {
		if strings.HasPrefix(n, ".") {
			t.Errorf("temporary file %s left behind", n)
		}
	}
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func TestKeepPrunesOnlyOldBackups(t *testing.T) {
	t.Parallel()
	src := fixture(t, 0)
	out := t.TempDir()
	ctx := context.Background()
	unrelated := filepath.Join(out, "notes.txt")
	if err := os.WriteFile(unrelated, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	var made []string
	for i := 0; i < 4; i++ {
		at := time.Date(2026, 11, 20+i, 3, 15, 0, 0, time.UTC)
		res, err := sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: out}, sqlitebackup.BackupOptions{
			Quick: true, Keep: 2, Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, filepath.Base(res.Location.Path))
	}
	got := strings.Join(dirNames(t, out), ",")
	want := strings.Join([]string{"notes.txt", made[2], made[2] + ".manifest.json", made[3], made[3] + ".manifest.json"}, ",")
	if got != want {
		t.Errorf("after --keep 2: %s\nwant %s", got, want)
	}
}

func TestBadInputIsRefusedBeforeAnythingIsWritten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := fixture(t, 0)
	out := t.TempDir()

	notDB := filepath.Join(t.TempDir(), "vrwx.db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("not a database\n", 20)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := sqlitebackup.Backup(ctx, notDB, sqlitebackup.Location{Path: out}, sqlitebackup.BackupOptions{})
	wantKind(t, err, errs.Usage, notDB, "not an SQLite database")

	_, err = sqlitebackup.Backup(ctx, filepath.Join(t.TempDir(), "missing.db"), sqlitebackup.Location{Path: out}, sqlitebackup.BackupOptions{})
	wantKind(t, err, errs.Usage, "does not exist")

	_, err = sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: src}, sqlitebackup.BackupOptions{})
	wantKind(t, err, errs.Usage, "the database itself")
	// The same file reached through another spelling of its path.
	_, err = sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: filepath.Join(filepath.Dir(src), ".", "..", "data", "vrwx.db")}, sqlitebackup.BackupOptions{})
	wantKind(t, err, errs.Usage, "the database itself")

	_, err = sqlitebackup.ParseLocation("s3:///prefix")
	wantKind(t, err, errs.Usage, "no bucket")
	_, err = sqlitebackup.ParseLocation("s3://")
	wantKind(t, err, errs.Usage, "no bucket")
	if loc, err := sqlitebackup.ParseLocation("s3://vrwx-backups/prod/db"); err != nil || loc.Bucket != "vrwx-backups" || loc.Key != "prod/db" {
		t.Errorf("ParseLocation = %+v, %v", loc, err)
	}
	// A bucket S3 cannot have is bad input at once, before any request (and retry).
	for bucket, why := range map[string]string{
		"Vrwx_Backups": "not allowed", "ab": "3 to 63", "vrwx..backups": "adjacent dots", "192.168.1.10": "IP address",
		"-vrwx": "begin and end", "xn--vrwx": "reserved prefix", strings.Repeat("a", 64): "3 to 63",
	} {
		_, err = sqlitebackup.ParseLocation("s3://" + bucket + "/prod")
		wantKind(t, err, errs.Usage, "not an S3 bucket name", why)
	}

	// The library names its own inputs, never a CLI's flags; the typed error lets the
	// CLI say "--keep 0".
	err = sqlitebackup.ValidateKeep(0)
	wantKind(t, err, errs.Usage, "retention count 0: expected a number of backups to keep, at least 1")
	var ie *sqlitebackup.InputError
	if !errors.As(err, &ie) || ie.Input != sqlitebackup.InputKeep || ie.Value != "0" {
		t.Errorf("ValidateKeep(0) = %#v, want an InputError for the retention count", err)
	}
	_, err = sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: out}, sqlitebackup.BackupOptions{Keep: -1})
	wantKind(t, err, errs.Usage, "retention count -1")
	_, err = sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: filepath.Join(out, "nested", "x.db")}, sqlitebackup.BackupOptions{})
	wantKind(t, err, errs.Usage, "destination "+filepath.Join(out, "nested", "x.db")+": directory "+filepath.Join(out, "nested")+" does not exist")
	if !errors.As(err, &ie) || ie.Input != sqlitebackup.InputDestination {
		t.Errorf("missing parent directory: %#v, want an InputError for the destination", err)
	}
	if strings.Contains(err.Error(), "--") || strings.Contains(errs.FixOf(err), "--") {
		t.Errorf("library error speaks CLI: %v", err)
	}

	// A real SQLite database that is not the API's: exit 1, naming what is missing.
	other := filepath.Join(t.TempDir(), "other.db")
	sqlite3(t, other, "CREATE TABLE dlq_events(id INTEGER PRIMARY KEY); CREATE TABLE notes(x)")
	_, err = sqlitebackup.Backup(ctx, other, sqlitebackup.Location{Path: out}, sqlitebackup.BackupOptions{})
	wantKind(t, err, errs.Failed, "_migrations", "idempotency_keys", "payments")
	if !errors.Is(err, sqlitebackup.ErrNotAPIDatabase) {
		t.Errorf("%v should wrap ErrNotAPIDatabase", err)
	}
	if strings.Contains(err.Error(), "dlq_events") {
		t.Errorf("error names a table that exists: %v", err)
	}

	if names := dirNames(t, out); len(names) != 0 {
		t.Errorf("bad input left files in the destination: %v", names)
	}
}

// A backup into a filesystem that fills up midway fails with "no space" and leaves
// neither a partial backup nor a temporary file nor a manifest.
func TestBackupThatRunsOutOfSpaceLeavesNothing(t *testing.T) {
	t.Parallel()
	src := fixture(t, 4<<20)
	small := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(small, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("cannot mount a 1 MiB tmpfs for the disk-full test: %v: %s", err, out)
		}
		t.Skipf("cannot mount a 1 MiB tmpfs (needs root or CAP_SYS_ADMIN): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", small).Run() })

	for _, opts := range []sqlitebackup.BackupOptions{
		{},
		{Method: sqlitebackup.MethodVacuumInto},
		{Compression: sqlitebackup.Gzip},
	} {
		_, err := sqlitebackup.Backup(context.Background(), src, sqlitebackup.Location{Path: small}, opts)
		wantKind(t, err, errs.Failed, "no space left in "+small)
		if !errors.Is(err, sqlitebackup.ErrNoSpace) || strings.Contains(errs.FixOf(err), "--") {
			t.Errorf("%+v: %v (fix %q) should wrap ErrNoSpace and name no flag", opts, err, errs.FixOf(err))
		}
		if names := dirNames(t, small); len(names) != 0 {
			t.Fatalf("%+v: a failed backup left %v in %s", opts, names, small)
		}
	}
	// The filesystem itself works: a file that fits is written fine.
	if err := os.WriteFile(filepath.Join(small, "fits"), make([]byte, 100<<10), 0o600); err != nil {
		t.Fatalf("the small filesystem is unusable, so the test proves nothing: %v", err)
	}
}

func TestCompressedBackupRoundTrips(t *testing.T) {
	t.Parallel()
	src := fixture(t, 2<<20)
	out := t.TempDir()
	ctx := context.Background()
	res, err := sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: out}, sqlitebackup.BackupOptions{Compression: sqlitebackup.Gzip})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	if !strings.HasSuffix(res.Location.Path, ".db.gz") || !m.Compressed || m.Size >= m.DBSize || m.SHA256 == m.DBSHA256 {
		t.Fatalf("compressed backup %s: %+v", res.Location.Path, m)
	}
	// gunzip (an independent tool) gets back a database whose hash is the manifest's.
	unpacked := filepath.Join(t.TempDir(), "unpacked.db")
	if err := os.WriteFile(unpacked, []byte(mustRun(t, "gunzip", "-c", res.Location.Path)), 0o600); err != nil {
		t.Fatal(err)
	}
	if sum := strings.Fields(mustRun(t, "sha256sum", unpacked))[0]; sum != m.DBSHA256 {
		t.Errorf("unpacked sha256 %s, manifest db_sha256 %s", sum, m.DBSHA256)
	}
	if got := sqlite3(t, unpacked, "PRAGMA integrity_check"); got != "ok" {
		t.Errorf("integrity_check of unpacked backup: %s", got)
	}
	rep, err := sqlitebackup.Verify(ctx, res.Location, sqlitebackup.VerifyOptions{})
	if err != nil || !rep.OK || !rep.ChecksumOK {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
	target := filepath.Join(t.TempDir(), "vrwx.db")
	rrep, err := sqlitebackup.Restore(ctx, res.Location, target, sqlitebackup.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !sameCounts(rrep.RowCounts, m.RowCounts) || !sameCounts(oracleCounts(t, target), m.RowCounts) {
		t.Errorf("restored counts %v, manifest %v", rrep.RowCounts, m.RowCounts)
	}
}

func TestProgressIsReportedForEveryPhase(t *testing.T) {
	t.Parallel()
	src := fixture(t, 8<<20)
	for _, tc := range []struct {
		method sqlitebackup.Method
		phases []string
	}{
		{sqlitebackup.MethodSnapshot, []string{"copy", "check"}}, // hashed while copied
		{sqlitebackup.MethodBackupAPI, []string{"copy", "check", "hash"}},
	} {
		phases := map[string]int64{}
		var lastPages int64
		_, err := sqlitebackup.Backup(context.Background(), src, sqlitebackup.Location{Path: t.TempDir()}, sqlitebackup.BackupOptions{
			Method:    tc.method,
			StepPages: 128,
			Progress: func(p sqlitebackup.Progress) {
				phases[p.Phase]++
				if p.Phase == "copy" {
					if p.Pages < lastPages || p.TotalPages == 0 || p.Done > p.Total {
						t.Errorf("%s: progress went backwards or overshot: %+v", tc.method, p)
					}
					lastPages = p.Pages
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, ph := range tc.phases {
			if phases[ph] == 0 {
				t.Errorf("%s: no %q progress: %v", tc.method, ph, phases)
			}
		}
		if phases["copy"] < 5 {
			t.Errorf("%s: %d copy reports for 8 MiB, want one at least every 2 MiB", tc.method, phases["copy"])
		}
		fi, _ := os.Stat(src)
		if want := fi.Size() / 4096; lastPages < want {
			t.Errorf("%s: last progress at %d pages, the database has %d", tc.method, lastPages, want)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
