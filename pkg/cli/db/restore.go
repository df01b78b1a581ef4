package db

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// RestoreOptions are the inputs of db restore.
type RestoreOptions struct {
	IO     *ui.IO
	Config func() (*config.Config, error)
	// Engine reads litestream replicas (nil when vrwxctl-litestream is not
	// installed: only a replica then fails).
	Engine  sqlitebackup.ReplicaEngine
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time
	DryRun  bool
	Yes     bool
	S3      S3Flags

	From            string
	Timestamp       string
	DB              string
	Force           bool
	Quick           bool
	AllowNoManifest bool
	// KeepPreRestore is --keep-pre-restore; KeepPreRestoreSet says it was given
	// (else the profile's pre_restore_keep).
	KeepPreRestore    int
	KeepPreRestoreSet bool
}

// RestoreJSON is the -o json shape of db restore. PreRestoreDir holds the files the
// restore replaced ("" when there were none, or on a dry run); Holders are the
// processes that had the database open (only ever non-empty with --force).
type RestoreJSON struct {
	From          string                   `json:"from"`
	DB            string                   `json:"db"`
	DryRun        bool                     `json:"dryRun"`
	PreRestoreDir string                   `json:"preRestoreDir"`
	Moved         []string                 `json:"moved"`
	Holders       []string                 `json:"holders"`
	Check         sqlitebackup.CheckResult `json:"check"`
	RowCounts     map[string]int64         `json:"rowCounts"`
	// Replica is the position a litestream replica was restored to (omitted for
	// a backup): its newest transaction and that transaction's time.
	Replica *sqlitebackup.ReplicaRestore `json:"replica,omitempty"`
	// Pending are the restored database's PENDING idempotency keys (relays in flight
	// when the backup was taken) and what the API will do with each.
	Pending []PendingJSON `json:"pendingIdempotency"`
	// Cleaned are temporary files of killed runs removed from the database's
	// directory; NotCleaned those that could not be removed, with why.
	Cleaned    []string       `json:"cleaned"`
	NotCleaned []LeftoverJSON `json:"notCleaned"`
	// PrunedPreRestore are older pre-restore folders deleted by the retention
	// (--keep-pre-restore, profile pre_restore_keep).
	PrunedPreRestore []string `json:"prunedPreRestore"`
}

// PendingJSON is one PENDING idempotency key of a restored database.
type PendingJSON struct {
	apidb.PendingKey
	AgeSeconds int64  `json:"ageSeconds"`
	Stuck      bool   `json:"stuck"`
	APIAction  string `json:"apiAction"`
}

// LeftoverJSON is a temporary file a killed run left that could not be removed.
type LeftoverJSON struct {
	Path  string `json:"path"`
	Size  int64  `json:"size"`
	Error string `json:"error"`
}

