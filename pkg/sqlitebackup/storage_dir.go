package sqlitebackup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// dirStorage keeps backups as files in one local directory.
type dirStorage struct{ dir string }

func (d *dirStorage) Location() Location          { return Location{Path: d.dir} }
func (d *dirStorage) Locate(name string) Location { return Location{Path: filepath.Join(d.dir, name)} }
func (d *dirStorage) Staging() string             { return d.dir }

func (d *dirStorage) List(ctx context.Context) ([]Object, error) {
	fi, err := os.Stat(d.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("backup directory %s does not exist: %w", redact.Mask(d.dir), fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("backup directory %s: %w", d.dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: %w", d.dir, errNotAFolder)
	}
	des, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.dir, err)
	}
	var out []Object
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue // gone since the listing
		}
		out = append(out, Object{Name: de.Name(), Size: fi.Size(), ModTime: fi.ModTime(), Path: filepath.Join(d.dir, de.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// errNotAFolder: a listing was asked of a file.
var errNotAFolder = errors.New("not a directory")

func (d *dirStorage) Stat(ctx context.Context, name string) (Object, error) {
	p := filepath.Join(d.dir, name)
	fi, err := os.Stat(p)
	if errors.Is(err, syscall.ENOTDIR) {
		return Object{}, fmt.Errorf("%s: %w", p, fs.ErrNotExist) // the "directory" is a file
	}
	if err != nil {
		return Object{}, err
	}
	if fi.IsDir() {
		return Object{}, fmt.Errorf("%s: %w", p, errNotAnObject)
	}
	return Object{Name: name, Size: fi.Size(), ModTime: fi.ModTime(), Path: p}, nil
}

func (d *dirStorage) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(d.dir, name))
}

// Write links path into place when it is already in the directory (the backup was
// built there); otherwise it copies it into a locked temporary file there first.
// Either way the final name appears atomically and complete, and never replaces a
// file.
func (d *dirStorage) Write(ctx context.Context, name, path string, opts WriteOptions) error {
	final := filepath.Join(d.dir, name)
	src := path
	if !sameFile(filepath.Dir(path), d.dir) {
		tmp, release, err := reserveTemp(d.dir, ".vrwx-write-*.tmp")
		if err != nil {
			return err
		}
		defer release()
		defer os.Remove(tmp)
		if err := copyFileInto(path, tmp); err != nil {
			return fmt.Errorf("write %s: %w", final, describeIOError(err, d.dir))
		}
		src = tmp
	}
	if err := publishNoReplace(src, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("publish %s: %w", final, err)
	}
	return apidb.SyncDir(d.dir)
}

func (d *dirStorage) Delete(ctx context.Context, name string) error {
	if err := os.Remove(filepath.Join(d.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return apidb.SyncDir(d.dir)
}

func (d *dirStorage) Digest(ctx context.Context, name string) (string, error) {
	_, sum, err := hashFile(filepath.Join(d.dir, name), nil)
	return sum, err
}

// Leftovers lists temporary files (in progress while their process holds them,
// incomplete once it is gone) and restore journals.
func (d *dirStorage) Leftovers(ctx context.Context) []Entry {
	var out []Entry
	for _, t := range scanTemps(d.dir) {
		e := Entry{Name: filepath.Base(t.Path), Location: Location{Path: t.Path}, Size: t.Size, CreatedAt: t.ModTime.UTC(), Status: t.Status}
		switch {
		case t.Status == StatusInProgress:
			e.Detail = "a running backup or restore is writing it"
		case t.RemoveErr != "":
			e.Detail = "left by a backup or restore that was killed, and it cannot be removed: " + t.RemoveErr
		default:
			e.Detail = "left by a backup or restore that was killed; the next backup or restore here removes it"
		}
		out = append(out, e)
	}
	journals, _ := filepath.Glob(filepath.Join(d.dir, ".*.restore-journal"))
	for _, jp := range journals {
		db := filepath.Join(d.dir, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(jp), "."), ".restore-journal"))
		e := Entry{Name: filepath.Base(jp), Location: Location{Path: jp}, Status: StatusInterrupted}
		if fi, err := os.Stat(jp); err == nil {
			e.Size, e.CreatedAt = fi.Size(), fi.ModTime().UTC()
		}
		if j, err := apidb.ReadJournal(db); err == nil && j != nil {
			e.CreatedAt = j.StartedAt
			e.Detail = fmt.Sprintf("the restore of %s from %s stopped halfway; the next command that opens the database completes or undoes it", j.DB, j.Backup)
		} else {
			e.Detail = fmt.Sprintf("unreadable: %v", err)
		}
		out = append(out, e)
	}
	return out
}

// newDirDestination decides whether out is a directory or a file: an existing
// directory, or a path ending in a separator, or a path that does not exist and has
// no extension is a directory (created if needed); anything else is the backup
// file, returned as fixed. src is the database being backed up, which out must not
// be.
func newDirDestination(src, out string, keep int) (st *dirStorage, fixed string, err error) {
	if sameFile(src, out) || sameFile(src+"-wal", out) || sameFile(src+"-shm", out) || sameFile(src+"-journal", out) {
		return nil, "", badInput(InputDestination, out, "is the database itself: expected a backup directory or a new file name")
	}
	fi, err := os.Stat(out)
	switch {
	case err == nil && fi.IsDir():
		return &dirStorage{dir: out}, "", nil
	case err == nil:
		return nil, "", errs.Refusedf("backup file %s already exists; vrwxctl never overwrites a backup", out).
			WithFix("choose a new file name, or pass a directory to get a time-stamped name")
	case !errors.Is(err, fs.ErrNotExist):
		return nil, "", fmt.Errorf("backup destination %s: %w", out, err)
	}
	if strings.HasSuffix(out, string(os.PathSeparator)) || filepath.Ext(out) == "" {
		if err := os.MkdirAll(out, 0o700); err != nil {
			return nil, "", fmt.Errorf("create backup directory %s: %w", out, err)
		}
		return &dirStorage{dir: out}, "", nil
	}
	if keep > 0 {
		return nil, "", badInput(InputDestination, out, "is a file: retention needs a backup directory or s3:// prefix")
	}
	parent := filepath.Dir(out)
	if pi, err := os.Stat(parent); err != nil || !pi.IsDir() {
		return nil, "", badInput(InputDestination, out, ": directory "+parent+" does not exist")
	}
	return &dirStorage{dir: parent}, filepath.Base(out), nil
}

// copyFileInto copies src over the existing file dst and fsyncs it.
func copyFileInto(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
