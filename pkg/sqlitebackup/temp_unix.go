//go:build unix

package sqlitebackup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockTemp takes an exclusive flock on f, held until f is closed. flock locks are
// separate from the POSIX record locks SQLite takes on the same file, so neither
// disturbs the other.
func lockTemp(f *os.File) error {
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
}

// tempUnlocked reports whether no process holds the lock on the file at path.
func tempUnlocked(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// processAlive reports whether a process with this pid exists (one of another user
// answers EPERM: it exists).
func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// canRemove says why this process could not remove the file at path: its directory
// is not writable and searchable for it, or the directory is sticky and the file is
// another user's. nil when it could.
func canRemove(path string) error {
	dir := filepath.Dir(path)
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return fmt.Errorf("directory %s is not writable by this user: %w", dir, err)
	}
	var ds, fst unix.Stat_t
	if unix.Stat(dir, &ds) != nil || unix.Lstat(path, &fst) != nil {
		return nil
	}
	uid := uint32(os.Geteuid())
	if ds.Mode&unix.S_ISVTX != 0 && uid != 0 && fst.Uid != uid && ds.Uid != uid {
		return fmt.Errorf("it belongs to uid %d in sticky directory %s", fst.Uid, dir)
	}
	return nil
}
