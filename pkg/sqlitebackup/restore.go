package sqlitebackup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// RestoreOptions tunes Restore.
type RestoreOptions struct {
	// Force restores even while another process has the database open. The files
	// are still moved aside, never deleted, but the other process keeps writing to
	// the moved files and will not see the restored data until it reopens.
	Force           bool
	DryRun          bool // verify and report what would happen, change nothing
	Quick           bool // quick_check instead of integrity_check, before and after
	AllowNoManifest bool // restore a backup that has no manifest (checksum unchecked)
	S3              *s3.Client
	Now             func() time.Time
	Progress        func(Progress)
}

// RestoreReport says what Restore did (or, with DryRun, would do).
type RestoreReport struct {
	From    Location
	DBPath  string
	Verify  *VerifyReport
	Holders []apidb.Holder
	// PreRestoreDir holds the files the restore replaced; "" when there were none.
	PreRestoreDir string
	Moved         []string // the replaced files' original paths
	Check         CheckResult
	RowCounts     map[string]int64 // per table, of the restored database
	DryRun        bool
}

// Restore replaces the database at dbPath with the backup at from. It verifies the
// backup first (checksum, integrity, tables, migrations) and refuses one that fails;
// it refuses while another process has the database open unless Force; it moves the
// current database and its -wal/-shm/-journal into <dir>/pre-restore-<time>/ (never
// deleting them), renames a private copy of the backup into place, and checks the
// result. Nothing at dbPath changes before every check has passed.
func Restore(ctx context.Context, from Location, dbPath string, opts RestoreOptions) (*RestoreReport, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Progress == nil {
		opts.Progress = func(Progress) {}
	}
	if strings.TrimSpace(dbPath) == "" {
		return nil, &errs.Error{Kind: errs.Usage, Err: apidb.ErrNoPath}
	}
	abs, err := filepath.Abs(dbPath)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", dbPath, err)
	}
	dir := filepath.Dir(abs)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, badInput(InputDatabase, dbPath, ": directory "+dir+" does not exist")
	}
	if fi, err := os.Stat(abs); err == nil && !fi.Mode().IsRegular() {
		return nil, badInput(InputDatabase, dbPath, "is not a regular file: expected the path of the API's database")
	}
	if !from.IsS3() && sameFile(from.Path, abs) {
		return nil, badInput(InputBackup, from.Path, "is the database itself: expected a backup file")
	}
	rep := &RestoreReport{From: from, DBPath: abs, DryRun: opts.DryRun}

	// Ask early so an operator with the API still running learns it before a long
	// download, and ask again just before the swap, which is the moment that counts.
	if err := refuseIfHeld(ctx, abs, opts.Force, rep); err != nil && !opts.DryRun {
		return rep, err
	}

	vopts := VerifyOptions{Quick: opts.Quick, AllowNoManifest: opts.AllowNoManifest, S3: opts.S3, Progress: opts.Progress}
	vopts.normalize()
	vrep, mat, err := verify(ctx, from, vopts, dir, false)
	rep.Verify = vrep
	if mat != nil {
		defer mat.cleanup()
	}
	if err != nil {
		if errs.Is(err, errs.Usage) {
			return rep, err
		}
		return rep, errs.Refusedf("refusing to restore %s", from).Wrap(err).WithFix("use another backup or take a new one")
	}
	if !vrep.OK {
		return rep, errs.Refusedf("refusing to restore %s: it does not verify: %s", vrep.Location, strings.Join(vrep.Problems, "; ")).
			Wrap(ErrDoesNotVerify).WithFix("use another backup or take a new one")
	}
	rep.From = vrep.Location

	var existing []string
	for _, p := range append([]string{abs}, sidecarPaths(abs)...) {
		if _, err := os.Lstat(p); err == nil {
			existing = append(existing, p)
		}
	}
	stamp := opts.Now().UTC().Format(nameTimeLayout)
	if opts.DryRun {
		if len(existing) > 0 {
			rep.PreRestoreDir = filepath.Join(dir, "pre-restore-"+stamp)
			rep.Moved = existing
		}
		rep.Check = vrep.Check
		rep.RowCounts = vrep.RowCounts
		return rep, refuseIfHeld(ctx, abs, opts.Force, rep)
	}
	if err := refuseIfHeld(ctx, abs, opts.Force, rep); err != nil {
		return rep, err
	}

	restored := mat.take()
	removeRestored := true
	defer func() {
		if removeRestored {
			removeDBFiles(restored)
		}
	}()
	if err := syncFile(restored); err != nil {
		return rep, err
	}
	if len(existing) > 0 {
		keepOwnership(abs, restored)
		if rep.PreRestoreDir, err = makePreRestoreDir(dir, stamp); err != nil {
			return rep, err
		}
		for _, p := range existing {
			if err := os.Rename(p, filepath.Join(rep.PreRestoreDir, filepath.Base(p))); err != nil {
				return rep, errs.Failedf("move %s into %s: %v", p, rep.PreRestoreDir, err).Wrap(err).
					WithFix("files already moved are in " + rep.PreRestoreDir + "; move them back before starting the API")
			}
			rep.Moved = append(rep.Moved, p)
		}
		if err := syncDir(rep.PreRestoreDir); err != nil {
			return rep, err
		}
	}
	if err := os.Rename(restored, abs); err != nil {
		return rep, fmt.Errorf("put the backup in place at %s: %w", abs, err)
	}
	removeRestored = false
	if err := syncDir(dir); err != nil {
		return rep, err
	}

	for _, p := range sidecarPaths(abs) {
		if _, err := os.Lstat(p); err == nil {
			return rep, errs.Failedf("%s appeared after the restore: a process still has the old database open", p).
				WithFix("stop every process using the database, move " + p + " away, and check the restored database")
		}
	}
	if rep.Check, err = checkFile(ctx, abs, opts.Quick); err != nil {
		return rep, err
	}
	if !rep.Check.OK {
		return rep, errs.Failedf("the restored database %s failed %s: %s", abs, rep.Check.Check, strings.Join(rep.Check.Errors, "; ")).
			WithFix("the previous files are in " + rep.PreRestoreDir)
	}
	db, err := sql.Open(apidb.DriverName, apidb.ReadOnlyDSN(abs))
	if err != nil {
		return rep, err
	}
	defer db.Close()
	if rep.RowCounts, err = apidb.RowCounts(ctx, db); err != nil {
		return rep, fmt.Errorf("restored database %s: %w", abs, err)
	}
	return rep, nil
}

