// Package sqlitebackup backs up, verifies, lists and restores the VRWX API's SQLite
// database while the API keeps running: a consistent online copy (SQLite's backup API
// by default, VACUUM INTO on request) published atomically with a JSON manifest, to
// a directory or to S3, and a restore that verifies first, refuses while the database
// is in use, and keeps the files it replaces.
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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	sqlite "modernc.org/sqlite"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// Method is how the online copy is taken.
type Method string

const (
	// MethodSnapshot copies the main database file with large sequential reads inside
	// one read transaction on the source, takes every page the write-ahead log holds
	// through SQLite instead, and hashes the copy while writing it (snapshot.go says
	// why that is one point in time). It is the default: it makes two system calls
	// per megabyte where the backup API makes two per page.
	MethodSnapshot Method = "snapshot"
	// MethodBackupAPI copies pages with sqlite3_backup_* inside one read transaction
	// on the source: one read and one write per page. In our measurements it copies
	// a 600 MB database 1.3-1.6x faster than VACUUM INTO.
	MethodBackupAPI Method = "backup-api"
	// MethodVacuumInto runs VACUUM INTO: also a consistent snapshot, and the copy is
	// defragmented, but it rebuilds every table and index, which costs time.
	MethodVacuumInto Method = "vacuum-into"
)

// Compression is the codec a backup file is stored with.
type Compression string

const (
	NoCompression Compression = ""
	Gzip          Compression = "gzip"
)

// ParseCompression reads "none", "" or "gzip".
func ParseCompression(s string) (Compression, error) {
	switch strings.ToLower(s) {
	case "", "none":
		return NoCompression, nil
	case "gzip", "gz":
		return Gzip, nil
	}
	return "", errs.Usagef("compression %s: expected none or gzip", redact.Quote(s))
}

// ParseMethod reads "snapshot" (also ""), "backup-api" or "vacuum-into".
func ParseMethod(s string) (Method, error) {
	switch Method(strings.ToLower(s)) {
	case "", MethodSnapshot:
		return MethodSnapshot, nil
	case MethodBackupAPI:
		return MethodBackupAPI, nil
	case MethodVacuumInto:
		return MethodVacuumInto, nil
	}
	return "", errs.Usagef("backup method %s: expected snapshot, backup-api or vacuum-into", redact.Quote(s))
}

// Progress is reported while a long step runs. Done and Total are bytes (Total is
// 0 when unknown); Pages and TotalPages are set while the backup API copies.
type Progress struct {
	Phase      string // "copy", "check", "hash", "compress", "upload", "download"
	Done       int64
	Total      int64
	Pages      int64
	TotalPages int64
}

// BackupOptions tunes Backup. The zero value takes a verified, uncompressed
// snapshot copy into the destination and prunes nothing.
type BackupOptions struct {
	Method      Method
	Quick       bool // quick_check instead of integrity_check
	Compression Compression
	// Keep, when ≥ 1, deletes the oldest vrwx-*.db backups (and their manifests) in
	// the destination beyond the newest Keep. 0 prunes nothing; use ValidateKeep to
	// reject an explicit 0 from an operator.
	Keep     int
	Progress func(Progress)
	Now      func() time.Time
	S3       *s3.Client // nil builds one from S3Config the first time S3 is used
	S3Config S3Config
	// S3PartSize is the multipart part size for S3 (default and minimum 5 MiB).
	// The uploader holds a few parts in memory at once: memory grows with it.
	S3PartSize int64
	// StagingDir is where a backup bound for S3 is built before upload (default
	// os.TempDir()); it needs room for the database, twice when compressing.
	StagingDir string
	// StepPages is how many pages the backup API (MethodBackupAPI) copies between
	// progress reports (default 1024).
	StepPages int
	// CheckCopy checks the copy's file once it is written, for MethodSnapshot too.
	// By default the snapshot method checks the snapshot it copies, on a second
	// connection at the same time as the copy: about as fast as the copy alone,
	// and it reads pages the API's own page cache holds, where re-reading the copy
	// in a container whose memory limit is smaller than the database comes from
	// disk, about ten times slower. Checking the copy also proves its bytes.
	CheckCopy bool
}

