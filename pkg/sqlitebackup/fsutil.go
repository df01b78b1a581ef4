package sqlitebackup

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// journalBytes returns the file-format read/write version bytes (offsets 18, 19) of
// an SQLite header: 1 means rollback journal, 2 means WAL.
func journalBytes(path string) (byte, byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	b := make([]byte, 20)
	if _, err := io.ReadFull(f, b); err != nil {
		return 0, 0, err
	}
	return b[18], b[19], nil
}

// sidecars are the files SQLite may keep beside a database.
var sidecars = []string{"-journal", "-wal", "-shm"}

// removeDBFiles removes a temporary database and any sidecar SQLite left beside it.
func removeDBFiles(path string) {
	os.Remove(path)
	for _, s := range sidecars {
		os.Remove(path + s)
	}
}

// syncFile fsyncs path's data to stable storage.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return nil
}

// publishNoReplace moves tmp to final only if final does not exist. A hard link
// fails atomically with EEXIST where rename would silently replace an older backup;
// where the filesystem has no hard links it falls back to check-then-rename.
func publishNoReplace(tmp, final string) error {
	err := os.Link(tmp, final)
	if err == nil {
		return os.Remove(tmp)
	}
	if errors.Is(err, fs.ErrExist) {
		return fs.ErrExist
	}
	if _, serr := os.Lstat(final); serr == nil {
		return fs.ErrExist
	}
	return os.Rename(tmp, final)
}

// hashFile returns the size and hex sha256 of path, reporting progress.
func hashFile(path string, progress func(done int64)) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, &progressReader{r: f, fn: progress})
	if err != nil {
		return 0, "", fmt.Errorf("hash %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// progressReader reports the bytes read so far every few megabytes.
type progressReader struct {
	r    io.Reader
	fn   func(int64)
	n    int64
	last int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.fn != nil && (p.n-p.last >= 8<<20 || err == io.EOF) {
		p.last = p.n
		p.fn(p.n)
	}
	return n, err
}

// sameFile reports whether a and b name the same file, by identity when both exist
// and by cleaned absolute path otherwise.
func sameFile(a, b string) bool {
	ai, aerr := os.Stat(a)
	bi, berr := os.Stat(b)
	if aerr == nil && berr == nil {
		return os.SameFile(ai, bi)
	}
	aa, err1 := filepath.Abs(a)
	ba, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == ba
}
