//go:build unix

package sqlitebackup

import (
	"errors"
	"os"

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