// BackupResult is what Backup published.
type BackupResult struct {
	Manifest *Manifest
	Location Location   // the backup file (or object)
	Pruned   []Location // backups removed by Keep
	// Recovered is an interrupted restore of the database that Backup finished
	// first (nil when there was none); Cleaned are temporary files of killed runs
	// it removed from the destination (or staging) directory, NotCleaned those it
	// could not remove (TempFile.RemoveErr says why).
	Recovered  *apidb.Recovery
	Cleaned    []string
	NotCleaned []TempFile
}

// ValidateKeep rejects a retention count below 1; call it when the operator set one.
func ValidateKeep(n int) error {
	if n < 1 {
		return badInput(InputKeep, strconv.Itoa(n), ": expected a number of backups to keep, at least 1")
	}
	return nil
}

func (o *BackupOptions) normalize() error {
	var err error
	if o.Method, err = ParseMethod(string(o.Method)); err != nil {
		return err
	}
	if o.Compression, err = ParseCompression(string(o.Compression)); err != nil {
		return err
	}
	if o.Keep < 0 {
		return ValidateKeep(o.Keep)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = func(Progress) {}
	}
	if o.S3PartSize != 0 && o.S3PartSize < 5<<20 {
		return errs.Usagef("S3 part size %d bytes: expected at least 5 MiB (S3's minimum)", o.S3PartSize)
	}
	if o.StepPages <= 0 {
		o.StepPages = 1024
	}
	if o.StagingDir == "" {
		o.StagingDir = os.TempDir()
	}
	return nil
}

// sourceDSN opens the live database without changing it: no journal_mode pragma
// (a DELETE-mode file stays DELETE) and query_only so this connection cannot write.
// No memory map and a bounded page cache (boundedCache): see checkDSN.
func sourceDSN(path string) string {
	return strings.Replace(apidb.ReadOnlyDSN(path), "mode=ro&", "", 1) + "&_pragma=query_only(1)" + boundedCache
}

