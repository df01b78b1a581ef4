package sqlitebackup

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// VerifyOptions tunes Verify.
type VerifyOptions struct {
	Quick bool // quick_check instead of integrity_check
	// AllowNoManifest accepts a backup without a manifest (e.g. one made by the old
	// runbook's sqlite3 .backup); its checksum then cannot be checked.
	AllowNoManifest bool
	S3              *s3.Client // nil builds one from the default AWS configuration
	// StagingDir is where an S3 or compressed backup is unpacked for checking
	// (default os.TempDir()).
	StagingDir string
	Progress   func(Progress)
}

// VerifyReport is everything Verify found. OK is true only when Problems is empty.
type VerifyReport struct {
	Location          Location
	Recovered         *apidb.Recovery // an interrupted restore of this file that Verify finished first
	Manifest          *Manifest       // nil when there is none or it could not be read
	Size              int64           // bytes of the stored file
	SHA256            string          // of the stored file
	ChecksumOK        bool            // SHA256 and Size match the manifest (and DBSHA256 when compressed)
	Check             CheckResult
	JournalMode       string // from the file header: "delete" (self-contained) or "wal"
	Migrations        []string
	MissingTables     []string
	MissingMigrations []string
	RowCounts         map[string]int64
	OK                bool
	Problems          []string
}

func (o *VerifyOptions) normalize() {
	if o.StagingDir == "" {
		o.StagingDir = os.TempDir()
	}
	if o.Progress == nil {
		o.Progress = func(Progress) {}
	}
}

// Verify checks a backup file or S3 object: its sha256 and size against the
// manifest beside it, integrity_check (quick_check with Quick), the API's tables and
// the seven migrations. A backup that fails any check yields the report and an
// errs.Failed error listing the problems.
func Verify(ctx context.Context, loc Location, opts VerifyOptions) (*VerifyReport, error) {
	opts.normalize()
	// A database being verified in place may be one whose restore was interrupted.
	var rec *apidb.Recovery
	if !loc.IsS3() {
		var err error
		if rec, err = apidb.Recover(ctx, loc.Path, false); err != nil {
			return nil, err
		}
	}
	cleanTemps(opts.StagingDir, time.Now())
	rep, mat, err := verify(ctx, loc, opts, opts.StagingDir, true)
	if rep != nil {
		rep.Recovered = rec
	}
	if mat != nil {
		mat.cleanup()
	}
	if err != nil {
		return rep, err
	}
	return rep, rep.err()
}

func (r *VerifyReport) err() error {
	if r.OK {
		return nil
	}
	return errs.Failedf("backup %s does not verify: %s", r.Location, strings.Join(r.Problems, "; ")).
		Wrap(ErrDoesNotVerify).WithFix("use another backup or take a new one")
}

// materialized is a backup unpacked into a local, uncompressed SQLite file.
type materialized struct {
	db       string // the uncompressed database file
	dbSize   int64  // its size and sha256
	dbSHA256 string
	temps    []string // files this process created and must remove
	releases []func() // their locks (reserveTemp)
}

func (m *materialized) cleanup() {
	for _, t := range m.temps {
		removeDBFiles(t)
	}
	m.release()
}

// release unlocks the temporary files, leaving them where they are.
func (m *materialized) release() {
	for _, r := range m.releases {
		r()
	}
	m.releases = nil
}

// take hands the database file to the caller: cleanup no longer removes it, but
// still unlocks it.
func (m *materialized) take() string {
	out := m.temps[:0]
	for _, t := range m.temps {
		if t != m.db {
			out = append(out, t)
		}
	}
	m.temps = out
	return m.db
}

// normalizeBackupLocation accepts a manifest's path for its backup's and rejects
// directories and missing local files as bad input.
func normalizeBackupLocation(loc Location) (Location, error) {
	if loc.IsS3() {
		if loc.Key == "" || strings.HasSuffix(loc.Key, "/") {
			return loc, badInput(InputBackup, loc.String(), "names a prefix: expected a backup object such as s3://bucket/prefix/vrwx-20261127T031500Z.db")
		}
		loc.Key = strings.TrimSuffix(loc.Key, ManifestSuffix)
		return loc, nil
	}
	loc.Path = strings.TrimSuffix(loc.Path, ManifestSuffix)
	fi, err := os.Stat(loc.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return loc, badInput(InputBackup, loc.Path, "does not exist")
	}
	if err != nil {
		return loc, fmt.Errorf("backup %s: %w", loc.Path, err)
	}
	if fi.IsDir() {
		return loc, badInput(InputBackup, loc.Path, "is a directory: expected a backup file")
	}
	return loc, nil
}