func sidecarPaths(db string) []string {
	out := make([]string, len(sidecars))
	for i, s := range sidecars {
		out[i] = db + s
	}
	return out
}

func refuseIfHeld(ctx context.Context, db string, force bool, rep *RestoreReport) error {
	holders, err := apidb.Holders(ctx, db)
	if err != nil {
		if force && errs.Is(err, errs.Refused) {
			return nil
		}
		return err
	}
	rep.Holders = holders
	if len(holders) == 0 || force {
		return nil
	}
	list := make([]string, len(holders))
	for i, h := range holders {
		list[i] = h.String()
	}
	return errs.Refusedf("refusing to restore over %s while another process has it open: %s", db, strings.Join(list, "; ")).
		Wrap(ErrInUse).WithFix("stop the API first (kubectl scale deployment/vrwx-api --replicas=0)")
}

// makePreRestoreDir creates <dir>/pre-restore-<stamp>, adding -N if it exists.
func makePreRestoreDir(dir, stamp string) (string, error) {
	for n := 0; n < 1000; n++ {
		p := filepath.Join(dir, "pre-restore-"+stamp)
		if n > 0 {
			p += "-" + strconv.Itoa(n)
		}
		err := os.Mkdir(p, 0o700)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("create %s: %w", p, err)
		}
	}
	return "", errs.Failedf("no free pre-restore directory name in %s", dir)
}