// Backup takes a consistent copy of the live database at src into dst (a directory,
// a new file path, or s3://bucket/prefix) while other processes keep writing, checks
// it, and publishes it with its manifest. Nothing is left behind on failure.
func Backup(ctx context.Context, src string, dst Location, opts BackupOptions) (*BackupResult, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	recovered, err := apidb.Recover(ctx, src, false)
	if err != nil {
		return nil, err
	}
	if err := apidb.CheckFile(src, "database"); err != nil {
		return nil, err
	}
	absSrc, err := filepath.Abs(src)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", src, err)
	}
	st, fixed, err := destination(src, dst, opts.Keep, s3Access{client: opts.S3, config: opts.S3Config, partSize: opts.S3PartSize})
	if err != nil {
		return nil, err
	}
	stage := st.Staging()
	if stage == "" {
		stage = opts.StagingDir
	}

	// The snapshot copy reads the file through this descriptor. It is opened before
	// SQLite's connection and closed after it (defers run last-in first-out):
	// closing a descriptor drops every lock this process holds on the file.
	var srcFile *os.File
	if opts.Method == MethodSnapshot {
		if srcFile, err = os.Open(absSrc); err != nil {
			return nil, fmt.Errorf("open database %s: %w", src, err)
		}
		defer srcFile.Close()
	}
	srcDB, err := sql.Open(apidb.DriverName, sourceDSN(absSrc))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", src, err)
	}
	defer srcDB.Close()
	srcDB.SetMaxOpenConns(2)
	missing, _, err := apidb.CheckSchema(ctx, srcDB)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", src, err)
	}
	if len(missing) > 0 {
		return nil, errs.Failedf("database %s lacks the API's tables: %s", src, strings.Join(missing, ", ")).Wrap(ErrNotAPIDatabase).
			WithFix("back up the API's own database (DATABASE_PATH)")
	}

	cleaned, stuck := cleanTemps(stage, time.Now())
	tmp, release, err := reserveTemp(stage, ".vrwx-backup-*.db.tmp")
	if err != nil {
		return nil, err
	}
	defer release()
	published := false
	defer func() {
		if !published {
			removeDBFiles(tmp)
		}
	}()

	m := &Manifest{Format: ManifestFormat, Source: absSrc, Method: opts.Method, Compressed: opts.Compression != NoCompression,
		Compression: string(opts.Compression), JournalMode: "delete"}
	m.CreatedAt = opts.Now().UTC().Truncate(time.Second)
	start := time.Now()
	checking, err := copyDB(ctx, srcDB, srcFile, tmp, opts, m)
	if err != nil {
		return nil, err
	}
	if opts.Method != MethodSnapshot {
		if err := makeSelfContained(ctx, tmp, m); err != nil {
			return nil, err
		}
	}
	m.CopyMillis = time.Since(start).Milliseconds()

	start = time.Now()
	stored, err := finish(ctx, tmp, opts, m, checking)
	// The source stays open until its snapshot's check is done.
	srcDB.Close()
	if srcFile != nil {
		srcFile.Close()
	}
	if stored != tmp {
		defer func() {
			if !published {
				os.Remove(stored)
			}
		}()
	}
	if err != nil {
		return nil, err
	}
	m.VerifyMillis = time.Since(start).Milliseconds()

	res := &BackupResult{Manifest: m, Recovered: recovered, Cleaned: cleaned, NotCleaned: stuck}
	if res.Location, err = publish(ctx, st, fixed, stored, stage, m, opts.Progress); err != nil {
		return nil, err
	}
	published = true
	os.Remove(stored)
	os.Remove(tmp)
	if opts.Keep > 0 {
		if res.Pruned, err = prune(ctx, st, opts.Keep); err != nil {
			return res, fmt.Errorf("backup %s written, but retention failed: %w", res.Location, err)
		}
	}
	return res, nil
}

// publish stores the finished file under a time-stamped name that no existing
// backup or manifest has (or under fixed), then its manifest. Names are checked
// first and the storage's writes never replace anything, so even a race never
// replaces a backup. A backup whose manifest cannot be written is taken back.
func publish(ctx context.Context, st Storage, fixed, stored, stage string, m *Manifest, progress func(Progress)) (Location, error) {
	contentType := "application/vnd.sqlite3"
	if m.Compressed {
		contentType = "application/gzip"
	}
	for n := 0; n < 1000; n++ {
		name := fixed
		if name == "" {
			name = BackupName(m.CreatedAt, n, Compression(m.Compression))
			if taken, err := anyExists(ctx, st, name, name+ManifestSuffix); err != nil {
				return Location{}, err
			} else if taken {
				continue
			}
		}
		m.File = name
		err := st.Write(ctx, name, stored, WriteOptions{ContentType: contentType, SHA256: m.SHA256, DBSHA256: m.DBSHA256, Progress: progress})
		if errors.Is(err, fs.ErrExist) {
			if fixed != "" {
				return Location{}, errs.Refusedf("backup file %s already exists; vrwxctl never overwrites a backup", st.Locate(name))
			}
			continue
		}
		if err != nil {
			return Location{}, err
		}
		if err := writeManifest(ctx, st, name+ManifestSuffix, stage, m); err != nil {
			// A backup without its manifest would never verify; take it back.
			_ = st.Delete(context.WithoutCancel(ctx), name)
			return Location{}, err
		}
		return st.Locate(name), nil
	}
	return Location{}, errs.Failedf("no free backup name in %s for %s", st.Location(), m.CreatedAt.Format(time.RFC3339))
}

