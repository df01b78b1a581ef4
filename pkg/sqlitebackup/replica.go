package sqlitebackup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/litereplica/wire"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// Litestream replicas are the third kind of place a database can come back from,
// beside backups in a directory or under an S3 prefix: litestream (v0.5.x)
// replicates the API's write-ahead log continuously as LTX files
// (<replica>/ltx/<level>/<txid>-<txid>.ltx in a directory, <prefix>/<level as
// %04x>/… in a bucket). This package never reads that format
// itself: a ReplicaEngine — litestream's own replica clients and restore, run as
// the vrwxctl-litestream helper (ExecEngine) — describes a replica and restores it
// into a file, and Restore then applies the same rails as to a backup (integrity,
// tables, migrations, holders, journal, pre-restore folder).

// ReplicaEngine reads litestream replicas.
type ReplicaEngine interface {
	// Describe lists a replica's LTX files (nothing downloaded).
	Describe(ctx context.Context, replica Location, s3 S3Config) (*ReplicaInfo, error)
	// Restore writes the replica's state at the point in time at (the latest when
	// zero) into output, which must not exist.
	Restore(ctx context.Context, replica Location, s3 S3Config, output string, at time.Time) (*ReplicaRestore, error)
}

// Conditions of a replica a caller explains in its own terms.
var (
	// ErrV3Replica: the location holds a litestream v0.3.x replica (generations of
	// snapshots and WAL segments), which vrwxctl does not read.
	ErrV3Replica = errors.New("a litestream v0.3.x replica")
	// ErrEmptyReplica: no LTX file under the location.
	ErrEmptyReplica = errors.New("no litestream replica there")
	// ErrNotInReplica: a point in time before the replica's first snapshot.
	ErrNotInReplica = errors.New("the point in time is not in the replica")
	// ErrNoEngine: the vrwxctl-litestream helper is not installed.
	ErrNoEngine = errors.New("vrwxctl-litestream not found")
)

// ReplicaLevel is one LTX level of a replica (0: each sync; 9: snapshots).
type ReplicaLevel = wire.Level

// ReplicaSnapshot is one full snapshot of the database in a replica.
type ReplicaSnapshot = wire.Snapshot

// ReplicaInfo describes a replica. Earliest to Latest is what a point-in-time
// restore can reach; Latest is the replicated position's time (the newest LTX
// file), whose age is the replication's lag.
type ReplicaInfo struct {
	Format    string            `json:"format"`
	Levels    []ReplicaLevel    `json:"levels"`
	Snapshots []ReplicaSnapshot `json:"snapshots"`
	Earliest  time.Time         `json:"earliest"`
	Latest    time.Time         `json:"latest"`
	MaxTXID   string            `json:"maxTxid"`
}

// ReplicaRestore is the position a restore from a replica reached: the newest
// transaction it holds, and that transaction's replication time.
type ReplicaRestore struct {
	TXID  string    `json:"txid"`
	At    time.Time `json:"at"`
	Files int       `json:"files"`
}

// ParseReplicaTime reads a --timestamp: RFC 3339, with or without fractions.
func ParseReplicaTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errs.Usagef("timestamp %s: expected RFC 3339, e.g. 2026-11-27T03:15:00Z", redact.Quote(s))
	}
	return t.UTC(), nil
}

// isReplica reports whether loc holds a litestream replica, by its layout: LTX
// files in ltx/<level>/ (litestream's file replicas) or in <level as %04x>/ (its
// object-store replicas: 0000/ for each sync, 0009/ for snapshots). A v0.3.x layout
// (generations/) is ErrV3Replica. A file:// location is a replica by its form.
func isReplica(ctx context.Context, loc Location, c s3Access) (bool, error) {
	if loc.Replica {
		return true, nil
	}
	st := openStorage(loc, c)
	for _, folder := range []string{"ltx", "0009", "0000", "generations"} {
		_, err := st.Stat(ctx, folder)
		switch {
		case errors.Is(err, errNotAnObject) && folder == "generations":
			return false, replicaErr(loc, fmt.Errorf("%w", ErrV3Replica))
		case errors.Is(err, errNotAnObject):
			return true, nil
		case err != nil && !isNotExist(err) && !errors.Is(err, errNotAFolder):
			return false, err
		}
	}
	return false, nil
}

