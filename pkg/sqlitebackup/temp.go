package sqlitebackup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb"
)

// Temporary files. Every file this package writes before it is complete has a
// hidden name from tempPatterns that carries the pid of the process that made it,
// and while that process runs it holds an exclusive lock on the file (lockTemp). A
// killed backup or restore leaves its files unlocked: the next run in the same
// directory removes them (cleanTemps), and db list shows them as incomplete
// (scanTemps). Files another running process still holds are left alone and shown
// as in progress.

// tempPatterns are the names of the files that carry the lock ('*' is the owner's
// pid, a dash and a random part). Each may have companions that live and die with
// it: SQLite's -journal, -wal and -shm beside a temporary database, the .gz.tmp a
// compressed backup is written to, and the file (and litestream's own .tmp) a
// restore from a litestream replica writes.
var tempPatterns = []string{".vrwx-backup-*.db.tmp", ".vrwx-restore-*.db.tmp", ".vrwx-download-*.tmp", ".vrwx-manifest-*.tmp", ".vrwx-write-*.tmp"}

// tempOwner reads the owner's pid from a temporary file's name (no match: a name
// from before pids were recorded). Compiled on first use: start-up pays nothing.
var tempOwner = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\.vrwx-[a-z]+-([0-9]+)-`) })

// tempGrace is how old an unlocked temporary file must be before it is removed
// while the pid in its name runs (or is unknown): a file is created a moment before
// its lock is taken, and a run that has only just begun must not lose it to another
// run's cleaning. A file whose owner is gone is removed at once.
const tempGrace = time.Minute

// A temporary file is in one of two states, as db list reports it.
const (
	StatusIncomplete = "incomplete"  // left by a run that was killed or crashed
	StatusInProgress = "in progress" // a running process still writes or checks it
)

func isTempOwner(name string) bool {
	for _, p := range tempPatterns {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
	}
	return false
}

// tempCompanions are the files that belong to the temporary file at path.
func tempCompanions(path string) []string {
	out := []string{path + "-journal", path + "-wal", path + "-shm"}
	if strings.HasSuffix(path, ".db.tmp") {
		out = append(out, strings.TrimSuffix(path, ".tmp")+".gz.tmp", path+litestreamSuffix, path+litestreamSuffix+".tmp")
	}
	return out
}

// reserveTemp creates an empty file with a unique name in dir and locks it for as
// long as this process uses it; release unlocks it (removing it is the caller's
// business). SQLite accepts an empty file as an empty database, and VACUUM INTO
// accepts it as its target.
func reserveTemp(dir, pattern string) (path string, release func(), err error) {
	pattern = strings.Replace(pattern, "*", strconv.Itoa(os.Getpid())+"-*", 1)
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", nil, fmt.Errorf("create temporary file in %s: %w", dir, err)
	}
	if err := lockTemp(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", nil, fmt.Errorf("lock temporary file %s: %w", f.Name(), err)
	}
	return f.Name(), func() { f.Close() }, nil
}

// TempFile is a temporary file found in a directory.
type TempFile struct {
	Path    string
	Size    int64
	ModTime time.Time
	Status  string // StatusIncomplete or StatusInProgress
	// Owner is the pid of the process that made it (0: unknown), OwnerGone whether
	// that process has ended.
	Owner     int
	OwnerGone bool
	// RemoveErr says why this process cannot remove an incomplete file (a
	// directory it may not write, a file of another user in a sticky directory),
	// or why the last attempt failed; "" when it can.
	RemoveErr string
}

// Leftovers are the temporary files in dir: those of running processes (in
// progress) and those that killed runs left (incomplete), each incomplete one with
// why this process could not remove it, if it could not.
func Leftovers(dir string) []TempFile { return scanTemps(dir) }

// scanTemps lists the temporary files in dir and whether a running process holds
// each.
func scanTemps(dir string) []TempFile {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []TempFile
	for _, d := range des {
		if !d.Type().IsRegular() || !isTempOwner(d.Name()) {
			continue
		}
		p := filepath.Join(dir, d.Name())
		fi, err := d.Info()
		if err != nil {
			continue
		}
		t := TempFile{Path: p, Size: fi.Size(), ModTime: fi.ModTime(), Status: StatusInProgress}
		if m := tempOwner().FindStringSubmatch(d.Name()); m != nil {
			t.Owner, _ = strconv.Atoi(m[1])
			t.OwnerGone = t.Owner > 0 && !processAlive(t.Owner)
		}
		if free, err := tempUnlocked(p); err == nil && free {
			t.Status = StatusIncomplete
			if err := canRemove(p); err != nil {
				t.RemoveErr = err.Error()
			}
		}
		out = append(out, t)
	}
	return out
}

// removable reports whether cleaning may take t: nobody holds it, and its owner is
// gone or it is older than tempGrace.
func (t TempFile) removable(now time.Time) bool {
	if t.Status != StatusIncomplete {
		return false
	}
	return t.OwnerGone || now.Sub(t.ModTime) >= tempGrace
}

// cleanTemps removes the temporary files in dir that no running process holds and
// whose owner is gone (or that are older than tempGrace), with their companions. It
// returns what it removed, and the leftovers it could not remove with the reason.
// A restore's copy that an interrupted restore's journal names is kept for
// apidb.Recover, which completes the restore with it.
func cleanTemps(dir string, now time.Time) (removed []string, stuck []TempFile) {
	keep := map[string]bool{}
	journals, _ := filepath.Glob(filepath.Join(dir, ".*.restore-journal"))
	for _, jp := range journals {
		db := filepath.Join(dir, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(jp), "."), ".restore-journal"))
		if j, err := apidb.ReadJournal(db); err == nil && j != nil {
			keep[j.Restored] = true
		}
	}
	for _, t := range scanTemps(dir) {
		if !t.removable(now) || keep[t.Path] {
			continue
		}
		if err := os.Remove(t.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.RemoveErr = err.Error()
			stuck = append(stuck, t)
			continue
		}
		removed = append(removed, t.Path)
		for _, c := range tempCompanions(t.Path) {
			if keep[c] {
				continue
			}
			if os.Remove(c) == nil {
				removed = append(removed, c)
			}
		}
	}
	if len(removed) > 0 {
		_ = apidb.SyncDir(dir)
	}
	return removed, stuck
}