// anyExists reports whether any of the names is an object in st.
func anyExists(ctx context.Context, st Storage, names ...string) (bool, error) {
	for _, n := range names {
		_, err := st.Stat(ctx, n)
		if err == nil {
			return true, nil
		}
		if !isNotExist(err) {
			return false, err
		}
	}
	return false, nil
}

// writeManifest writes m into a locked temporary file in stage and stores it as name.
func writeManifest(ctx context.Context, st Storage, name, stage string, m *Manifest) error {
	b, err := m.marshal()
	if err != nil {
		return err
	}
	tmp, release, err := reserveTemp(stage, ".vrwx-manifest-*.tmp")
	if err != nil {
		return err
	}
	defer release()
	defer os.Remove(tmp)
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write manifest %s: %w", st.Locate(name), describeIOError(err, stage))
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := st.Write(ctx, name, tmp, WriteOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("store manifest %s: %w", st.Locate(name), err)
	}
	return nil
}

type backuper interface {
	NewBackup(dstURI string) (*sqlite.Backup, error)
}

// copyDB writes a consistent snapshot of srcDB into the empty file tmp. srcFile is
// the same database file, which the snapshot method reads directly. When the
// snapshot method checks the snapshot itself while it copies, checking is how to
// wait for that check; otherwise it is nil and the copy is to be checked.
func copyDB(ctx context.Context, srcDB *sql.DB, srcFile *os.File, tmp string, opts BackupOptions, m *Manifest) (checking func() (CheckResult, error), err error) {
	if opts.Method == MethodSnapshot {
		return snapshotBackup(ctx, srcDB, srcFile, tmp, opts, m)
	}
	return nil, copyWithSQLite(ctx, srcDB, tmp, opts, m)
}

// copyWithSQLite copies with the backup API or VACUUM INTO.
func copyWithSQLite(ctx context.Context, srcDB *sql.DB, tmp string, opts BackupOptions, m *Manifest) error {
	conn, err := srcDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to database %s: %w", m.Source, err)
	}
	defer conn.Close()
	if err := conn.QueryRowContext(ctx, `SELECT sqlite_version()`).Scan(&m.SQLiteVersion); err != nil {
		return fmt.Errorf("read sqlite_version: %w", err)
	}
	var pageSize, pageCount int64
	if err := conn.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
		return fmt.Errorf("read page_size of %s: %w", m.Source, err)
	}
	if err := conn.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pageCount); err != nil {
		return fmt.Errorf("read page_count of %s: %w", m.Source, err)
	}
	total := pageSize * pageCount
	switch opts.Method {
	case MethodVacuumInto:
		err = vacuumInto(ctx, conn, tmp, total, opts.Progress)
	default:
		err = backupAPI(ctx, conn, tmp, opts.StepPages, pageSize, opts.Progress)
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", m.Source, describeIOError(err, filepath.Dir(tmp)))
	}
	return nil
}

