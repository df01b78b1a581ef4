package apidb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

// A restore replaces the database in two renames that no file system makes atomic
// together: the current files move into a pre-restore directory, then the verified
// copy takes their place. A process killed between the two leaves no database at the
// path. So a restore first writes a journal beside the database saying what it is
// about to do, and whatever opens the database next (Recover) finishes the job: it
// completes the restore when the verified copy is intact, and otherwise puts the
// original files back.

// JournalFormat identifies the restore journal's layout.
const JournalFormat = "vrwx-restore-journal/1"

// JournalFile is one file a restore moves aside, with its identity at the time so a
// different file later found at the same path is not mistaken for it.
type JournalFile struct {
	Path string `json:"path"`
	ID   string `json:"id,omitempty"`
}

// RestoreJournal is what a restore in progress has promised to do.
type RestoreJournal struct {
	Format string `json:"format"`
	// DB is the absolute path of the database being replaced.
	DB string `json:"db"`
	// Backup names where the restored data came from, for messages.
	Backup string `json:"backup"`
	// Restored is the verified private copy that will be renamed to DB; its size,
	// sha256 and identity tell an intact copy from a damaged or a foreign one.
	Restored       string `json:"restored"`
	RestoredSize   int64  `json:"restored_size"`
	RestoredSHA256 string `json:"restored_sha256"`
	RestoredID     string `json:"restored_id,omitempty"`
	// PreRestoreDir receives Files (the database and its -journal, -wal, -shm as
	// they existed when the restore began).
	PreRestoreDir string        `json:"pre_restore_dir"`
	Files         []JournalFile `json:"files"`
	StartedAt     time.Time     `json:"started_at"`
}

// JournalPath is where the restore journal of the database at db lives: beside it,
// hidden, named after it.
func JournalPath(db string) string {
	return filepath.Join(filepath.Dir(db), "."+filepath.Base(db)+".restore-journal")
}

// WriteJournal makes j durable beside its database before the restore touches any
// file: written to a temporary name, fsynced, renamed, and the directory fsynced.
func WriteJournal(j *RestoreJournal) error {
	j.Format = JournalFormat
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("encode restore journal: %w", err)
	}
	path := JournalPath(j.DB)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write restore journal %s: %w", path, err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write restore journal %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// RemoveJournal deletes the journal of the database at db once the restore is
// whole, durably.
func RemoveJournal(db string) error {
	if err := os.Remove(JournalPath(db)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove restore journal: %w", err)
	}
	return SyncDir(filepath.Dir(db))
}

// ReadJournal returns the journal of the database at db, or nil when there is none.
func ReadJournal(db string) (*RestoreJournal, error) {
	b, err := os.ReadFile(JournalPath(db))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read restore journal: %w", err)
	}
	var j RestoreJournal
	if err := json.Unmarshal(b, &j); err != nil || j.Format != JournalFormat || j.DB == "" || j.Restored == "" || j.PreRestoreDir == "" {
		return nil, errs.Failedf("restore journal %s is unreadable (%v); a restore of %s was interrupted", JournalPath(db), err, db).
			WithFix("look at the journal, the " + filepath.Base(db) + " files and the pre-restore-* directories beside it, put the database together by hand, then delete the journal")
	}
	return &j, nil
}

// SyncDir fsyncs a directory so renames and unlinks inside it survive a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		// Some file systems cannot fsync a directory (EINVAL); their renames are as
		// durable as they get.
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// RecoveryAction is what Recover did (or, dry, would do) with an interrupted restore.
type RecoveryAction string

const (
	// Completed: the verified copy was intact; the files still in place were moved
	// aside and the copy renamed into place.
	Completed RecoveryAction = "completed"
	// RolledBack: the copy was missing or damaged; the moved files were put back.
	RolledBack RecoveryAction = "rolled back"
	// Finished: the copy was already in place; only the journal was left to remove.
	Finished RecoveryAction = "finished"
)

// Recovery describes an interrupted restore that Recover found.
type Recovery struct {
	Journal *RestoreJournal
	Action  RecoveryAction
	Reason  string   // why it rolled back
	Moved   []string // files moved (or, dry, to be moved), as "from -> to"
	DryRun  bool
}

