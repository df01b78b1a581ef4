//go:build !unix

package sqlitebackup

import "os"

// keepOwnership gives the restored file the replaced database's mode.
func keepOwnership(old, restored string) {
	if fi, err := os.Stat(old); err == nil {
		_ = os.Chmod(restored, fi.Mode().Perm())
	}
}