// backupAPI copies the database page by page. The copy runs inside one read
// transaction that this connection opens first: in WAL mode that pins one snapshot
// for every step without blocking the API's writers, so the copy is one point in time
// and sqlite3_backup_step never restarts because another process wrote meanwhile.
// The destination runs without a journal and without syncs: it is a private
// temporary file that is fsynced once, at the end, before anyone can see it.
func backupAPI(ctx context.Context, conn *sql.Conn, tmp string, step int, pageSize int64, progress func(Progress)) error {
	if _, err := conn.ExecContext(ctx, `BEGIN`); err != nil {
		return fmt.Errorf("begin read transaction: %w", err)
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`)
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil {
		return fmt.Errorf("start read transaction: %w", err)
	}
	dstURI := apidbFileURI(tmp) + "?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)"
	return conn.Raw(func(dc any) error {
		bk, ok := dc.(backuper)
		if !ok {
			return fmt.Errorf("the sqlite driver has no online backup support")
		}
		b, err := bk.NewBackup(dstURI)
		if err != nil {
			return fmt.Errorf("start online backup: %w", err)
		}
		for {
			more, err := b.Step(int32(step))
			if err != nil {
				b.Finish()
				return fmt.Errorf("online backup step: %w", err)
			}
			total := int64(b.PageCount())
			done := total - int64(b.Remaining())
			if !more {
				done = total
			}
			progress(Progress{Phase: "copy", Done: done * pageSize, Total: total * pageSize, Pages: done, TotalPages: total})
			if !more {
				break
			}
			if err := ctx.Err(); err != nil {
				b.Finish()
				return err
			}
		}
		if err := b.Finish(); err != nil {
			return fmt.Errorf("finish online backup: %w", err)
		}
		return nil
	})
}

// vacuumInto runs VACUUM INTO, which has no progress hook, so progress is the
// growing output file against the source's size.
func vacuumInto(ctx context.Context, conn *sql.Conn, tmp string, total int64, progress func(Progress)) error {
	done := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if fi, err := os.Stat(tmp); err == nil {
					progress(Progress{Phase: "copy", Done: min(fi.Size(), total), Total: total})
				}
			}
		}
	}()
	// The poller must be gone before anyone else calls progress, so callers never
	// see two calls at once.
	stop := func() { close(done); <-polled }
	// SQLite counts VACUUM INTO as a write for query_only's purposes even though
	// only the new file is written, so lift the guard for this one statement.
	if _, err := conn.ExecContext(ctx, `PRAGMA query_only = 0`); err != nil {
		stop()
		return fmt.Errorf("VACUUM INTO: %w", err)
	}
	_, err := conn.ExecContext(ctx, `VACUUM INTO ?`, tmp)
	stop()
	if err != nil {
		return fmt.Errorf("VACUUM INTO: %w", err)
	}
	progress(Progress{Phase: "copy", Done: total, Total: total})
	return nil
}

func apidbFileURI(path string) string {
	dsn := apidb.ReadOnlyDSN(path)
	return dsn[:strings.IndexByte(dsn, '?')]
}

// describeIOError turns SQLite's "database or disk is full" and ENOSPC into an error
// that names the directory, because that is what the operator must free.
func describeIOError(err error, dir string) error {
	var se *sqlite.Error
	if (errors.As(err, &se) && se.Code()&0xff == 13) || errors.Is(err, syscall.ENOSPC) { // 13: SQLITE_FULL
		return errs.Failedf("no space left in %s", dir).Wrap(noSpace{err}).WithFix("free space in " + dir)
	}
	return err
}

// noSpace keeps the original error's text and chain and adds ErrNoSpace to it.
type noSpace struct{ err error }

func (n noSpace) Error() string   { return n.err.Error() }
func (n noSpace) Unwrap() []error { return []error{ErrNoSpace, n.err} }

// finish checks and inspects the self-contained copy and, side by side with the
// check (both only read the file), hashes it unless the copy already did, or
// compresses it, and makes it durable. It returns the path of the file to publish:
// tmp itself, or the compressed file.
func finish(ctx context.Context, tmp string, opts BackupOptions, m *Manifest, checking func() (CheckResult, error)) (string, error) {
	// The check's connection is immutable (no locks), so the other goroutine opening
	// and closing the file cannot drop a lock the check relies on.
	opts.Progress(Progress{Phase: "check"})
	type checked struct {
		res CheckResult
		err error
	}
	ch := make(chan checked, 1)
	go func() {
		if checking != nil {
			res, err := checking()
			ch <- checked{res, err}
			return
		}
		res, err := checkFile(ctx, tmp, opts.Quick)
		if err == nil && res.OK {
			err = describeCopy(ctx, tmp, m)
		}
		m.Checked = CheckedCopy
		ch <- checked{res, err}
	}()
	stored := tmp
	var err error
	total := m.PageCount * m.PageSize
	copyHash := m.DBSHA256
	switch {
	case opts.Compression == Gzip:
		// compressFile hashes the file as it reads it back, and syncs the .gz: this
		// file is discarded.
		stored = strings.TrimSuffix(tmp, ".tmp") + ".gz.tmp"
		err = compressFile(tmp, stored, m, opts.Progress)
		if err == nil && copyHash != "" && copyHash != m.DBSHA256 {
			err = errs.Failedf("the copy of %s changed on disk: sha256 %s when written, %s when read back", m.Source, copyHash, m.DBSHA256)
		}
	case copyHash == "":
		m.DBSize, m.DBSHA256, err = hashFile(tmp, func(n int64) {
			opts.Progress(Progress{Phase: "hash", Done: n, Total: total})
		})
		m.Size, m.SHA256 = m.DBSize, m.DBSHA256
	}
	if err == nil && opts.Compression == NoCompression {
		err = syncFile(tmp)
	}
	c := <-ch
	if err != nil {
		return stored, describeIOError(err, filepath.Dir(tmp))
	}
	if c.err != nil {
		return stored, c.err
	}
	m.Verify = c.res
	if !c.res.OK {
		what := "the copy of " + m.Source
		if m.Checked == CheckedSnapshot {
			what = m.Source + " (the snapshot being copied)"
		}
		return stored, errs.Failedf("%s failed %s: %s", what, c.res.Check, strings.Join(c.res.Errors, "; ")).
			WithFix("run `PRAGMA integrity_check` on the live database; the source itself may be damaged")
	}
	fi, err := os.Stat(tmp)
	if err != nil {
		return stored, err
	}
	if m.DBSize != total || fi.Size() != total {
		return stored, errs.Failedf("the copy of %s is %d bytes (%d hashed), expected %d pages of %d bytes", m.Source, fi.Size(), m.DBSize, m.PageCount, m.PageSize)
	}
	return stored, nil
}

// makeSelfContained switches the copy to journal_mode=DELETE (the copy carries the
// source's WAL flag in its header) and reads its geometry.
func makeSelfContained(ctx context.Context, tmp string, m *Manifest) error {
	db, err := sql.Open(apidb.DriverName, apidbFileURI(tmp)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return fmt.Errorf("open copy %s: %w", tmp, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode=DELETE`).Scan(&mode); err != nil {
		return fmt.Errorf("switch copy to journal_mode=DELETE: %w", describeIOError(err, filepath.Dir(tmp)))
	}
	if mode != "delete" {
		return fmt.Errorf("switch copy to journal_mode=DELETE: SQLite kept %q", mode)
	}
	if err := db.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&m.PageSize); err != nil {
		return fmt.Errorf("read page_size of copy: %w", err)
	}
	if err := db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&m.PageCount); err != nil {
		return fmt.Errorf("read page_count of copy: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("close copy: %w", err)
	}
	if _, err := os.Stat(tmp + "-wal"); err == nil {
		return fmt.Errorf("copy %s still has a -wal file after switching to journal_mode=DELETE", tmp)
	}
	b18, b19, err := journalBytes(tmp)
	if err != nil {
		return fmt.Errorf("read header of copy %s: %w", tmp, err)
	}
	if b18 != 1 || b19 != 1 {
		return fmt.Errorf("copy %s header still says WAL (bytes 18/19 = %d/%d)", tmp, b18, b19)
	}
	return nil
}

