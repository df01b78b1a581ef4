package db_test

import (
	"context"
	"database/sql"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/db"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

func TestMain(m *testing.M) {
	// The S3 test's SDK client, like the CLI's, reads credentials from the process
	// environment. They are set once for the whole process, never changed by a test,
	// so that test can run in parallel with the others.
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIAVRWXTEST", "AWS_SECRET_ACCESS_KEY": "vrwx-test-secret", "AWS_REGION": "us-east-1",
		"AWS_CONFIG_FILE": "/nonexistent/vrwx-aws-config", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/vrwx-aws-credentials",
	} {
		os.Setenv(k, v)
	}
	clitest.Main(m)
}

// fixture builds a small API database in its own directory.
func fixture(t *testing.T) *apidbtest.Fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fx, err := apidbtest.BuildFixture(context.Background(), filepath.Join(dir, "vrwx.db"), apidbtest.FixtureOptions{JobCompletions: 40, Payments: 10})
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

func counts(t *testing.T, path string) map[string]int64 {
	t.Helper()
	d, err := apidb.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c, err := apidb.RowCounts(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func backup(t *testing.T, e *clitest.Env, args ...string) db.BackupJSON {
	t.Helper()
	var out db.BackupJSON
	e.MustRun(0, append(append([]string{"db", "backup"}, args...), "-o", "json")...).JSON(t, &out)
	return out
}

// A backup taken while a separate process commits 200 transactions a second is
// consistent (every writer transaction inserts one row into each of two tables, so
// the copy holds as many of one as of the other), verifies, and the writer never
// fails. A restore is refused while the writer has the database open and succeeds
// after it stops, keeping the replaced files.
func TestBackupWhileWritingThenRestore(t *testing.T) {
	t.Parallel()
	t.Cleanup(apidbtest.Cleanup)
	e := clitest.New(t)
	fx := fixture(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w, err := apidbtest.StartWriter(ctx, fx.Path, 200, 1_000_000_000)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			w.Kill()
		}
	}()
	if err := w.WaitCommits(ctx, 40); err != nil {
		t.Fatal(err)
	}

	b := backup(t, e, "--db", fx.Path, "--out", out)
	m := b.Manifest
	if !m.Verify.OK || m.JournalMode != "delete" || len(m.MissingMigrations) != 0 || filepath.Dir(b.Location) != out {
		t.Fatalf("manifest %+v at %s", m, b.Location)
	}
	if _, err := os.Stat(b.Location + sqlitebackup.ManifestSuffix); err != nil {
		t.Fatalf("no manifest beside the backup: %v", err)
	}
	got := counts(t, b.Location)
	dlqNew := got["dlq_events"] - fx.Counts["dlq_events"]
	jcNew := got["job_completions"] - fx.Counts["job_completions"]
	if dlqNew < 40 || dlqNew != jcNew {
		t.Fatalf("backup is not one point in time: %d writer rows in dlq_events, %d in job_completions", dlqNew, jcNew)
	}
	for table, n := range m.RowCounts {
		if got[table] != n {
			t.Fatalf("manifest says %s has %d rows, the file has %d", table, n, got[table])
		}
	}
	r := e.MustRun(0, "db", "verify", b.Location)
	if !strings.Contains(r.Stdout, "OK") {
		t.Fatalf("verify output:\n%s", r)
	}
	// db commands have no deadline unless the operator sets one (a backup grows
	// with the database); one that has passed stops the check with exit 4.
	if r := e.Run("db", "verify", b.Location, "--timeout", "1ns"); r.Code != 4 {
		t.Fatalf("verify with an expired --timeout: want exit 4:\n%s", r)
	}

	// The writer still holds the database: refused, nothing moved.
	r = e.Run("db", "restore", "--from", b.Location, "--db", fx.Path, "--yes")
	if r.Code != 3 || !strings.Contains(r.Stderr, "open") || !strings.Contains(r.Stderr, "--force") {
		t.Fatalf("restore while the writer runs: want exit 3 naming the holder:\n%s", r)
	}
	if pre, _ := filepath.Glob(filepath.Join(filepath.Dir(fx.Path), "pre-restore-*")); len(pre) != 0 {
		t.Fatalf("a refused restore created %v", pre)
	}
	// Without --yes and without a terminal: refused before anything is checked.
	if r := e.Run("db", "restore", "--from", b.Location, "--db", fx.Path); r.Code != 3 || !strings.Contains(r.Stderr, "--yes") {
		t.Fatalf("restore without --yes: want exit 3:\n%s", r)
	}

	commits, werrs, err := w.Stop()
	stopped = true
	if err != nil || len(werrs) != 0 {
		t.Fatalf("the writer failed during the backup: %v %v", err, werrs)
	}
	if len(commits) < int(dlqNew) {
		t.Fatalf("backup holds %d writer rows, the writer committed only %d", dlqNew, len(commits))
	}

	r = e.MustRun(0, "db", "restore", "--from", b.Location, "--db", fx.Path, "--yes")
	pre, _ := filepath.Glob(filepath.Join(filepath.Dir(fx.Path), "pre-restore-*"))
	if len(pre) != 1 || !strings.Contains(r.Stdout, pre[0]) {
		t.Fatalf("want one pre-restore folder named in the output, got %v:\n%s", pre, r)
	}
	if _, err := os.Stat(filepath.Join(pre[0], "vrwx.db")); err != nil {
		t.Fatalf("the replaced database is not in %s: %v", pre[0], err)
	}
	for _, table := range []string{"dlq_events", "job_completions"} {
		want := table + " "
		if !strings.Contains(r.Stdout, want) || !strings.Contains(r.Stdout, " "+itoa(m.RowCounts[table])) {
			t.Fatalf("restore output lacks the row count of %s (%d):\n%s", table, m.RowCounts[table], r)
		}
	}
	after := counts(t, fx.Path)
	for table, n := range m.RowCounts {
		if after[table] != n {
			t.Fatalf("restored %s has %d rows, the backup %d", table, after[table], n)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestBackupBadInput(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	fx := fixture(t)
	out := t.TempDir()
	notDB := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notDB, []byte("this is not a database, just some text long enough to have a header"), 0o600); err != nil {
		t.Fatal(err)
	}
	// An SQLite file that is not the API's: one unrelated table.
	other := filepath.Join(t.TempDir(), "other.db")
	d, err := sql.Open(apidb.DriverName, apidb.DSN(other))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`CREATE TABLE things (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	d.Close()

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--db", fx.Path, "--out", out, "--keep", "0"}, 2, "--keep 0"},
		{[]string{"--db", fx.Path, "--out", fx.Path}, 2, "the database itself"},
		{[]string{"--db", notDB, "--out", out}, 2, "not an SQLite database"},
		{[]string{"--db", filepath.Join(out, "missing.db"), "--out", out}, 2, "does not exist"},
		{[]string{"--db", fx.Path, "--out", "s3:///prefix"}, 2, "no bucket"},
		{[]string{"--db", fx.Path, "--out", out, "--compress", "zstd"}, 2, "zstd"},
		{[]string{"--db", other, "--out", out}, 1, "dlq_events"},
		{[]string{"--db", fx.Path}, 2, "--out"},
	} {
		r := e.Run(append([]string{"db", "backup"}, tc.args...)...)
		if r.Code != tc.code || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("want exit %d mentioning %q:\n%s", tc.code, tc.want, r)
		}
	}
	if left, _ := os.ReadDir(out); len(left) != 0 {
		t.Fatalf("bad input wrote %d files into %s: %v", len(left), out, left[0].Name())
	}
}

// A backup with flipped bytes is refused by verify (exit 1, problems listed), shown
// as a checksum mismatch by list, and refused by restore.
func TestVerifyTamperedAndList(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	fx := fixture(t)
	out := t.TempDir()
	e.Now = func() time.Time { return time.Date(2026, 11, 27, 3, 15, 0, 0, time.UTC) }
	good := backup(t, e, "--db", fx.Path, "--out", out)
	e.Now = func() time.Time { return time.Date(2026, 11, 28, 3, 15, 0, 0, time.UTC) }
	bad := backup(t, e, "--db", fx.Path, "--out", out, "--compress", "gzip")
	if filepath.Base(good.Location) != "vrwx-20261127T031500Z.db" || !strings.HasSuffix(bad.Location, ".db.gz") {
		t.Fatalf("backup names %s, %s", good.Location, bad.Location)
	}
	fh, err := os.OpenFile(bad.Location, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteAt([]byte{0xde, 0xad, 0xbe, 0xef}, bad.Manifest.Size/2); err != nil {
		t.Fatal(err)
	}
	fh.Close()

	r := e.Run("db", "verify", bad.Location)
	if r.Code != 1 || !strings.Contains(r.Stdout, "PROBLEMS") || !strings.Contains(r.Stdout, "checksum") || !strings.Contains(r.Stderr, "does not verify") {
		t.Fatalf("verify of a tampered backup: want exit 1 listing the checksum problem:\n%s", r)
	}
	var vj db.VerifyJSON
	r = e.Run("db", "verify", bad.Location, "-o", "json")
	r.JSON(t, &vj)
	if r.Code != 1 || vj.OK || vj.ChecksumOK || len(vj.Problems) == 0 {
		t.Fatalf("verify -o json of a tampered backup: %+v\n%s", vj, r)
	}
	e.MustRun(0, "db", "verify", good.Location, "-o", "json").JSON(t, &vj)
	if !vj.OK || !vj.ChecksumOK || vj.JournalMode != "delete" || len(vj.Migrations) != 7 {
		t.Fatalf("verify of the good backup: %+v", vj)
	}

	var list []db.ListJSON
	e.MustRun(0, "db", "list", out, "-o", "json").JSON(t, &list)
	if len(list) != 2 || list[0].Name != filepath.Base(bad.Location) || list[0].Status != sqlitebackup.StatusChecksumMismatch || list[0].Verified ||
		list[1].Name != filepath.Base(good.Location) || list[1].Status != sqlitebackup.StatusOK || !list[1].Verified || list[1].AgeSeconds != 24*3600 {
		t.Fatalf("list: %+v", list)
	}
	r = e.MustRun(0, "db", "list", out)
	if !strings.Contains(r.Stdout, "NAME") || !strings.Contains(r.Stdout, "checksum mismatch") || !strings.Contains(r.Stdout, "1d") {
		t.Fatalf("list text:\n%s", r)
	}
	var empty []db.ListJSON
	r = e.MustRun(0, "db", "list", t.TempDir(), "-o", "json")
	if r.JSON(t, &empty); empty == nil || len(empty) != 0 || strings.TrimSpace(r.Stdout) != "[]" {
		t.Fatalf("empty list: %q", r.Stdout)
	}

	before := counts(t, fx.Path)
	r = e.Run("db", "restore", "--from", bad.Location, "--db", fx.Path, "--yes")
	if r.Code == 0 || !strings.Contains(r.Stderr, "does not verify") {
		t.Fatalf("restore of a tampered backup must be refused:\n%s", r)
	}
	if after := counts(t, fx.Path); after["dlq_events"] != before["dlq_events"] {
		t.Fatalf("a refused restore changed the database")
	}

	// --keep 1 after a third backup leaves only the newest.
	e.Now = func() time.Time { return time.Date(2026, 11, 29, 3, 15, 0, 0, time.UTC) }
	third := backup(t, e, "--db", fx.Path, "--out", out, "--keep", "1")
	if len(third.Pruned) != 2 {
		t.Fatalf("--keep 1 pruned %v", third.Pruned)
	}
	e.MustRun(0, "db", "list", out, "-o", "json").JSON(t, &list)
	if len(list) != 1 || list[0].Location != third.Location {
		t.Fatalf("after --keep 1: %+v", list)
	}
}

// Backup, list, verify and restore through the real AWS SDK against an in-process
// S3-compatible server.
func TestS3RoundTrip(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	fx := fixture(t)
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	c, err := sqlitebackup.NewS3Client(context.Background(), sqlitebackup.S3Config{Region: "us-east-1", Endpoint: srv.URL, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("vrwx-backups")}); err != nil {
		t.Fatal(err)
	}
	s3flags := []string{"--s3-endpoint", srv.URL, "--s3-path-style"}
	b := backup(t, e, append([]string{"--db", fx.Path, "--out", "s3://vrwx-backups/prod", "--compress", "gzip"}, s3flags...)...)
	if !strings.HasPrefix(b.Location, "s3://vrwx-backups/prod/vrwx-") {
		t.Fatalf("location %s", b.Location)
	}
	var list []db.ListJSON
	e.MustRun(0, append([]string{"db", "list", "s3://vrwx-backups/prod", "-o", "json"}, s3flags...)...).JSON(t, &list)
	if len(list) != 1 || list[0].Location != b.Location || !list[0].Verified {
		t.Fatalf("list: %+v", list)
	}
	e.MustRun(0, append([]string{"db", "verify", b.Location}, s3flags...)...)
	// Change the database, then restore it from S3.
	d, err := apidb.Open(fx.Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`DELETE FROM dlq_events`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	var rj db.RestoreJSON
	e.MustRun(0, append([]string{"db", "restore", "--from", b.Location, "--db", fx.Path, "--yes", "-o", "json"}, s3flags...)...).JSON(t, &rj)
	if rj.PreRestoreDir == "" || rj.RowCounts["dlq_events"] != b.Manifest.RowCounts["dlq_events"] || counts(t, fx.Path)["dlq_events"] != b.Manifest.RowCounts["dlq_events"] {
		t.Fatalf("restore from S3: %+v", rj)
	}
}

// A backup taken while the API was relaying holds PENDING idempotency keys: the
// restore lists each with what the restored API will do with it (202 for a key
// under two minutes old, a new relay after that). The newest --keep-pre-restore
// folders stay and the deletion of older ones is reported; db list without an
// argument lists the profile's backup_location.
func TestRestoreReportsPendingRelaysAndPrunesPreRestoreFolders(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	fx := fixture(t)
	w, err := apidb.Open(fx.Path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for job, created := range map[string]time.Time{"9001": now.Add(-10 * time.Second), "9002": now.Add(-time.Hour)} {
		if _, err := w.Exec(`INSERT INTO idempotency_keys(key, status, request_hash, created_at, updated_at, ttl_expires_at) VALUES (?, 'PENDING', '0xabc', ?, ?, ?)`,
			"base:31337:job:"+job, created.UnixMilli(), created.UnixMilli(), created.Add(24*time.Hour).UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	backups := t.TempDir()
	bk := backup(t, e, "--db", fx.Path, "--out", backups)

	e.Vars["VRWX_BACKUP_LOCATION"] = backups
	var list []db.ListJSON
	e.MustRun(0, "db", "list", "-o", "json").JSON(t, &list)
	if len(list) != 1 || list[0].Location != bk.Location || !list[0].Verified {
		t.Fatalf("db list with backup_location %s: %+v", backups, list)
	}
	delete(e.Vars, "VRWX_BACKUP_LOCATION")
	e.MustRun(2, "db", "list")

	var first, second db.RestoreJSON
	e.MustRun(0, "db", "restore", "--from", bk.Location, "--db", fx.Path, "--yes", "--keep-pre-restore", "1", "-o", "json").JSON(t, &first)
	r := e.MustRun(0, "db", "restore", "--from", bk.Location, "--db", fx.Path, "--yes", "--keep-pre-restore", "1")
	if !strings.Contains(r.Stderr, "removed old "+first.PreRestoreDir) || !strings.Contains(r.Stderr, "2 idempotency key(s) are PENDING") ||
		!strings.Contains(r.Stderr, "job 9002") || !strings.Contains(r.Stderr, "STUCK_TIMEOUT") {
		t.Fatalf("the second restore did not report the deleted folder and the PENDING keys:\n%s", r)
	}
	e.MustRun(0, "db", "restore", "--from", bk.Location, "--db", fx.Path, "--yes", "--keep-pre-restore", "1", "-o", "json").JSON(t, &second)
	if len(second.PrunedPreRestore) != 1 || second.PreRestoreDir == "" {
		t.Fatalf("third restore: pre-restore %q, pruned %v", second.PreRestoreDir, second.PrunedPreRestore)
	}
	if pre, _ := filepath.Glob(filepath.Join(filepath.Dir(fx.Path), "pre-restore-*")); len(pre) != 1 || pre[0] != second.PreRestoreDir {
		t.Fatalf("pre-restore folders %v, want only %s", pre, second.PreRestoreDir)
	}
	got := map[string]db.PendingJSON{}
	for _, p := range first.Pending {
		got[p.JobID] = p
	}
	if len(got) != 2 || !got["9002"].Stuck || got["9001"].Stuck || got["9002"].AgeSeconds < 3600 ||
		!strings.Contains(got["9002"].APIAction, "relays it again") || !strings.Contains(got["9001"].APIAction, `202 "in progress"`) {
		t.Fatalf("pendingIdempotency %+v", first.Pending)
	}
}