func readManifest(ctx context.Context, c *s3.Client, loc Location) (*Manifest, error) {
	where := loc.String() + ManifestSuffix
	var b []byte
	var err error
	if loc.IsS3() {
		b, err = getSmallObject(ctx, c, Location{Bucket: loc.Bucket, Key: loc.Key + ManifestSuffix})
		if isNotFound(err) {
			err = fs.ErrNotExist
		}
	} else {
		b, err = os.ReadFile(loc.Path + ManifestSuffix)
	}
	if err != nil {
		return nil, err
	}
	return parseManifest(b, where)
}

// verify runs every check. workDir receives any unpacked copy; with inPlace a local
// uncompressed backup is checked where it lies, otherwise it is copied into workDir
// (restore wants a private copy next to the database to rename into place).
func verify(ctx context.Context, loc Location, opts VerifyOptions, workDir string, inPlace bool) (*VerifyReport, *materialized, error) {
	loc, err := normalizeBackupLocation(loc)
	if err != nil {
		return nil, nil, err
	}
	rep := &VerifyReport{Location: loc}
	var c *s3.Client
	if loc.IsS3() {
		if c, err = s3Client(ctx, opts.S3); err != nil {
			return nil, nil, err
		}
	}
	name := filepath.Base(loc.Path)
	if loc.IsS3() {
		name = loc.Key[strings.LastIndexByte(loc.Key, '/')+1:]
	}
	m, err := readManifest(ctx, c, loc)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !opts.AllowNoManifest {
			rep.Problems = append(rep.Problems, "no manifest "+name+ManifestSuffix+" beside it, so its checksum cannot be checked")
		}
	case err != nil:
		rep.Problems = append(rep.Problems, err.Error())
	default:
		rep.Manifest = m
		if m.File != name {
			rep.Problems = append(rep.Problems, fmt.Sprintf("the manifest describes %q, not %q", m.File, name))
		}
	}
	compressed := strings.HasSuffix(name, ".gz")
	if rep.Manifest != nil {
		compressed = rep.Manifest.Compressed
	}

	mat, sums, err := materialize(ctx, c, loc, compressed, workDir, inPlace, opts.Progress)
	if err != nil {
		if mat != nil {
			mat.cleanup()
		}
		var e *errs.Error
		if errors.As(err, &e) {
			return rep, nil, err
		}
		rep.Problems = append(rep.Problems, err.Error())
		return rep, nil, rep.err()
	}
	rep.Size, rep.SHA256 = sums.size, sums.sha
	if m := rep.Manifest; m != nil {
		rep.ChecksumOK = true
		if sums.sha != m.SHA256 {
			rep.ChecksumOK = false
			rep.Problems = append(rep.Problems, fmt.Sprintf("checksum mismatch: the file's sha256 is %s, the manifest says %s", sums.sha, m.SHA256))
		}
		if sums.size != m.Size {
			rep.ChecksumOK = false
			rep.Problems = append(rep.Problems, fmt.Sprintf("size mismatch: the file has %d bytes, the manifest says %d", sums.size, m.Size))
		}
		if compressed && sums.dbSHA != m.DBSHA256 {
			rep.ChecksumOK = false
			rep.Problems = append(rep.Problems, fmt.Sprintf("checksum mismatch: the unpacked database's sha256 is %s, the manifest says %s", sums.dbSHA, m.DBSHA256))
		}
		if sums.meta != nil && sums.meta[metaSHA256] != "" && sums.meta[metaSHA256] != m.SHA256 {
			rep.ChecksumOK = false
			rep.Problems = append(rep.Problems, fmt.Sprintf("the object's sha256 metadata %s differs from the manifest's %s", sums.meta[metaSHA256], m.SHA256))
		}
	}
	if err := apidb.CheckFile(mat.db, "backup"); err != nil {
		var fe *apidb.FileError
		if !errors.As(err, &fe) {
			return rep, mat, err
		}
		rep.Problems = append(rep.Problems, fe.Problem())
		return rep, mat, rep.err()
	}
	opts.Progress(Progress{Phase: "check"})
	if rep.Check, err = checkFile(ctx, mat.db, opts.Quick); err != nil {
		return rep, mat, err
	}
	if !rep.Check.OK {
		rep.Problems = append(rep.Problems, rep.Check.Check+" failed: "+strings.Join(rep.Check.Errors, "; "))
	}
	if err := inspect(ctx, mat.db, rep); err != nil {
		rep.Problems = append(rep.Problems, err.Error())
	}
	rep.OK = len(rep.Problems) == 0
	return rep, mat, nil
}

