package apidb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// Why a path cannot be opened as an SQLite database. CheckFile's errors wrap one of
// these, so a caller can tell them apart with errors.Is and add advice in its own
// terms (a flag name, a command to run).
var (
	ErrNoPath     = errors.New("no database: expected the path of the API's SQLite database")
	ErrNotExist   = errors.New("does not exist")
	ErrNotRegular = errors.New("is not a regular file")
	ErrNotSQLite  = errors.New(`is not an SQLite database (no "SQLite format 3" header)`)
)

// FileError says why Path cannot be what the caller expected: the API's database or a
// backup of it (What names which, for the message).
type FileError struct {
	What string // "database", "backup"
	Path string
	Err  error // ErrNotExist, ErrNotRegular or ErrNotSQLite
}

func (e *FileError) Error() string {
	msg := e.What + " " + redact.Mask(e.Path) + " " + e.Err.Error()
	if !errors.Is(e.Err, ErrNotSQLite) {
		msg += ": expected an SQLite database file"
	}
	return msg
}

func (e *FileError) Unwrap() error { return e.Err }

// Problem is the message without the "<what> <path>" prefix.
func (e *FileError) Problem() string {
	return strings.TrimPrefix(e.Error(), e.What+" "+redact.Mask(e.Path)+" ")
}

// sqliteHeader starts every SQLite 3 database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// ResolvePath picks the database path: the one given for this run (a flag), else the
// configured one (DATABASE_PATH or the profile's database_path, already merged by
// the configuration). Neither is bad input wrapping ErrNoPath.
func ResolvePath(given, configured string) (string, error) {
	for _, p := range []string{given, configured} {
		if strings.TrimSpace(p) != "" {
			return p, nil
		}
	}
	return "", &errs.Error{Kind: errs.Usage, Err: ErrNoPath}
}

// CheckFile returns a bad-input error (errs.Usage) wrapping a *FileError unless path
// is a regular file that starts with the SQLite header. what names the file in the
// message ("database", "backup"). It opens the file itself, so call it before this
// process opens an SQLite connection to path: closing any descriptor drops the
// process's POSIX locks on that file.
func CheckFile(path, what string) error {
	bad := func(reason error) error {
		return &errs.Error{Kind: errs.Usage, Err: &FileError{What: what, Path: path, Err: reason}}
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return bad(ErrNotExist)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, redact.Mask(path), err)
	}
	if !fi.Mode().IsRegular() {
		return bad(ErrNotRegular)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, redact.Mask(path), err)
	}
	defer f.Close()
	head := make([]byte, 100)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s %s: read header: %w", what, redact.Mask(path), err)
	}
	if n < 100 || !bytes.Equal(head[:16], sqliteHeader) {
		return bad(ErrNotSQLite)
	}
	return nil
}
