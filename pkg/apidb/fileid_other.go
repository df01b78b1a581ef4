//go:build !unix

package apidb

import "os"

// FileID returns "" for an existing file: this platform offers no identity that
// survives a rename, so the restore journal relies on sizes and checksums alone.
func FileID(path string) (string, error) {
	_, err := os.Stat(path)
	return "", err
}