// inspect fills the schema, migration and row-count parts of rep.
func inspect(ctx context.Context, path string, rep *VerifyReport) error {
	b18, _, err := journalBytes(path)
	if err != nil {
		return fmt.Errorf("read header: %w", err)
	}
	rep.JournalMode = "delete"
	if b18 == 2 {
		rep.JournalMode = "wal"
	}
	db, err := sql.Open(apidb.DriverName, checkDSN(path))
	if err != nil {
		return err
	}
	defer db.Close()
	if rep.MissingTables, rep.MissingMigrations, err = apidb.CheckSchema(ctx, db); err != nil {
		return err
	}
	if len(rep.MissingTables) > 0 {
		rep.Problems = append(rep.Problems, "missing tables: "+strings.Join(rep.MissingTables, ", "))
	}
	if len(rep.MissingMigrations) > 0 {
		rep.Problems = append(rep.Problems, "missing migrations: "+strings.Join(rep.MissingMigrations, ", "))
	}
	if !contains(rep.MissingTables, "_migrations") {
		if rep.Migrations, err = apidb.AppliedMigrations(ctx, db); err != nil {
			return err
		}
	}
	rep.RowCounts, err = apidb.RowCounts(ctx, db)
	return err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type sums struct {
	size  int64
	sha   string
	dbSHA string
	meta  map[string]string
}

// materialize gets an uncompressed local copy of the backup (or uses the local file
// in place), hashing the stored bytes and the database bytes on the way.
func materialize(ctx context.Context, c *s3.Client, loc Location, compressed bool, workDir string, inPlace bool, progress func(Progress)) (*materialized, sums, error) {
	mat := &materialized{}
	var s sums
	stored := loc.Path
	if loc.IsS3() {
		tmp, release, err := reserveTemp(workDir, ".vrwx-download-*.tmp")
		if err != nil {
			return nil, s, err
		}
		mat.temps, mat.releases = append(mat.temps, tmp), append(mat.releases, release)
		if s.meta, err = downloadObject(ctx, c, loc, tmp, progress); err != nil {
			return mat, s, err
		}
		stored, inPlace = tmp, true
	}
	if !compressed && inPlace {
		var err error
		s.size, s.sha, err = hashFile(stored, func(n int64) { progress(Progress{Phase: "hash", Done: n}) })
		if err != nil {
			return mat, s, err
		}
		s.dbSHA = s.sha
		mat.db, mat.dbSize, mat.dbSHA256 = stored, s.size, s.sha
		return mat, s, nil
	}
	out, release, err := reserveTemp(workDir, ".vrwx-restore-*.db.tmp")
	if err != nil {
		return mat, s, err
	}
	mat.temps, mat.releases = append(mat.temps, out), append(mat.releases, release)
	mat.db = out
	in, err := os.Open(stored)
	if err != nil {
		return mat, s, err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return mat, s, err
	}
	storedHash := sha256.New()
	pr := &progressReader{r: io.TeeReader(in, storedHash), fn: func(n int64) {
		progress(Progress{Phase: "unpack", Done: n, Total: fi.Size()})
	}}
	var src io.Reader = pr
	if compressed {
		zr, err := gzip.NewReader(pr)
		if err != nil {
			return mat, s, fmt.Errorf("%s is not a gzip file: %w", loc, err)
		}
		defer zr.Close()
		src = zr
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return mat, s, err
	}
	dbHash := sha256.New()
	mat.dbSize, err = io.Copy(io.MultiWriter(f, dbHash), src)
	if err == nil {
		// Drain the rest so the stored file's hash covers every byte, including any
		// trailing garbage after the gzip stream.
		_, err = io.Copy(io.Discard, pr)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return mat, s, fmt.Errorf("unpack %s: %w", loc, describeIOError(err, workDir))
	}
	s.size, s.sha, s.dbSHA = pr.n, hex.EncodeToString(storedHash.Sum(nil)), hex.EncodeToString(dbHash.Sum(nil))
	mat.dbSHA256 = s.dbSHA
	return mat, s, nil
}