// describeCopy records the copy's migrations and row counts in the manifest.
func describeCopy(ctx context.Context, tmp string, m *Manifest) error {
	db, err := sql.Open(apidb.DriverName, checkDSN(tmp))
	if err != nil {
		return fmt.Errorf("open copy %s: %w", tmp, err)
	}
	defer db.Close()
	if err := describe(ctx, db, m); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	return nil
}

// describe records the migrations and row counts q sees in the manifest.
func describe(ctx context.Context, q apidb.Querier, m *Manifest) (err error) {
	if m.Migrations, err = apidb.AppliedMigrations(ctx, q); err != nil {
		return err
	}
	if _, m.MissingMigrations, err = apidb.CheckSchema(ctx, q); err != nil {
		return err
	}
	m.RowCounts, err = apidb.RowCounts(ctx, q)
	return err
}

// boundedCache keeps the memory of every connection this package opens flat in the
// database's size: a page cache of at most 2 MiB (SQLite's default, stated so that
// no build option or driver default can change it) and no memory map. A map is
// faster for the checks (about 1.8x for quick_check), but every page it touches
// counts as resident memory of the process, so checking a 1 GB file would show a
// 1 GB resident set, which is what a container's memory limit and the kubelet's
// working-set eviction look at. Reads through system calls cost more CPU instead;
// the benchmark measures that against sqlite3's own backup.
const boundedCache = "&_pragma=cache_size(-2000)&_pragma=mmap_size(0)"

