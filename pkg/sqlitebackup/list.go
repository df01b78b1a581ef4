package sqlitebackup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// Entry statuses reported by List.
const (
	StatusOK               = "ok"
	StatusNoManifest       = "no manifest"
	StatusBadManifest      = "bad manifest"
	StatusChecksumMismatch = "checksum mismatch"
	StatusSizeMismatch     = "size mismatch"
	// StatusInterrupted marks a restore journal: a restore of a database in this
	// directory stopped halfway, and the next command that opens it finishes it.
	StatusInterrupted = "interrupted restore"
)

// Entry is one backup found by List.
type Entry struct {
	Name       string
	Location   Location
	Size       int64
	CreatedAt  time.Time // from the manifest, else from the name, else the file's mtime
	Age        time.Duration
	Compressed bool
	Manifest   *Manifest // nil without a readable manifest
	// Status says whether the stored bytes match the manifest: StatusOK or one of
	// the other Status* values. Locally the file is hashed; on S3 the object's size
	// and sha256 metadata are compared with the manifest (no download: use Verify
	// for the full check).
	Status string
	Detail string
}

// Verified reports whether the entry's bytes matched its manifest.
func (e Entry) Verified() bool { return e.Status == StatusOK }

// ListOptions tunes List.
type ListOptions struct {
	S3  *s3.Client
	Now func() time.Time
}

// List returns the backups in a directory or under an S3 prefix, newest first:
// vrwx-*.db[.gz] files, and any other file that has a manifest beside it. In a
// directory it also lists what interrupted runs left: temporary files
// (StatusIncomplete, or StatusInProgress while their process runs) and restore
// journals (StatusInterrupted).
func List(ctx context.Context, loc Location, opts ListOptions) ([]Entry, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var entries []Entry
	var err error
	if loc.IsS3() {
		entries, err = listS3(ctx, loc, opts)
	} else {
		entries, err = listLocal(ctx, loc)
	}
	if err != nil {
		return nil, err
	}
	now := opts.Now()
	for i := range entries {
		entries[i].Age = now.Sub(entries[i].CreatedAt).Truncate(time.Second)
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].CreatedAt.After(entries[j].CreatedAt) })
	return entries, nil
}

// candidates picks backup files out of a directory listing: names of our pattern
// and names with a manifest beside them, never manifests or temporary files.
func candidates(names []string) []string {
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	var out []string
	for _, n := range names {
		if strings.HasSuffix(n, ManifestSuffix) || strings.HasPrefix(n, ".") {
			continue
		}
		if backupName.MatchString(n) || has[n+ManifestSuffix] {
			out = append(out, n)
		}
	}
	return out
}

func listLocal(ctx context.Context, loc Location) ([]Entry, error) {
	fi, err := os.Stat(loc.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.Usagef("backup directory %s does not exist", redact.Mask(loc.Path))
	}
	if err != nil {
		return nil, fmt.Errorf("backup directory %s: %w", redact.Mask(loc.Path), err)
	}
	if !fi.IsDir() {
		return nil, errs.Usagef("%s is not a directory: expected the directory backups are written to", loc.Path)
	}
	entries, err := listedDir(loc.Path)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := e.Location.Path
		m, err := readManifest(ctx, nil, e.Location)
		if !applyManifest(&e, m, err) {
			out = append(out, e)
			continue
		}
		size, sum, err := hashFile(p, nil)
		switch {
		case err != nil:
			e.Status, e.Detail = StatusChecksumMismatch, err.Error()
		case size != m.Size:
			e.Status, e.Detail = StatusSizeMismatch, fmt.Sprintf("%d bytes, manifest says %d", size, m.Size)
		case sum != m.SHA256:
			e.Status, e.Detail = StatusChecksumMismatch, fmt.Sprintf("sha256 %s, manifest says %s", sum, m.SHA256)
		default:
			e.Status = StatusOK
		}
		out = append(out, e)
	}
	for _, t := range scanTemps(loc.Path) {
		e := Entry{Name: filepath.Base(t.Path), Location: Location{Path: t.Path}, Size: t.Size, CreatedAt: t.ModTime.UTC(), Status: t.Status}
		e.Detail = "left by a backup or restore that was killed; the next backup or restore here removes it"
		if t.Status == StatusInProgress {
			e.Detail = "a running backup or restore is writing it"
		}
		out = append(out, e)
	}
	journals, _ := filepath.Glob(filepath.Join(loc.Path, ".*.restore-journal"))
	for _, jp := range journals {
		db := filepath.Join(loc.Path, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(jp), "."), ".restore-journal"))
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
	return out, nil
}

func describeEntry(e *Entry, mtime time.Time) {
	if t, _, ok := nameOrder(e.Name); ok {
		e.CreatedAt = t
	} else {
		e.CreatedAt = mtime.UTC()
	}
}