// NewCmdRestore returns `db restore`.
func NewCmdRestore(f *cmdutil.Factory, s3o *S3Flags, runF func(context.Context, *RestoreOptions) error) *cobra.Command {
	opts := &RestoreOptions{IO: f.IO, Config: f.Config, Context: f.Context, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "restore --from FILE|s3://bucket/key|REPLICA [--timestamp TIME] [--db PATH]",
		Short: "Replace the database with a verified backup or litestream replica, keeping the old files",
		Long: `Restore the API's database from a backup, or from a litestream replica. The
backup is verified first (checksum, integrity, tables, migrations) and refused if it
fails.

A litestream replica is given as litestream's own restore takes it — file:///dir,
or s3://bucket/path (S3 settings as for backups) — and recognised by its layout
(an ltx/ folder). litestream itself restores it (v0.5.18, through the
vrwxctl-litestream helper installed beside vrwxctl): the latest replicated state,
or with --timestamp the state at that point in time (RFC 3339; vrwxctl db list
REPLICA shows the range it can reach). It reads the LTX replicas of litestream
v0.5.x; a v0.3.x replica (generations/) is refused. The restored file then gets the
same checks as a backup (integrity, tables, migrations).

The restore is
refused (exit 3) while another process — the API — has the database open: stop
the API first, or pass --force (the API then keeps writing to the moved-aside files
until it restarts).

The current database and its -wal/-shm are moved, never deleted, into a
pre-restore-<time> folder beside it; the backup is put in place atomically, no stale
-wal/-shm survives, and the result is checked and its row counts printed. Only the
newest pre-restore folders are kept (--keep-pre-restore, profile pre_restore_keep,
default 5); the older ones are deleted and listed. Temporary files that killed
backups or restores left beside the database are removed first.

A backup taken while the API was relaying can hold PENDING idempotency keys: each
is listed with what the restored API will do with it (a request for that job within
2 minutes of the key's creation answers 202 "in progress"; after that the key is
marked FAILED STUCK_TIMEOUT and the job is relayed again) — check those jobs on
chain (vrwxctl job get ID) before the API takes requests.

Asks for confirmation (--yes without a terminal); --dry-run verifies and reports
without changing anything.`,
		Example: `  # Stop the API, then
  vrwxctl db restore --from /backups/vrwx-20261127T031500Z.db --db /data/vrwx.db --yes

  # What would happen?
  vrwxctl db restore --from s3://vrwx-backups/prod/vrwx-20261127T031500Z.db.gz --dry-run

  # The latest state litestream replicated, or the state at a point in time
  vrwxctl db restore --from s3://vrwx-backups/db --yes
  vrwxctl db restore --from file:///backup/replica --timestamp 2026-11-27T03:10:00Z --yes`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.S3, opts.DryRun, opts.Yes = *s3o, f.Globals.DryRun, f.Globals.Yes
			opts.Engine = engine(f)
			opts.KeepPreRestoreSet = cmd.Flags().Changed("keep-pre-restore")
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, restoreRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.From, "from", "", "the backup to restore (a file or s3://bucket/key), or a litestream replica (file:///dir, s3://bucket/path) (required)")
	fl.StringVar(&opts.Timestamp, "timestamp", "", "restore a litestream replica to this point in time (RFC 3339, e.g. 2026-11-27T03:10:00Z)")
	fl.StringVar(&opts.DB, "db", "", "the database to replace (default DATABASE_PATH or the profile's database_path)")
	fl.BoolVar(&opts.Force, "force", false, "restore even while another process has the database open")
	fl.BoolVar(&opts.Quick, "quick", false, "quick_check instead of integrity_check")
	fl.BoolVar(&opts.AllowNoManifest, "allow-no-manifest", false, "restore a backup without a manifest (its checksum cannot be checked)")
	fl.IntVar(&opts.KeepPreRestore, "keep-pre-restore", 0, "keep the newest N pre-restore folders beside the database, delete older ones (default the profile's pre_restore_keep; 0 keeps all)")
	opts.Context = dbContext(f, cmd)
	return cmd
}

