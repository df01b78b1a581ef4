//go:build unix

package apidb

import (
	"fmt"
	"os"
	"syscall"
)

// FileID returns an identity of the file at path that survives a rename: its
// device and inode.
func FileID(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", st.Dev, st.Ino), nil
	}
	return "", nil
}