// replicaErr says what a replica condition means for the operator.
func replicaErr(loc Location, err error) error {
	switch {
	case errors.Is(err, ErrV3Replica):
		return errs.Usagef("%s is a litestream v0.3.x replica (generations/…): expected a litestream v0.5.x (LTX) replica or a backup", loc).Wrap(err).
			WithFix("restore it with litestream v0.3.x's own `litestream restore -o FILE " + loc.String() + "`, then vrwxctl db restore --from FILE; or replicate with litestream v0.5.x")
	case errors.Is(err, ErrEmptyReplica):
		return errs.Failedf("%s holds no litestream replica (no ltx/ files)", loc).Wrap(err).
			WithFix("check the replica URL (litestream.yml's replicas: url) and that litestream replicate runs beside the API")
	case errors.Is(err, ErrNotInReplica):
		return errs.Usagef("%v", err).Wrap(err).WithFix("vrwxctl db list " + loc.String() + " shows the time range a --timestamp can reach")
	case errors.Is(err, ErrNoEngine):
		return errs.Failedf("reading litestream replicas needs vrwxctl-litestream, which is not installed").Wrap(err).
			WithFix("install it beside vrwxctl (it ships in the same archive and package), or set VRWXCTL_LITESTREAM to its path")
	}
	return err
}

// DescribeReplica describes the replica at loc.
func DescribeReplica(ctx context.Context, loc Location, engine ReplicaEngine, s3 S3Config) (*ReplicaInfo, error) {
	if engine == nil {
		return nil, replicaErr(loc, ErrNoEngine)
	}
	info, err := engine.Describe(ctx, loc, s3)
	if err != nil {
		return nil, replicaErr(loc, err)
	}
	return info, nil
}

// ExecEngine is the ReplicaEngine that runs the vrwxctl-litestream helper, which
// links litestream so that vrwxctl does not have to.
type ExecEngine struct {
	Path string
}

// HelperName is the helper's file name.
const HelperName = "vrwxctl-litestream"

// FindEngine locates the helper: the path given (the profile's litestream_helper,
// VRWXCTL_LITESTREAM), else beside the running executable, else on PATH. It returns
// nil when there is none: a replica then fails with ErrNoEngine, and nothing else
// is affected. It looks only when called, never at start-up.
func FindEngine(path string) ReplicaEngine {
	if path != "" {
		return &ExecEngine{Path: path}
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), HelperName)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return &ExecEngine{Path: p}
		}
	}
	if p, err := exec.LookPath(HelperName); err == nil {
		return &ExecEngine{Path: p}
	}
	return nil
}

