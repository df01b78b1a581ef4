package sqlitebackup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

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
	S3       *s3.Client // nil builds one from S3Config the first time S3 is used
	S3Config S3Config
	Now      func() time.Time
	// Engine reads litestream replicas (ListReplica, ReplicaPosition).
	Engine ReplicaEngine
}

func (o ListOptions) access() s3Access { return s3Access{client: o.S3, config: o.S3Config} }

// List returns the backups in a directory or under an S3 prefix, newest first:
// vrwx-*.db[.gz] files, and any other file that has a manifest beside it. In a
// directory it also lists what interrupted runs left: temporary files
// (StatusIncomplete, or StatusInProgress while their process runs) and restore
// journals (StatusInterrupted).
func List(ctx context.Context, loc Location, opts ListOptions) ([]Entry, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	st := openStorage(loc, opts.access())
	entries, err := listStorage(ctx, st)
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

// listStorage describes every backup in st and checks its stored bytes against its
// manifest (Storage.Digest: a file is hashed, an S3 object's recorded checksum is
// compared), then adds what interrupted runs left.
func listStorage(ctx context.Context, st Storage) ([]Entry, error) {
	objs, err := listObjects(ctx, st)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range listed(objs, st) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, err := readManifest(ctx, st, e.Name)
		if !applyManifest(&e, m, err) {
			out = append(out, e)
			continue
		}
		sum, err := st.Digest(ctx, e.Name)
		switch {
		case err != nil:
			e.Status, e.Detail = StatusChecksumMismatch, err.Error()
		case e.Size != m.Size:
			e.Status, e.Detail = StatusSizeMismatch, fmt.Sprintf("%d bytes, manifest says %d", e.Size, m.Size)
		case sum == "":
			e.Status, e.Detail = StatusChecksumMismatch, "no sha256 recorded with the object, manifest says "+m.SHA256
		case sum != m.SHA256:
			e.Status, e.Detail = StatusChecksumMismatch, fmt.Sprintf("sha256 %s, manifest says %s", sum, m.SHA256)
		default:
			e.Status = StatusOK
		}
		out = append(out, e)
	}
	return append(out, st.Leftovers(ctx)...), nil
}

// listObjects lists st, saying "does not exist" and "not a directory" as bad input.
func listObjects(ctx context.Context, st Storage) ([]Object, error) {
	objs, err := st.List(ctx)
	switch {
	case isNotExist(err):
		return nil, errs.Usagef("backup directory %s does not exist", redact.Mask(st.Location().String()))
	case errors.Is(err, errNotAFolder):
		return nil, errs.Usagef("%s is not a directory: expected the directory backups are written to", redact.Mask(st.Location().String()))
	}
	return objs, err
}

func describeEntry(e *Entry, mtime time.Time) {
	if t, _, ok := nameOrder(e.Name); ok {
		e.CreatedAt = t
	} else {
		e.CreatedAt = mtime.UTC()
	}
}

// listed are the backups among a listing's objects as the listing alone describes
// them: name, location, size, whether compressed, and the time from the name or else
// the modification time.
func listed(objs []Object, st Storage) []Entry {
	names := make([]string, len(objs))
	byName := make(map[string]Object, len(objs))
	for i, o := range objs {
		names[i] = o.Name
		byName[o.Name] = o
	}
	var out []Entry
	for _, n := range candidates(names) {
		o := byName[n]
		e := Entry{Name: n, Location: st.Locate(n), Size: o.Size, Compressed: strings.HasSuffix(n, ".gz")}
		describeEntry(&e, o.ModTime)
		out = append(out, e)
	}
	return out
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

// Prune deletes the oldest vrwx-*.db[.gz] backups (and their manifests) in a
// directory or under an S3 prefix so that only the newest keep remain. Files with
// other names are never touched. It returns what it deleted.
func Prune(ctx context.Context, loc Location, keep int, c *s3.Client) ([]Location, error) {
	return prune(ctx, openStorage(loc, s3Access{client: c}), keep)
}

func prune(ctx context.Context, st Storage, keep int) ([]Location, error) {
	if err := ValidateKeep(keep); err != nil {
		return nil, err
	}
	objs, err := st.List(ctx)
	if err != nil {
		return nil, err
	}
	var backups []string
	for _, o := range objs {
		if backupName.MatchString(o.Name) {
			backups = append(backups, o.Name)
		}
	}
	if len(backups) <= keep {
		return nil, nil
	}
	sortBackupNames(backups)
	var pruned []Location
	for _, n := range backups[:len(backups)-keep] {
		// The manifest goes first: a backup without a manifest is still listed and
		// can be pruned next time; a manifest without its backup would be an orphan.
		for _, name := range []string{n + ManifestSuffix, n} {
			if err := st.Delete(ctx, name); err != nil {
				return pruned, fmt.Errorf("delete old backup %s: %w", st.Locate(name), err)
			}
		}
		pruned = append(pruned, st.Locate(n))
	}
	return pruned, nil
}
