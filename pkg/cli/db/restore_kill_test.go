package db_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/cli/db"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

// killEnv makes this test binary, started again as a child, run one restore that
// kills itself with SIGKILL at the named step: a crash at that exact boundary.
const killEnv = "VRWX_DB_TEST_RESTORE_KILLED_AT"

type killSpec struct{ From, DB, At string }

func init() {
	spec := os.Getenv(killEnv)
	if spec == "" {
		return
	}
	var s killSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	_, err := sqlitebackup.Restore(context.Background(), sqlitebackup.Location{Path: s.From}, s.DB, sqlitebackup.RestoreOptions{
		AfterStep: func(step string) {
			if step == s.At {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0) // never reached the step: the test fails on the exit status
}

// restoreKilledAt runs a restore of from over dbPath in a child process that dies
// by SIGKILL at step.
func restoreKilledAt(t *testing.T, from, dbPath, step string) {
	t.Helper()
	spec, _ := json.Marshal(killSpec{From: from, DB: dbPath, At: step})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killEnv+"="+string(spec))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the restore should have died by SIGKILL at %q: %v\n%s", step, err, out)
	}
}

// crashedAPI builds the API's database at dir/vrwx.db and leaves it as an API
// killed mid-work leaves it: -wal and -shm beside it holding commits the main file
// does not have. It returns the path and the DLQ rows a reader sees.
func crashedAPI(t *testing.T, dir string) (string, int64) {
	t.Helper()
	path := filepath.Join(dir, "vrwx.db")
	fx, err := apidbtest.BuildFixture(context.Background(), path, apidbtest.FixtureOptions{JobCompletions: 30, Payments: 5})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := apidbtest.StartWriter(ctx, path, 200, 8_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WaitCommits(ctx, 25); err != nil {
		t.Fatal(err)
	}
	commits, err := w.Kill()
	if err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + side); err != nil {
			t.Fatalf("the killed writer left no %s: %v", side, err)
		}
	}
	// The writer reports a commit after it returns, so the kill can land between a
	// commit and its report: what it reported is a lower bound, and at most the one
	// transaction in flight is beyond it. The database itself says which.
	acked := fx.Counts["dlq_events"] + int64(len(commits))
	rows := dlqRows(t, path)
	if rows != acked && rows != acked+1 {
		t.Fatalf("the crashed API's database has %d DLQ rows; the writer reported %d (at most one more can be unreported)", rows, acked)
	}
	return path, rows
}