func (e *ExecEngine) run(ctx context.Context, out any, cmd string, loc Location, s3 S3Config, args ...string) error {
	// The S3 settings go along; a directory's replica has no use for them.
	t := wire.Target{Path: loc.Path, Bucket: loc.Bucket, Key: loc.Key, Endpoint: s3.Endpoint, Region: s3.Region, PathStyle: s3.PathStyle}
	tj, _ := json.Marshal(t)
	c := exec.CommandContext(ctx, e.Path, append([]string{cmd, string(tj)}, args...)...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	runErr := c.Run()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var fail wire.Failure
	if runErr != nil {
		var ee *exec.ExitError
		if !errors.As(runErr, &ee) {
			return fmt.Errorf("%w: run %s: %v", ErrNoEngine, e.Path, runErr)
		}
		if json.Unmarshal(stdout.Bytes(), &fail) != nil || fail.Error == "" {
			return fmt.Errorf("%s %s: %v: %s", HelperName, cmd, runErr, strings.TrimSpace(stderr.String()))
		}
		switch fail.Kind {
		case wire.KindV3:
			return fmt.Errorf("%s: %w", fail.Error, ErrV3Replica)
		case wire.KindEmpty:
			return fmt.Errorf("%s: %w", fail.Error, ErrEmptyReplica)
		case wire.KindNotReachable:
			return fmt.Errorf("%s: %w", fail.Error, ErrNotInReplica)
		}
		return errors.New(fail.Error)
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return fmt.Errorf("%s %s answered %q: %w", HelperName, cmd, stdout.String(), err)
	}
	return nil
}

func (e *ExecEngine) Describe(ctx context.Context, replica Location, s3 S3Config) (*ReplicaInfo, error) {
	var info ReplicaInfo
	if err := e.run(ctx, &info, "describe", replica, s3); err != nil {
		return nil, err
	}
	return &info, nil
}

func (e *ExecEngine) Restore(ctx context.Context, replica Location, s3 S3Config, output string, at time.Time) (*ReplicaRestore, error) {
	var args []string
	if !at.IsZero() {
		args = append(args, at.UTC().Format(time.RFC3339Nano))
	}
	var r ReplicaRestore
	if err := e.run(ctx, &r, "restore", replica, s3, append([]string{output}, args...)...); err != nil {
		return nil, err
	}
	return &r, nil
}

// materializeReplica restores the replica at loc (at the point in time at) into a
// locked temporary file in workDir, through the engine, and makes it
// self-contained: the restored file says "WAL" in its header, with no log beside it,
// which a rollback-journal header says without a -wal/-shm pair appearing when it
// is opened read-only.
func materializeReplica(ctx context.Context, loc Location, engine ReplicaEngine, s3 S3Config, at time.Time, workDir string) (*materialized, *ReplicaRestore, error) {
	if engine == nil {
		return nil, nil, replicaErr(loc, ErrNoEngine)
	}
	owner, release, err := reserveTemp(workDir, ".vrwx-restore-*.db.tmp")
	if err != nil {
		return nil, nil, err
	}
	out := owner + litestreamSuffix
	mat := &materialized{db: out, temps: []string{owner, out}, releases: []func(){release}}
	res, err := engine.Restore(ctx, loc, s3, out, at)
	if err != nil {
		return mat, nil, replicaErr(loc, err)
	}
	if err := setRollbackJournal(out); err != nil {
		return mat, nil, err
	}
	if mat.dbSize, mat.dbSHA256, err = hashFile(out, nil); err != nil {
		return mat, nil, err
	}
	return mat, res, nil
}

// litestreamSuffix names the file a restore from a replica writes beside its locked
// temporary file (litestream's restore wants a path that does not exist yet, and
// writes <path>.tmp first): a companion that lives and dies with it.
const litestreamSuffix = "-litestream"

// setRollbackJournal sets the header's file-format bytes (18, 19) to 1, rollback
// journal, which is all PRAGMA journal_mode=DELETE changes in a file with no log.
func setRollbackJournal(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{1, 1}, 18); err != nil {
		return fmt.Errorf("write header of %s: %w", path, err)
	}
	return f.Sync()
}

// IsReplica reports whether loc holds a litestream replica (by its layout; a
// v0.3.x one is an error wrapping ErrV3Replica), without describing it.
func IsReplica(ctx context.Context, loc Location, opts ListOptions) (bool, error) {
	return isReplica(ctx, loc, opts.access())
}

// ListReplica describes loc when it holds a litestream replica; ok is false (and
// nothing is read through the engine) when it does not.
func ListReplica(ctx context.Context, loc Location, opts ListOptions) (info *ReplicaInfo, ok bool, err error) {
	ok, err = isReplica(ctx, loc, opts.access())
	if err != nil || !ok {
		return nil, ok, err
	}
	info, err = DescribeReplica(ctx, loc, opts.Engine, opts.S3Config)
	return info, true, err
}
