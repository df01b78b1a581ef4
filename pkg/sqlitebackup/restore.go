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
	Quick           bool // quick_check instead of integrity_check
	AllowNoManifest bool // restore a backup that has no manifest (checksum unchecked)
	S3              *s3.Client
	Now             func() time.Time
	Progress        func(Progress)
	// AfterStep, when set, is called at each boundary between the steps that
	// change files (RestoreStep*), so a test can stop the process at any of them
	// and check that the next run heals what it left.
	AfterStep func(step string)
}

// The step boundaries of a restore, in order (RestoreOptions.AfterStep). Between
// StepJournal and StepDone a restore journal beside the database says what is
// under way; apidb.Recover finishes the restore from any of them.
const (
	StepVerified = "verified" // the verified private copy is durable; nothing changed yet
	StepJournal  = "journal"  // the journal is written
	StepMoved    = "moved "   // + file name: one of the current files is in the pre-restore directory
	StepMovedAll = "moved-all"
	StepRenamed  = "renamed" // the copy is in place
	StepSynced   = "synced"  // ... durably
	StepDone     = "done"    // the journal is gone
)

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
	// Recovered is an earlier, interrupted restore of this database that Restore
	// finished first (with DryRun: would finish); Cleaned are temporary files of
	// killed runs it removed from the database's directory.
	Recovered *apidb.Recovery
	Cleaned   []string
}

// Restore replaces the database at dbPath with the backup at from. It verifies the
// backup first (checksum, integrity, tables, migrations) and refuses one that fails;
// it refuses while another process has the database open unless Force; it moves the
// current database and its -wal/-shm/-journal into <dir>/pre-restore-<time>/ (never
// deleting them) and renames the private copy it checked into place, keeping a
// journal so that a restore killed halfway is finished by the next command that opens
// the database (apidb.Recover). Nothing at dbPath changes before every check has
// passed.
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
	step := func(s string) {
		if opts.AfterStep != nil {
			opts.AfterStep(s)
		}
	}
	if rep.Recovered, err = apidb.Recover(ctx, abs, opts.DryRun); err != nil {
		return rep, err
	}
	if !opts.DryRun {
		rep.Cleaned = cleanTemps(dir, time.Now())
	}

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

	// The sidecars move first: a database without its -wal loses at most the log's
	// commits (and they are in the pre-restore directory), while a -wal left beside
	// a new database would be replayed into it.
	var existing []string
	for _, p := range append(sidecarPaths(abs), abs) {
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
	step(StepVerified)
	j := &apidb.RestoreJournal{DB: abs, Backup: rep.From.String(), Restored: restored, RestoredSize: mat.dbSize,
		RestoredSHA256: mat.dbSHA256, PreRestoreDir: filepath.Join(dir, "pre-restore-"+stamp), StartedAt: opts.Now().UTC()}
	if j.RestoredID, err = apidb.FileID(restored); err != nil {
		return rep, err
	}
	if len(existing) > 0 {
		keepOwnership(abs, restored)
		if j.PreRestoreDir, err = makePreRestoreDir(dir, stamp); err != nil {
			return rep, err
		}
		rep.PreRestoreDir = j.PreRestoreDir
	}
	for _, p := range existing {
		id, err := apidb.FileID(p)
		if err != nil {
			return rep, err
		}
		j.Files = append(j.Files, apidb.JournalFile{Path: p, ID: id})
	}
	if err := apidb.WriteJournal(j); err != nil {
		if rep.PreRestoreDir != "" {
			os.Remove(rep.PreRestoreDir)
		}
		return rep, err
	}
	// From here on the journal stands for the copy: a failure leaves both for
	// apidb.Recover to finish, which the next command that opens the database does.
	removeRestored = false
	unfinished := func(err error) error {
		return errs.Failedf("the restore of %s stopped halfway", abs).Wrap(err).
			WithFix("run the restore again, or any command that opens the database: it completes the restore from the journal " + apidb.JournalPath(abs))
	}
	step(StepJournal)
	for _, p := range existing {
		if err := os.Rename(p, filepath.Join(rep.PreRestoreDir, filepath.Base(p))); err != nil {
			return rep, unfinished(err)
		}
		rep.Moved = append(rep.Moved, p)
		step(StepMoved + filepath.Base(p))
	}
	if rep.PreRestoreDir != "" {
		if err := apidb.SyncDir(rep.PreRestoreDir); err != nil {
			return rep, unfinished(err)
		}
	}
	step(StepMovedAll)
	if err := os.Rename(restored, abs); err != nil {
		return rep, unfinished(fmt.Errorf("put the backup in place at %s: %w", abs, err))
	}
	step(StepRenamed)
	if err := apidb.SyncDir(dir); err != nil {
		return rep, unfinished(err)
	}
	step(StepSynced)
	// The copy's lock goes before anything opens the database here: closing its
	// descriptor drops every lock this process holds on the file.
	mat.release()
	if err := apidb.RemoveJournal(abs); err != nil {
		return rep, err
	}
	step(StepDone)

	for _, p := range sidecarPaths(abs) {
		if _, err := os.Lstat(p); err == nil {
			return rep, errs.Failedf("%s appeared after the restore: a process still has the old database open", p).
				WithFix("stop every process using the database, move " + p + " away, and check the restored database")
		}
	}
	// The check that passed ran on this very file under its temporary name: a
	// rename moves no byte, so checking it again would only double the time.
	rep.Check = vrep.Check
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