// String says what happened, for the operator.
func (r *Recovery) String() string {
	j := r.Journal
	what := fmt.Sprintf("the restore of %s from %s, interrupted (started %s)", j.DB, j.Backup, j.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	verb := map[RecoveryAction][2]string{
		Completed:  {"was completed", "would be completed"},
		RolledBack: {"was undone", "would be undone"},
		Finished:   {"had already put the backup in place; its journal was removed", "had already put the backup in place; its journal would be removed"},
	}[r.Action]
	msg := what + " " + verb[0]
	if r.DryRun {
		msg = what + " " + verb[1]
	}
	switch {
	case r.Action == Completed && r.DryRun:
		msg += ": the backup would go in place"
		if len(j.Files) > 0 {
			msg += " and the files it replaces into " + j.PreRestoreDir
		}
	case r.Action == Completed:
		msg += ": the backup is in place"
		if len(j.Files) > 0 {
			msg += ", the files it replaced are in " + j.PreRestoreDir
		}
	case r.Action == RolledBack && len(j.Files) == 0:
		msg += ": " + r.Reason + "; there was no database before, and there is none now"
	case r.Action == RolledBack && r.DryRun:
		msg += ": " + r.Reason + ", so the original database would be put back"
	case r.Action == RolledBack:
		msg += ": " + r.Reason + ", so the original database is back in place"
	}
	return msg
}

// Recover finds an interrupted restore of the database at db (its journal) and
// finishes it: it completes the restore when the verified copy is intact and puts
// the original files back otherwise. It returns nil when there was nothing to do.
// It refuses (errs.Refused) to move anything while another process has the database
// open, or when a database that is neither the original nor the copy has appeared
// at the path. With dryRun it only says what it would do.
//
// Call it before this process opens an SQLite connection to db: the holder probe
// opens and closes the files, which drops this process's locks on them.
func Recover(ctx context.Context, db string, dryRun bool) (*Recovery, error) {
	abs, err := filepath.Abs(db)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", db, err)
	}
	j, err := ReadJournal(abs)
	if err != nil || j == nil {
		return nil, err
	}
	r := &Recovery{Journal: j, DryRun: dryRun}
	refuse := func(format string, args ...any) *errs.Error {
		return errs.Refusedf("an interrupted restore of %s (journal %s) cannot be finished: "+format, append([]any{abs, JournalPath(abs)}, args...)...)
	}
	dbID, dbErr := FileID(abs)
	dbExists := dbErr == nil
	if dbErr != nil && !errors.Is(dbErr, fs.ErrNotExist) {
		return nil, fmt.Errorf("database %s: %w", abs, dbErr)
	}
	if dbExists && j.RestoredID != "" && dbID == j.RestoredID {
		r.Action = Finished
		if !dryRun {
			if err := RemoveJournal(abs); err != nil {
				return nil, err
			}
		}
		return r, nil
	}
	original := func(f JournalFile) bool {
		id, err := FileID(f.Path)
		return err == nil && (f.ID == "" || id == f.ID)
	}
	for _, f := range j.Files {
		if _, err := os.Lstat(f.Path); err == nil && !original(f) {
			return nil, refuse("%s is not the file the restore started from; a process created it since", f.Path).
				WithFix("stop whatever uses " + abs + ", then decide by hand: the previous files are in " + j.PreRestoreDir + " and the restored copy is " + j.Restored)
		}
	}
	if dbExists && len(j.Files) == 0 {
		return nil, refuse("a database appeared at %s after the restore began", abs).
			WithFix("stop whatever uses " + abs + ", then decide by hand: the restored copy is " + j.Restored)
	}
	if holders, err := Holders(ctx, abs); err != nil {
		return nil, err
	} else if len(holders) > 0 {
		list := make([]string, len(holders))
		for i, h := range holders {
			list[i] = h.String()
		}
		// Not ErrInUse: forcing a restore past a holder is a choice for a new
		// restore, never for finishing one.
		return nil, refuse("%s has it open", strings.Join(list, "; ")).
			WithFix("stop the API, then run any vrwxctl command that opens the database")
	}

	intact, why := copyIntact(j)
	moves := func(pairs [][2]string) error {
		for _, p := range pairs {
			r.Moved = append(r.Moved, p[0]+" -> "+p[1])
			if dryRun {
				continue
			}
			if err := os.Rename(p[0], p[1]); err != nil {
				return errs.Failedf("finish the interrupted restore of %s: move %s to %s", abs, p[0], p[1]).Wrap(err)
			}
		}
		return nil
	}
	if intact {
		r.Action = Completed
		var pairs [][2]string
		for _, f := range j.Files {
			if _, err := os.Lstat(f.Path); err == nil {
				pairs = append(pairs, [2]string{f.Path, filepath.Join(j.PreRestoreDir, filepath.Base(f.Path))})
			}
		}
		if len(pairs) > 0 && !dryRun {
			if err := os.MkdirAll(j.PreRestoreDir, 0o700); err != nil {
				return nil, fmt.Errorf("finish the interrupted restore of %s: %w", abs, err)
			}
		}
		if err := moves(pairs); err != nil {
			return nil, err
		}
		if len(pairs) > 0 && !dryRun {
			if err := SyncDir(j.PreRestoreDir); err != nil {
				return nil, err
			}
		}
		if err := moves([][2]string{{j.Restored, abs}}); err != nil {
			return nil, err
		}
	} else {
		r.Action, r.Reason = RolledBack, why
		var pairs [][2]string
		for _, f := range j.Files {
			moved := filepath.Join(j.PreRestoreDir, filepath.Base(f.Path))
			if _, err := os.Lstat(f.Path); errors.Is(err, fs.ErrNotExist) {
				if _, err := os.Lstat(moved); err == nil {
					pairs = append(pairs, [2]string{moved, f.Path})
				}
			}
		}
		if err := moves(pairs); err != nil {
			return nil, err
		}
		if !dryRun {
			for _, s := range []string{"", "-journal", "-wal", "-shm"} {
				os.Remove(j.Restored + s)
			}
			// The pre-restore directory is left only if it still holds something.
			_ = os.Remove(j.PreRestoreDir)
		}
	}
	if dryRun {
		return r, nil
	}
	if err := SyncDir(filepath.Dir(abs)); err != nil {
		return nil, err
	}
	if err := RemoveJournal(abs); err != nil {
		return nil, err
	}
	return r, nil
}

// copyIntact reports whether the journal's restored copy is still exactly what was
// verified, and if not, why.
func copyIntact(j *RestoreJournal) (bool, string) {
	f, err := os.Open(j.Restored)
	if errors.Is(err, fs.ErrNotExist) {
		return false, "the restored copy " + j.Restored + " is gone"
	}
	if err != nil {
		return false, "the restored copy " + j.Restored + " cannot be read (" + err.Error() + ")"
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	switch {
	case err != nil:
		return false, "the restored copy " + j.Restored + " cannot be read (" + err.Error() + ")"
	case n != j.RestoredSize:
		return false, fmt.Sprintf("the restored copy %s is damaged (%d bytes, %d verified)", j.Restored, n, j.RestoredSize)
	case hex.EncodeToString(h.Sum(nil)) != j.RestoredSHA256:
		return false, "the restored copy " + j.Restored + " is damaged (its sha256 changed since it was verified)"
	}
	return true, ""
}