// listed are the backups among a listing's names as the listing alone describes
// them: name, location, size, whether compressed, and the time from the name or else
// the modification time. at gives a name's location, size and modification time
// (false: gone since the listing).
func listed(names []string, at func(name string) (Location, int64, time.Time, bool)) []Entry {
	var out []Entry
	for _, n := range candidates(names) {
		loc, size, mtime, ok := at(n)
		if !ok {
			continue
		}
		e := Entry{Name: n, Location: loc, Size: size, Compressed: strings.HasSuffix(n, ".gz")}
		describeEntry(&e, mtime)
		out = append(out, e)
	}
	return out
}

// listedDir is listed over the regular files of a directory.
func listedDir(dir string) ([]Entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var names []string
	for _, d := range des {
		if d.Type().IsRegular() {
			names = append(names, d.Name())
		}
	}
	return listed(names, func(n string) (Location, int64, time.Time, bool) {
		p := filepath.Join(dir, n)
		fi, err := os.Stat(p)
		if err != nil {
			return Location{}, 0, time.Time{}, false
		}
		return Location{Path: p}, fi.Size(), fi.ModTime(), true
	}), nil
}

// listedS3 is listed over the objects under loc's prefix.
func listedS3(objs []s3Object, loc Location) []Entry {
	names := make([]string, len(objs))
	byName := map[string]s3Object{}
	for i, o := range objs {
		names[i] = o.name
		byName[o.name] = o
	}
	return listed(names, func(n string) (Location, int64, time.Time, bool) {
		o := byName[n]
		return Location{Bucket: loc.Bucket, Key: o.key}, o.size, o.modified, true
	})
}

// applyManifest records the manifest (or its absence) on e and reports whether the
// checksum comparison should go on.
func applyManifest(e *Entry, m *Manifest, err error) bool {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		e.Status = StatusNoManifest
		return false
	case err != nil:
		e.Status, e.Detail = StatusBadManifest, err.Error()
		return false
	}
	e.Manifest = m
	e.CreatedAt = m.CreatedAt
	e.Compressed = m.Compressed
	if m.File != e.Name {
		e.Status, e.Detail = StatusBadManifest, fmt.Sprintf("the manifest describes %q", m.File)
		return false
	}
	return true
}

func listS3(ctx context.Context, loc Location, opts ListOptions) ([]Entry, error) {
	c, err := s3Client(ctx, opts.S3)
	if err != nil {
		return nil, err
	}
	objs, err := listPrefix(ctx, c, loc)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range listedS3(objs, loc) {
		m, err := readManifest(ctx, c, e.Location)
		if isNotFound(err) {
			err = fs.ErrNotExist
		}
		if !applyManifest(&e, m, err) {
			out = append(out, e)
			continue
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(e.Location.Key)})
		switch {
		case err != nil:
			e.Status, e.Detail = StatusChecksumMismatch, err.Error()
		case aws.ToInt64(head.ContentLength) != m.Size:
			e.Status, e.Detail = StatusSizeMismatch, fmt.Sprintf("%d bytes, manifest says %d", aws.ToInt64(head.ContentLength), m.Size)
		case head.Metadata[metaSHA256] != m.SHA256:
			e.Status, e.Detail = StatusChecksumMismatch, fmt.Sprintf("object sha256 metadata %q, manifest says %s", head.Metadata[metaSHA256], m.SHA256)
		default:
			e.Status = StatusOK
		}
		out = append(out, e)
	}
	return out, nil
}

// Prune deletes the oldest vrwx-*.db[.gz] backups (and their manifests) in a
// directory or under an S3 prefix so that only the newest keep remain. Files with
// other names are never touched. It returns what it deleted.
func Prune(ctx context.Context, loc Location, keep int, c *s3.Client) ([]Location, error) {
	if err := ValidateKeep(keep); err != nil {
		return nil, err
	}
	var names []string
	if loc.IsS3() {
		var err error
		if c, err = s3Client(ctx, c); err != nil {
			return nil, err
		}
		objs, err := listPrefix(ctx, c, loc)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			names = append(names, o.name)
		}
	} else {
		des, err := os.ReadDir(loc.Path)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", loc.Path, err)
		}
		for _, d := range des {
			if d.Type().IsRegular() {
				names = append(names, d.Name())
			}
		}
	}
	var backups []string
	for _, n := range names {
		if backupName.MatchString(n) {
			backups = append(backups, n)
		}
	}
	if len(backups) <= keep {
		return nil, nil
	}
	sortBackupNames(backups)
	var pruned []Location
	for _, n := range backups[:len(backups)-keep] {
		target := loc.child(n)
		// The manifest goes first: a backup without a manifest is still listed and
		// can be pruned next time; a manifest without its backup would be an orphan.
		for _, name := range []string{n + ManifestSuffix, n} {
			l := loc.child(name)
			var err error
			if l.IsS3() {
				_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(l.Key)})
			} else if err = os.Remove(l.Path); errors.Is(err, fs.ErrNotExist) {
				err = nil
			}
			if err != nil {
				return pruned, fmt.Errorf("delete old backup %s: %w", l, err)
			}
		}
		pruned = append(pruned, target)
	}
	if !loc.IsS3() {
		if err := apidb.SyncDir(loc.Path); err != nil {
			return pruned, err
		}
	}
	return pruned, nil
}
