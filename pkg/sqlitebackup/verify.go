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
	"os"
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
	S3              *s3.Client // nil builds one from S3Config the first time S3 is used
	S3Config        S3Config
	// StagingDir is where an S3 or compressed backup is unpacked for checking
	// (default os.TempDir()).
	StagingDir string
	Progress   func(Progress)
	// Engine reads litestream replicas (nil: none can be read); At is the point in
	// time to restore a replica to (zero: its latest state).
	Engine ReplicaEngine
	At     time.Time
}

// VerifyReport is everything Verify found. OK is true only when Problems is empty.
type VerifyReport struct {
	Location  Location
	Recovered *apidb.Recovery // an interrupted restore of this file that Verify finished first
	// Replica is the position a litestream replica was restored to (nil for a
	// backup). A replica has no manifest: litestream checks its own files.
	Replica           *ReplicaRestore
	Manifest          *Manifest // nil when there is none or it could not be read
	Size              int64     // bytes of the stored file
	SHA256            string    // of the stored file
	ChecksumOK        bool      // SHA256 and Size match the manifest (and DBSHA256 when compressed)
	Check             CheckResult
	JournalMode       string // from the file header: "delete" (self-contained) or "wal"
	Migrations        []string
	MissingTables     []string
	MissingMigrations []string
	RowCounts         map[string]int64
	// Pending are the idempotency keys the backup holds in PENDING: relays in
	// flight when it was taken, which the API retries once restored (apidb.PendingKey).
	Pending  []apidb.PendingKey
	OK       bool
	Problems []string
}

func (o VerifyOptions) access() s3Access { return s3Access{client: o.S3, config: o.S3Config} }

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
	if st, name := splitObject(loc, opts.access()); name != "" {
		if o, err := st.Stat(ctx, name); err == nil && o.Path != "" {
			if rec, err = apidb.Recover(ctx, o.Path, false); err != nil {
				return nil, err
			}
		}
	}
	cleanTemps(opts.StagingDir, time.Now())
	rep, mat, err := verifyAny(ctx, loc, opts, opts.StagingDir, true)
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

// backupObject opens the storage of the backup loc names and describes the backup
// (a manifest's path stands for its backup's); folders and missing objects are bad
// input.
func backupObject(ctx context.Context, loc Location, a s3Access) (Storage, Object, error) {
	st, name := splitObject(loc, a)
	name = strings.TrimSuffix(name, ManifestSuffix)
	if name == "" {
		return nil, Object{}, badInput(InputBackup, loc.String(), "names a prefix: expected a backup object such as s3://bucket/prefix/vrwx-20261127T031500Z.db")
	}
	o, err := st.Stat(ctx, name)
	switch {
	case errors.Is(err, errNotAnObject):
		return nil, Object{}, badInput(InputBackup, st.Locate(name).String(), "is a directory: expected a backup file")
	case isNotExist(err):
		return nil, Object{}, badInput(InputBackup, st.Locate(name).String(), "does not exist")
	case err != nil:
		return nil, Object{}, fmt.Errorf("backup %s: %w", st.Locate(name), err)
	}
	return st, o, nil
}

// readManifest reads the manifest beside the backup called name.
func readManifest(ctx context.Context, st Storage, name string) (*Manifest, error) {
	b, err := readSmall(ctx, st, name+ManifestSuffix)
	if err != nil {
		return nil, err
	}
	return parseManifest(b, st.Locate(name).String()+ManifestSuffix)
}

// verify runs every check. workDir receives any unpacked copy; with inPlace a local
// uncompressed backup is checked where it lies, otherwise it is copied into workDir
// (restore wants a private copy next to the database to rename into place).
func verify(ctx context.Context, loc Location, opts VerifyOptions, workDir string, inPlace bool) (*VerifyReport, *materialized, error) {
	st, obj, err := backupObject(ctx, loc, opts.access())
	if err != nil {
		return nil, nil, err
	}
	name := obj.Name
	rep := &VerifyReport{Location: st.Locate(name)}
	m, err := readManifest(ctx, st, name)
	switch {
	case isNotExist(err):
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

	mat, sums, err := materialize(ctx, st, obj, compressed, workDir, inPlace, opts.Progress)
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
		if obj.SHA256 != "" && obj.SHA256 != m.SHA256 {
			rep.ChecksumOK = false
			rep.Problems = append(rep.Problems, fmt.Sprintf("the object's sha256 metadata %s differs from the manifest's %s", obj.SHA256, m.SHA256))
		}
	}
	return rep, mat, checkMaterialized(ctx, rep, mat.db, opts)
}