// dlqRows counts the DLQ rows of the database at path without changing its files
// (read-only: this connection cannot checkpoint the log away).
func dlqRows(t *testing.T, path string) int64 {
	t.Helper()
	d, err := apidb.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int64
	if err := d.QueryRow(`SELECT count(*) FROM dlq_events`).Scan(&n); err != nil {
		t.Fatalf("count the DLQ of %s: %v", path, err)
	}
	return n
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

// dirNames lists dir, hidden files and the contents of subdirectories included.
func dirNames(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(names, ",")
}

// A restore killed at any boundary between its steps is healed by whatever runs
// next — a dlq command, db verify, db restore — and db restore --dry-run only
// reports it. After a kill before the journal, the database is untouched and the
// leftover copy is listed as incomplete and removed by the next restore; after a
// kill anywhere later, the restore is completed: the backup is in place and the
// crashed API's files, -wal included, are in the pre-restore directory.
func TestKilledRestoreHealsAtEveryStep(t *testing.T) {
	t.Cleanup(apidbtest.Cleanup)
	e := clitest.New(t)
	bk := backup(t, e, "--db", fixture(t).Path, "--out", t.TempDir())
	want := bk.Manifest.RowCounts["dlq_events"]

	steps := []struct {
		at    string
		heal  []string // the command that runs next (DB is filled in)
		wants string   // what it tells the operator on stderr
	}{
		{sqlitebackup.StepVerified, []string{"db", "restore", "--from", bk.Location, "--db", "{db}", "--yes"}, "removed "},
		{sqlitebackup.StepJournal, []string{"dlq", "stats", "--db", "{db}", "-o", "json"}, "was completed"},
		{sqlitebackup.StepMoved + "vrwx.db-wal", []string{"db", "restore", "--from", bk.Location, "--db", "{db}", "--dry-run"}, "would be completed"},
		{sqlitebackup.StepMoved + "vrwx.db-shm", []string{"dlq", "list", "--db", "{db}", "-o", "json"}, "was completed"},
		{sqlitebackup.StepMoved + "vrwx.db", []string{"db", "verify", bk.Location}, "was completed"},
		{sqlitebackup.StepMovedAll, []string{"db", "backup", "--db", "{db}", "--out", "{out}"}, "was completed"},
		{sqlitebackup.StepRenamed, []string{"dlq", "stats", "--db", "{db}"}, "already put the backup in place"},
		{sqlitebackup.StepSynced, []string{"db", "restore", "--from", bk.Location, "--db", "{db}", "--yes"}, "already put the backup in place"},
		{sqlitebackup.StepDone, []string{"dlq", "stats", "--db", "{db}", "-o", "json"}, ""},
	}
	for _, st := range steps {
		t.Run(strings.ReplaceAll(st.at, " ", "_"), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path, original := crashedAPI(t, dir)
			e.Vars["DATABASE_PATH"] = path
			restoreKilledAt(t, bk.Location, path, st.at)
			before := dirNames(t, dir)

			journal := exists(apidb.JournalPath(path))
			if inJournal := st.at != sqlitebackup.StepVerified && st.at != sqlitebackup.StepDone; journal != inJournal {
				t.Fatalf("killed at %q: journal present = %v", st.at, journal)
			}
			temps, _ := filepath.Glob(filepath.Join(dir, ".vrwx-restore-*.db.tmp"))
			if st.at == sqlitebackup.StepVerified {
				// Nothing changed yet: the database is the crashed API's, with its log,
				// and the copy the killed run made is listed as incomplete.
				if len(temps) != 1 || dlqRows(t, path) != original {
					t.Fatalf("killed before the journal: temps %v, %d DLQ rows (want the original %d)", temps, dlqRows(t, path), original)
				}
				var list []db.ListJSON
				e.MustRun(0, "db", "list", dir, "-o", "json").JSON(t, &list)
				if len(list) != 1 || list[0].Name != filepath.Base(temps[0]) || list[0].Status != sqlitebackup.StatusIncomplete {
					t.Fatalf("db list of %s: %+v, want the leftover copy as incomplete", dir, list)
				}
				// Old enough that no run could still be creating it.
				old := time.Now().Add(-2 * time.Minute)
				if err := os.Chtimes(temps[0], old, old); err != nil {
					t.Fatal(err)
				}
			}

			args := make([]string, len(st.heal))
			for i, a := range st.heal {
				args[i] = strings.NewReplacer("{db}", path, "{out}", t.TempDir()).Replace(a)
			}
			r := e.Run(args...)
			if r.Code == 2 || r.Code == 3 || r.Code == 4 || !strings.Contains(r.Stderr, st.wants) {
				t.Fatalf("%v after a kill at %q: want it to heal and say %q:\n%s", args, st.at, st.wants, r)
			}
			restoreAgain := args[1] == "restore" && st.at != sqlitebackup.StepVerified
			if args[1] == "restore" && strings.Contains(strings.Join(args, " "), "--dry-run") {
				// A dry run changes nothing: the restore is still half done.
				restoreAgain = false
				if after := dirNames(t, dir); after != before {
					t.Fatalf("db restore --dry-run changed the interrupted restore: %s, then %s", before, after)
				}
				r = e.Run("dlq", "stats", "--db", path)
				if !strings.Contains(r.Stderr, "was completed") {
					t.Fatalf("dlq stats after the dry run did not complete the restore:\n%s", r)
				}
			}

			if exists(apidb.JournalPath(path)) {
				t.Fatalf("the journal is still there after %v", args)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".vrwx-*")); len(left) != 0 {
				t.Fatalf("temporary files left after %v: %v", args, left)
			}
			pre, _ := filepath.Glob(filepath.Join(dir, "pre-restore-*"))
			if st.at == sqlitebackup.StepVerified {
				// The healing command was itself a full restore.
				if got := dlqRows(t, path); got != want || len(pre) != 1 {
					t.Fatalf("after the next restore: %d DLQ rows (want the backup's %d), pre-restore dirs %v", got, want, pre)
				}
				return
			}
			if got := dlqRows(t, path); got != want {
				t.Fatalf("killed at %q and healed: %d DLQ rows, want the backup's %d", st.at, got, want)
			}
			// A restore as the next command first completes the interrupted one, then
			// makes its own: the crashed API's files are in the older directory.
			if wantPre := map[bool]int{false: 1, true: 2}[restoreAgain]; len(pre) != wantPre {
				t.Fatalf("pre-restore directories %v, want %d", pre, wantPre)
			}
			for _, name := range []string{"vrwx.db", "vrwx.db-wal", "vrwx.db-shm"} {
				if !exists(filepath.Join(pre[0], name)) {
					t.Errorf("%s is not in %s", name, pre[0])
				}
			}
			for _, side := range []string{"-wal", "-journal"} {
				if strings.Contains(args[0], "db") && exists(path+side) {
					t.Errorf("a %s from the old database is beside the restored one", side)
				}
			}
			// The crashed API's data, log included, is whole in the pre-restore folder.
			if got := dlqRows(t, filepath.Join(pre[0], "vrwx.db")); got != original {
				t.Errorf("the pre-restore copy has %d DLQ rows, the crashed API committed %d", got, original)
			}
		})
	}
}