// checkDSN opens a finished backup file that nobody writes: read-only, immutable
// (no locks, no -shm), with a bounded cache and no memory map.
func checkDSN(path string) string {
	return apidbFileURI(path) + "?mode=ro&immutable=1" + boundedCache
}

// checkFile runs integrity_check (or quick_check) on a file nobody else writes.
func checkFile(ctx context.Context, path string, quick bool) (CheckResult, error) {
	db, err := sql.Open(apidb.DriverName, checkDSN(path))
	if err != nil {
		return CheckResult{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	res, err := runCheck(ctx, db, quick)
	if err != nil {
		return res, fmt.Errorf("%s of %s: %w", res.Check, path, err)
	}
	return res, nil
}

// runCheck runs integrity_check (or quick_check) through q and collects what it
// finds (at most 100 problems).
func runCheck(ctx context.Context, q apidb.Querier, quick bool) (CheckResult, error) {
	res := CheckResult{Check: "integrity_check"}
	if quick {
		res.Check = "quick_check"
	}
	rows, err := q.QueryContext(ctx, `PRAGMA `+res.Check+`(100)`)
	if cerr := ctx.Err(); cerr != nil {
		return res, cerr // cut short: not a verdict on the file
	}
	if err != nil {
		// A file too damaged to prepare a statement on fails the check; it is not an
		// error in running the check.
		res.Errors = []string{err.Error()}
		return res, nil
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return res, err
		}
		res.Errors = append(res.Errors, s)
	}
	if err := rows.Err(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return res, cerr
		}
		res.Errors = append(res.Errors, err.Error())
		return res, nil
	}
	if len(res.Errors) == 1 && res.Errors[0] == "ok" {
		res.OK, res.Errors = true, nil
	}
	return res, nil
}

// compressFile gzips src into dst, hashing both sides in the same pass.
func compressFile(src, dst string, m *Manifest, progress func(Progress)) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", dst, cerr)
		}
	}()
	dbHash, outHash := sha256.New(), sha256.New()
	counter := &countWriter{}
	zw, err := gzip.NewWriterLevel(io.MultiWriter(out, outHash, counter), gzip.BestSpeed)
	if err != nil {
		return err
	}
	total := m.PageCount * m.PageSize
	pr := &progressReader{r: in, fn: func(n int64) { progress(Progress{Phase: "compress", Done: n, Total: total}) }}
	n, err := io.Copy(io.MultiWriter(zw, dbHash), pr)
	if err != nil {
		return fmt.Errorf("compress %s: %w", src, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress %s: %w", src, err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dst, err)
	}
	m.DBSize, m.DBSHA256 = n, hex.EncodeToString(dbHash.Sum(nil))
	m.Size, m.SHA256 = counter.n, hex.EncodeToString(outHash.Sum(nil))
	return nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(b []byte) (int, error) { c.n += int64(len(b)); return len(b), nil }
