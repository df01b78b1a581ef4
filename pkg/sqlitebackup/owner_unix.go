//go:build unix

package sqlitebackup

import (
	"os"
	"syscall"
)

// keepOwnership gives the restored file the replaced database's mode and, when we
// may, its owner, so the API (often a different user) can still open it.
func keepOwnership(old, restored string) {
	fi, err := os.Stat(old)
	if err != nil {
		return
	}
	_ = os.Chmod(restored, fi.Mode().Perm())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		_ = os.Chown(restored, int(st.Uid), int(st.Gid))
	}
}
