package sqlitebackup

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb"
)

// Temporary files. Every file this package writes before it is complete has a
// hidden name from tempPatterns, and while the process that made it runs, it holds
// an exclusive lock on the file (lockTemp). A killed backup or restore leaves its
// files unlocked: the next run in the same directory removes them (cleanTemps), and
// db list shows them as incomplete (scanTemps). Files another running process still
// holds are left alone and shown as in progress.

// tempPatterns are the names of the files that carry the lock. Each may have
// companions that live and die with it: SQLite's -journal, -wal and -shm beside a
// temporary database, and the .gz.tmp a compressed backup is written to.
var tempPatterns = []string{".vrwx-backup-*.db.tmp", ".vrwx-restore-*.db.tmp", ".vrwx-download-*.tmp", ".vrwx-manifest-*.tmp"}

// tempGrace is how old an unlocked temporary file must be before it is removed: a
// file is created a moment before its lock is taken, and a run that has only just
// begun must not lose it to another run's cleaning.
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
		out = append(out, strings.TrimSuffix(path, ".tmp")+".gz.tmp")
	}
	return out
}

// reserveTemp creates an empty file with a unique name in dir and locks it for as
// long as this process uses it; release unlocks it (removing it is the caller's
// business). SQLite accepts an empty file as an empty database, and VACUUM INTO
// accepts it as its target.
func reserveTemp(dir, pattern string) (path string, release func(), err error) {
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
}

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
		if free, err := tempUnlocked(p); err == nil && free {
			t.Status = StatusIncomplete
		}
		out = append(out, t)
	}
	return out
}

// cleanTemps removes the temporary files in dir that no running process holds and
// that are older than tempGrace, with their companions, and returns what it removed.
// A restore's copy that an interrupted restore's journal names is kept for
// apidb.Recover, which completes the restore with it.
func cleanTemps(dir string, now time.Time) []string {
	keep := map[string]bool{}
	journals, _ := filepath.Glob(filepath.Join(dir, ".*.restore-journal"))
	for _, jp := range journals {
		db := filepath.Join(dir, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(jp), "."), ".restore-journal"))
		if j, err := apidb.ReadJournal(db); err == nil && j != nil {
			keep[j.Restored] = true
		}
	}
	var removed []string
	for _, t := range scanTemps(dir) {
		if t.Status != StatusIncomplete || now.Sub(t.ModTime) < tempGrace || keep[t.Path] {
			continue
		}
		if err := os.Remove(t.Path); err != nil {
			continue
		}
		removed = append(removed, t.Path)
		for _, c := range tempCompanions(t.Path) {
			if os.Remove(c) == nil {
				removed = append(removed, c)
			}
		}
	}
	if len(removed) > 0 {
		_ = apidb.SyncDir(dir)
	}
	return removed
}