func restoreRun(ctx context.Context, opts *RestoreOptions) error {
	if opts.From == "" {
		return errs.Usagef("--from is required: the backup file or s3://bucket/key to restore")
	}
	from, err := sqlitebackup.ParseLocation(opts.From)
	if err != nil {
		return err
	}
	var at time.Time
	if opts.Timestamp != "" {
		if at, err = sqlitebackup.ParseReplicaTime(opts.Timestamp); err != nil {
			return errs.Usagef("--timestamp %s: expected RFC 3339, e.g. 2026-11-27T03:10:00Z", redact.Quote(opts.Timestamp))
		}
	}
	if opts.KeepPreRestoreSet && opts.KeepPreRestore < 0 {
		return errs.Usagef("--keep-pre-restore %d: expected a number of folders to keep, 0 for all", opts.KeepPreRestore)
	}
	path, err := dbPath(opts.Config, opts.DB)
	if err != nil {
		return err
	}
	keep := opts.KeepPreRestore
	if !opts.KeepPreRestoreSet {
		cfg, err := opts.Config()
		if err != nil {
			return err
		}
		n, _ := cfg.Uint("pre_restore_keep")
		keep = int(min(n, 1<<20))
	}
	dry := opts.DryRun
	if !dry && !opts.Yes {
		if err := opts.IO.Confirm(fmt.Sprintf("Replace %s with %s? The current files are moved into a pre-restore folder.", path, from)); err != nil {
			return err
		}
	}
	rep, err := sqlitebackup.Restore(ctx, from, path, sqlitebackup.RestoreOptions{
		Force: opts.Force, DryRun: dry, Quick: opts.Quick, AllowNoManifest: opts.AllowNoManifest, KeepPreRestore: keep,
		Engine: opts.Engine, At: at,
		S3Config: opts.S3.config(), Now: opts.Now, Progress: progress(opts.IO, opts.Now),
	})
	if rep != nil {
		reportHealing(opts.IO, rep.Recovered, rep.Cleaned)
		reportStuck(opts.IO, rep.NotCleaned)
	}
	if err != nil {
		return inFlagTerms(err, map[sqlitebackup.Input]string{sqlitebackup.InputDatabase: "--db", sqlitebackup.InputBackup: "--from"})
	}
	now := opts.Now()
	out := RestoreJSON{From: rep.From.String(), DB: rep.DBPath, DryRun: rep.DryRun, PreRestoreDir: rep.PreRestoreDir,
		Moved: []string{}, Holders: []string{}, Check: rep.Check, RowCounts: rep.RowCounts, Pending: []PendingJSON{},
		Cleaned: []string{}, NotCleaned: leftoversJSON(rep.NotCleaned), PrunedPreRestore: []string{}}
	if rep.Verify != nil {
		out.Replica = rep.Verify.Replica
	}
	out.Moved = append(out.Moved, rep.Moved...)
	out.Cleaned = append(out.Cleaned, rep.Cleaned...)
	out.PrunedPreRestore = append(out.PrunedPreRestore, rep.PrunedPreRestore...)
	for _, h := range rep.Holders {
		out.Holders = append(out.Holders, h.String())
	}
	for _, p := range rep.Pending {
		out.Pending = append(out.Pending, PendingJSON{PendingKey: p, AgeSeconds: int64(now.Sub(p.CreatedAt) / time.Second),
			Stuck: p.Stuck(now), APIAction: p.WhatTheAPIDoes(now)})
	}
	if rep.PruneErr != nil {
		opts.IO.Warnf("restored, but deleting old pre-restore folders stopped: %v", rep.PruneErr)
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	for _, h := range out.Holders {
		opts.IO.Warnf("restored while open (--force): %s; restart it so it sees the restored data", h)
	}
	if rep.DryRun {
		opts.IO.Successf("%s verifies; dry run: %s was not changed", out.From, out.DB)
		if len(out.Moved) > 0 {
			opts.IO.Infof("would move %d file(s) into a pre-restore folder beside %s", len(out.Moved), out.DB)
		}
	} else {
		opts.IO.Successf("restored %s from %s (%s ok)", out.DB, out.From, rep.Check.Check)
		if out.Replica != nil {
			opts.IO.Infof("litestream replica restored to transaction %s, replicated at %s", out.Replica.TXID, out.Replica.At.Format(time.RFC3339Nano))
		}
		if out.PreRestoreDir != "" {
			opts.IO.Infof("previous files moved to %s", out.PreRestoreDir)
			fmt.Fprintf(opts.IO.Out, "pre-restore: %s\n", out.PreRestoreDir)
		}
	}
	for _, p := range out.PrunedPreRestore {
		opts.IO.Infof("removed old %s (keeping the newest %d pre-restore folders)", p, keep)
	}
	renderCounts(opts.IO, rep.RowCounts)
	renderPending(opts.IO, out.Pending)
	return nil
}

// renderPending warns about relays that were in flight when the backup was taken.
func renderPending(io *ui.IO, pending []PendingJSON) {
	if len(pending) == 0 {
		return
	}
	io.Warnf("%d idempotency key(s) are PENDING in the restored database: relays in flight when the backup was taken", len(pending))
	for _, p := range pending {
		job := p.JobID
		if job == "" {
			job = p.Key
		}
		io.Warnf("  job %s (key created %s ago): %s", job, ui.Duration(time.Duration(p.AgeSeconds)*time.Second), p.APIAction)
	}
	io.Infof("check each job on chain first (vrwxctl job get ID): a job already completed there makes the API's new relay revert (InvalidStatus) and leave a TX_FAIL row")
}

// renderCounts prints row counts per table in schema order.
func renderCounts(io *ui.IO, counts map[string]int64) {
	t := ui.NewTable("TABLE", "ROWS")
	for _, name := range apidb.SortedTables(counts) {
		t.Row(name, fmt.Sprint(counts[name]))
	}
	t.Render(io.Out, io.Styles())
}
