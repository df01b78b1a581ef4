package sqlitebackup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
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
	DryRun          bool       // verify and report what would happen, change nothing
	Quick           bool       // quick_check instead of integrity_check
	AllowNoManifest bool       // restore a backup that has no manifest (checksum unchecked)
	S3              *s3.Client // nil builds one from S3Config the first time S3 is used
	S3Config        S3Config
	Now             func() time.Time
	Progress        func(Progress)
	// Engine reads litestream replicas (nil: a replica cannot be restored); At is
	// the point in time to restore a replica to (zero: its latest state; a backup
	// refuses one).
	Engine ReplicaEngine
	At     time.Time
	// KeepPreRestore, when ≥ 1, deletes the oldest pre-restore-* folders in the
	// database's directory after a restore so that only the newest KeepPreRestore
	// remain (the one this restore made among them); 0 keeps every one.
	KeepPreRestore int
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
	// Pending are the restored database's PENDING idempotency keys: relays that were
	// in flight when the backup was taken, which the API will retry.
	Pending []apidb.PendingKey
	DryRun  bool
	// Recovered is an earlier, interrupted restore of this database that Restore
	// finished first (with DryRun: would finish); Cleaned are temporary files of
	// killed runs it removed from the database's directory, NotCleaned those it
	// could not remove (TempFile.RemoveErr says why).
	Recovered  *apidb.Recovery
	Cleaned    []string
	NotCleaned []TempFile
	// PrunedPreRestore are the pre-restore folders deleted by KeepPreRestore;
	// PruneErr says why retention stopped, when it did (the restore itself is done).
	PrunedPreRestore []string
	PruneErr         error
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
	if st, name := splitObject(from, s3Access{client: opts.S3, config: opts.S3Config}); name != "" {
		if o, err := st.Stat(ctx, name); err == nil && o.Path != "" && sameFile(o.Path, abs) {
			return nil, badInput(InputBackup, o.Path, "is the database itself: expected a backup file")
		}
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
		rep.Cleaned, rep.NotCleaned = cleanTemps(dir, time.Now())
	}

	// Ask early so an operator with the API still running learns it before a long
	// download, and ask again just before the swap, which is the moment that counts.
	if err := refuseIfHeld(ctx, abs, opts.Force, rep); err != nil && !opts.DryRun {
		return rep, err
	}

	vopts := VerifyOptions{Quick: opts.Quick, AllowNoManifest: opts.AllowNoManifest, S3: opts.S3, S3Config: opts.S3Config, Progress: opts.Progress,
		Engine: opts.Engine, At: opts.At}
	vopts.normalize()
	vrep, mat, err := verifyAny(ctx, from, vopts, dir, false)
	rep.Verify = vrep
	if mat != nil {
		defer mat.cleanup()
	}
	if err != nil {
		if errs.Is(err, errs.Usage) || errors.Is(err, ErrNoEngine) || errors.Is(err, ErrEmptyReplica) || errors.Is(err, ErrV3Replica) {
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
		rep.Pending = vrep.Pending
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
	if opts.KeepPreRestore > 0 {
		rep.PrunedPreRestore, rep.PruneErr = prunePreRestore(dir, opts.KeepPreRestore, rep.PreRestoreDir)
	}
	// The check that passed ran on this very file under its temporary name: a
	// rename moves no byte, so checking it again would only double the time.
	rep.Check = vrep.Check
	rep.Pending = vrep.Pending
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

// preRestoreName matches the folders Restore keeps replaced files in:
// pre-restore-<UTC time>[-N]. Compiled on first use: start-up pays nothing.
var preRestoreName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^pre-restore-(\d{8}T\d{6}Z)(?:-(\d+))?$`) })

// prunePreRestore deletes the oldest pre-restore folders in dir beyond the newest
// keep, and returns what it deleted. current, the folder this restore made (""
// when none), counts as the newest whatever its name (a name freed by an earlier
// deletion may be reused within one second). Folders whose names are not exactly
// Restore's are never touched, nor is one that an interrupted restore's journal
// still names.
func prunePreRestore(dir string, keep int, current string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	inUse := map[string]bool{}
	if current != "" {
		inUse[current] = true
		keep--
	}
	journals, _ := filepath.Glob(filepath.Join(dir, ".*.restore-journal"))
	for _, jp := range journals {
		db := filepath.Join(dir, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(jp), "."), ".restore-journal"))
		if j, err := apidb.ReadJournal(db); err == nil && j != nil {
			inUse[j.PreRestoreDir] = true
		}
	}
	type folder struct {
		name string
		at   string
		n    int
	}
	var folders []folder
	for _, d := range des {
		m := preRestoreName().FindStringSubmatch(d.Name())
		if m == nil || !d.IsDir() || inUse[filepath.Join(dir, d.Name())] {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		folders = append(folders, folder{d.Name(), m[1], n})
	}
	if len(folders) <= keep {
		return nil, nil
	}
	sort.Slice(folders, func(i, j int) bool {
		if folders[i].at != folders[j].at {
			return folders[i].at < folders[j].at
		}
		return folders[i].n < folders[j].n
	})
	var pruned []string
	for _, f := range folders[:len(folders)-keep] {
		p := filepath.Join(dir, f.name)
		if err := os.RemoveAll(p); err != nil {
			return pruned, fmt.Errorf("delete old %s: %w", p, err)
		}
		pruned = append(pruned, p)
	}
	return pruned, apidb.SyncDir(dir)
}
