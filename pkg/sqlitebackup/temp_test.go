package sqlitebackup_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

// pausedBackup starts a backup in a child process and returns once it has begun
// writing its temporary file; kill ends it as a crash would.
func pausedBackup(t *testing.T, src, dst string) (kill func()) {
	t.Helper()
	spec, _ := json.Marshal(memoryOp{Op: "backup-paused", Src: src, Dst: dst})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), memoryOpEnv+"="+string(spec))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill = func() {
		if !killed {
			killed = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	t.Cleanup(kill)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "paused\n" {
		t.Fatalf("the child backup did not start copying: %q %v", line, err)
	}
	return kill
}

func tempsIn(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, ".vrwx-backup-*.db.tmp"))
	return m
}

// A backup that is still running keeps its temporary file: db list shows it in
// progress and another backup into the same directory leaves it alone, however old
// the file looks. Once that process is killed, the file is listed as incomplete and
// the next backup there removes it at once: its name carries the pid of a process
// that is gone, so no waiting and no clock is involved.
func TestTemporaryFilesOfKilledBackupsAreListedAndCleaned(t *testing.T) {
	ctx := context.Background()
	src := fixture(t, 4<<20)
	out := t.TempDir()
	kill := pausedBackup(t, src, out)
	temps := tempsIn(t, out)
	if len(temps) != 1 {
		t.Fatalf("temporary files of the running backup: %v", temps)
	}
	status := func() string {
		entries, err := sqlitebackup.List(ctx, sqlitebackup.Location{Path: out}, sqlitebackup.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Location.Path == temps[0] {
				if e.Verified() {
					t.Errorf("a temporary file is listed as a verified backup: %+v", e)
				}
				return e.Status
			}
		}
		return "not listed"
	}
	if got := status(); got != sqlitebackup.StatusInProgress {
		t.Fatalf("db list shows the running backup's file as %q", got)
	}
	// Old enough that only the lock can protect it. (The child's writer may still
	// write a chunk it had queued; only the lock matters here.)
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(temps[0], old, old); err != nil {
		t.Fatal(err)
	}
	res, err := sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: out}, sqlitebackup.BackupOptions{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cleaned) != 0 || len(tempsIn(t, out)) != 1 {
		t.Fatalf("a backup removed another running backup's file: cleaned %v", res.Cleaned)
	}

	kill()
	if got := status(); got != sqlitebackup.StatusIncomplete {
		t.Fatalf("db list shows the killed backup's file as %q", got)
	}
	res, err = sqlitebackup.Backup(ctx, src, sqlitebackup.Location{Path: out}, sqlitebackup.BackupOptions{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cleaned) != 1 || res.Cleaned[0] != temps[0] || len(tempsIn(t, out)) != 0 {
		t.Fatalf("the next backup cleaned %v; %v remain", res.Cleaned, tempsIn(t, out))
	}
}

// An unlocked temporary file whose owner still runs is a file its process has just
// created and not yet locked: it is kept until it is older than the grace period.
// One without an owner in its name (written by an older vrwxctl) is judged by age
// alone; one whose owner is gone goes at once.
func TestUnlockedTemporaryFilesAreJudgedByTheirOwner(t *testing.T) {
	dir := t.TempDir()
	src := fixture(t, 0)
	dead := deadPid(t)
	now := time.Now()
	files := map[string]time.Time{
		fmt.Sprintf(".vrwx-backup-%d-1.db.tmp", os.Getpid()): now,                     // ours, being created: kept
		fmt.Sprintf(".vrwx-backup-%d-2.db.tmp", os.Getpid()): now.Add(-2 * time.Hour), // pid reused long after: removed
		".vrwx-backup-3.db.tmp":                              now,                     // no owner, fresh: kept
		".vrwx-backup-4.db.tmp":                              now.Add(-2 * time.Hour), // no owner, old: removed
		fmt.Sprintf(".vrwx-restore-%d-5.db.tmp", dead):       now,                     // owner gone: removed at once
	}
	for name, mt := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	res, err := sqlitebackup.Backup(context.Background(), src, sqlitebackup.Location{Path: dir}, sqlitebackup.BackupOptions{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	var cleaned []string
	for _, c := range res.Cleaned {
		cleaned = append(cleaned, filepath.Base(c))
	}
	sort.Strings(cleaned)
	want := []string{fmt.Sprintf(".vrwx-backup-%d-2.db.tmp", os.Getpid()), ".vrwx-backup-4.db.tmp", fmt.Sprintf(".vrwx-restore-%d-5.db.tmp", dead)}
	sort.Strings(want)
	if strings.Join(cleaned, ",") != strings.Join(want, ",") {
		t.Errorf("cleaned %v, want %v", cleaned, want)
	}
}

// deadPid is the pid of a process that has ended.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), memoryOpEnv+`={"Op":"none"}`)
	_ = cmd.Run()
	return cmd.Process.Pid
}