// checkMaterialized runs the checks every database that may be restored gets: an
// SQLite file, integrity_check (quick_check), the API's tables and migrations, row
// counts, PENDING idempotency keys. Problems go into rep; an error is returned only
// when the checks could not run, or the file is no database at all (rep.err()).
func checkMaterialized(ctx context.Context, rep *VerifyReport, db string, opts VerifyOptions) error {
	if err := apidb.CheckFile(db, "backup"); err != nil {
		var fe *apidb.FileError
		if !errors.As(err, &fe) {
			return err
		}
		rep.Problems = append(rep.Problems, fe.Problem())
		return rep.err()
	}
	opts.Progress(Progress{Phase: "check"})
	var err error
	if rep.Check, err = checkFile(ctx, db, opts.Quick); err != nil {
		return err
	}
	if !rep.Check.OK {
		rep.Problems = append(rep.Problems, rep.Check.Check+" failed: "+strings.Join(rep.Check.Errors, "; "))
	}
	if err := inspect(ctx, db, rep); err != nil {
		rep.Problems = append(rep.Problems, err.Error())
	}
	rep.OK = len(rep.Problems) == 0
	return nil
}

// verifyAny verifies what loc names: a backup, or a litestream replica restored (at
// opts.At) into workDir.
func verifyAny(ctx context.Context, loc Location, opts VerifyOptions, workDir string, inPlace bool) (*VerifyReport, *materialized, error) {
	replica, err := isReplica(ctx, loc, opts.access())
	if err != nil {
		return nil, nil, err
	}
	if !replica {
		if !opts.At.IsZero() {
			return nil, nil, badInput(InputBackup, loc.String(), "is a backup, not a litestream replica: a point in time (--timestamp) applies to replicas only")
		}
		return verify(ctx, loc, opts, workDir, inPlace)
	}
	loc = loc.asReplica()
	rep := &VerifyReport{Location: loc}
	mat, res, err := materializeReplica(ctx, loc, opts.Engine, opts.S3Config, opts.At, workDir)
	if err != nil {
		if mat != nil {
			mat.cleanup()
		}
		return rep, nil, err
	}
	rep.Replica = res
	rep.Size, rep.SHA256 = mat.dbSize, mat.dbSHA256
	return rep, mat, checkMaterialized(ctx, rep, mat.db, opts)
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
	if rep.RowCounts, err = apidb.RowCounts(ctx, db); err != nil {
		return err
	}
	rep.Pending, err = apidb.PendingIdempotency(ctx, db)
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
}

// materialize gets an uncompressed local copy of the backup (or, with inPlace, uses
// a local uncompressed file where it lies), hashing the stored bytes and the
// database bytes on the way: one streaming pass from the storage, through gunzip
// when compressed, into a locked temporary file in workDir.
func materialize(ctx context.Context, st Storage, obj Object, compressed bool, workDir string, inPlace bool, progress func(Progress)) (*materialized, sums, error) {
	mat := &materialized{}
	var s sums
	loc := st.Locate(obj.Name)
	if !compressed && inPlace && obj.Path != "" {
		var err error
		s.size, s.sha, err = hashFile(obj.Path, func(n int64) { progress(Progress{Phase: "hash", Done: n}) })
		if err != nil {
			return mat, s, err
		}
		s.dbSHA = s.sha
		mat.db, mat.dbSize, mat.dbSHA256 = obj.Path, s.size, s.sha
		return mat, s, nil
	}
	out, release, err := reserveTemp(workDir, ".vrwx-restore-*.db.tmp")
	if err != nil {
		return mat, s, err
	}
	mat.temps, mat.releases = append(mat.temps, out), append(mat.releases, release)
	mat.db = out
	in, err := st.Open(ctx, obj.Name)
	if isNotExist(err) {
		return mat, s, badInput(InputBackup, loc.String(), "does not exist")
	}
	if err != nil {
		return mat, s, err
	}
	defer in.Close()
	phase := "download"
	if obj.Path != "" {
		phase = "unpack"
	}
	storedHash := sha256.New()
	pr := &progressReader{r: io.TeeReader(in, storedHash), fn: func(n int64) {
		progress(Progress{Phase: phase, Done: n, Total: obj.Size})
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
		return mat, s, fmt.Errorf("read %s: %w", loc, describeIOError(err, workDir))
	}
	if pr.n != obj.Size {
		return mat, s, fmt.Errorf("read %s: got %d of %d bytes", loc, pr.n, obj.Size)
	}
	s.size, s.sha, s.dbSHA = pr.n, hex.EncodeToString(storedHash.Sum(nil)), hex.EncodeToString(dbHash.Sum(nil))
	mat.dbSHA256 = s.dbSHA
	return mat, s, nil
}