// When the verified copy is gone or damaged by the time the next command runs, the
// original files go back where they were, log included, and the operator is told.
func TestKilledRestoreWithoutItsCopyPutsTheOriginalBack(t *testing.T) {
	t.Cleanup(apidbtest.Cleanup)
	e := clitest.New(t)
	bk := backup(t, e, "--db", fixture(t).Path, "--out", t.TempDir())
	for _, damage := range []string{"remove", "flip"} {
		t.Run(damage, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path, original := crashedAPI(t, dir)
			restoreKilledAt(t, bk.Location, path, sqlitebackup.StepMoved+"vrwx.db")
			temps, _ := filepath.Glob(filepath.Join(dir, ".vrwx-restore-*.db.tmp"))
			if len(temps) != 1 || exists(path) {
				t.Fatalf("killed after moving the database: temps %v, database present %v", temps, exists(path))
			}
			if damage == "remove" {
				os.Remove(temps[0])
			} else {
				f, err := os.OpenFile(temps[0], os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.WriteAt([]byte{0xff}, 5000); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
			r := e.Run("dlq", "stats", "--db", path, "-o", "json")
			if r.Code == 2 || r.Code == 3 || !strings.Contains(r.Stderr, "was undone") || !strings.Contains(r.Stderr, "the original database is back in place") {
				t.Fatalf("dlq stats after the copy was lost: want the original put back and said so:\n%s", r)
			}
			if got := dlqRows(t, path); got != original {
				t.Fatalf("%d DLQ rows after putting the original back, the crashed API committed %d (its -wal must come back too)", got, original)
			}
			left, _ := filepath.Glob(filepath.Join(dir, "*"))
			hidden, _ := filepath.Glob(filepath.Join(dir, ".*"))
			if strings.Join(left, ",") != strings.Join([]string{path, path + "-shm", path + "-wal"}, ",") || len(hidden) != 0 {
				t.Fatalf("after putting the original back the directory holds %v %v", left, hidden)
			}
		})
	}
}

// Each restore killed with SIGKILL leaves the private copy it had verified; the
// next restore removes what the dead one left before it makes its own (the owner in
// the file's name is gone: no waiting, no clock), so three killed restores leave one
// copy, db list of the database's directory shows it as incomplete, and the
// completed restore after them removes it, says so, and leaves no temporary file.
func TestKilledRestoresLeaveNothingAfterTheNextOne(t *testing.T) {
	t.Cleanup(apidbtest.Cleanup)
	e := clitest.New(t)
	fx := fixture(t)
	bk := backup(t, e, "--db", fx.Path, "--out", t.TempDir())
	dir := filepath.Dir(fx.Path)
	var left []string
	for i := range 3 {
		restoreKilledAt(t, bk.Location, fx.Path, sqlitebackup.StepVerified)
		temps, _ := filepath.Glob(filepath.Join(dir, ".vrwx-restore-*.db.tmp"))
		if len(temps) != 1 || slices.Contains(left, temps[0]) {
			t.Fatalf("after killed restore %d: %v (the one before left %v)", i+1, temps, left)
		}
		left = temps
	}
	var list []db.ListJSON
	e.MustRun(0, "db", "list", dir, "-o", "json").JSON(t, &list)
	if len(list) != 1 || list[0].Location != left[0] || list[0].Status != sqlitebackup.StatusIncomplete || !strings.Contains(list[0].Detail, "killed") {
		t.Fatalf("db list %s: %+v, want the leftover %s as incomplete", dir, list, left[0])
	}

	r := e.MustRun(0, "db", "restore", "--from", bk.Location, "--db", fx.Path, "--yes", "-o", "json")
	var out db.RestoreJSON
	r.JSON(t, &out)
	if strings.Join(out.Cleaned, ",") != left[0] || len(out.NotCleaned) != 0 || !strings.Contains(r.Stderr, "removed "+left[0]) {
		t.Fatalf("the completed restore cleaned %v (not %v), want %v:\n%s", out.Cleaned, out.NotCleaned, left, r)
	}
	if rest, _ := filepath.Glob(filepath.Join(dir, ".vrwx-*")); len(rest) != 0 {
		t.Fatalf("temporary files left after the completed restore: %v", rest)
	}
	if got := counts(t, fx.Path); !maps.Equal(got, bk.Manifest.RowCounts) {
		t.Fatalf("restored %v, the backup holds %v", got, bk.Manifest.RowCounts)
	}
}
