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
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// RestoreOptions are the inputs of db restore.
type RestoreOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time
	DryRun  bool
	Yes     bool
	S3      S3Flags

	From            string
	DB              string
	Force           bool
	Quick           bool
	AllowNoManifest bool
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
}

// NewCmdRestore returns `db restore`.
func NewCmdRestore(f *cmdutil.Factory, s3o *S3Flags, runF func(context.Context, *RestoreOptions) error) *cobra.Command {
	opts := &RestoreOptions{IO: f.IO, Config: f.Config, Context: f.Context, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "restore --from FILE|s3://bucket/key [--db PATH]",
		Short: "Replace the database with a verified backup, keeping the old files",
		Long: `Restore the API's database from a backup. The backup is verified first
(checksum, integrity, tables, migrations) and refused if it fails. The restore is
refused (exit 3) while another process — the API — has the database open: stop
the API first, or pass --force (the API then keeps writing to the moved-aside files
until it restarts).

The current database and its -wal/-shm are moved, never deleted, into a
pre-restore-<time> folder beside it; the backup is put in place atomically, no stale
-wal/-shm survives, and the result is checked and its row counts printed.

Asks for confirmation (--yes without a terminal); --dry-run verifies and reports
without changing anything.`,
		Example: `  # Stop the API, then
  vrwxctl db restore --from /backups/vrwx-20261127T031500Z.db --db /data/vrwx.db --yes

  # What would happen?
  vrwxctl db restore --from s3://vrwx-backups/prod/vrwx-20261127T031500Z.db.gz --dry-run`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.S3, opts.DryRun, opts.Yes = *s3o, f.Globals.DryRun, f.Globals.Yes
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, restoreRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.From, "from", "", "the backup to restore: a file or s3://bucket/key (required)")
	fl.StringVar(&opts.DB, "db", "", "the database to replace (default DATABASE_PATH or the profile's database_path)")
	fl.BoolVar(&opts.Force, "force", false, "restore even while another process has the database open")
	fl.BoolVar(&opts.Quick, "quick", false, "quick_check instead of integrity_check")
	fl.BoolVar(&opts.AllowNoManifest, "allow-no-manifest", false, "restore a backup without a manifest (its checksum cannot be checked)")
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
	path, err := dbPath(opts.Config, opts.DB)
	if err != nil {
		return err
	}
	dry := opts.DryRun
	if !dry && !opts.Yes {
		if err := opts.IO.Confirm(fmt.Sprintf("Replace %s with %s? The current files are moved into a pre-restore folder.", path, from)); err != nil {
			return err
		}
	}
	client, err := opts.S3.client(ctx, from)
	if err != nil {
		return err
	}
	rep, err := sqlitebackup.Restore(ctx, from, path, sqlitebackup.RestoreOptions{
		Force: opts.Force, DryRun: dry, Quick: opts.Quick, AllowNoManifest: opts.AllowNoManifest,
		S3: client, Now: opts.Now, Progress: progress(opts.IO, opts.Now),
	})
	if rep != nil {
		reportHealing(opts.IO, rep.Recovered, rep.Cleaned)
	}
	if err != nil {
		return inFlagTerms(err, map[sqlitebackup.Input]string{sqlitebackup.InputDatabase: "--db", sqlitebackup.InputBackup: "--from"})
	}
	out := RestoreJSON{From: rep.From.String(), DB: rep.DBPath, DryRun: rep.DryRun, PreRestoreDir: rep.PreRestoreDir,
		Moved: []string{}, Holders: []string{}, Check: rep.Check, RowCounts: rep.RowCounts}
	out.Moved = append(out.Moved, rep.Moved...)
	for _, h := range rep.Holders {
		out.Holders = append(out.Holders, h.String())
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
		if out.PreRestoreDir != "" {
			opts.IO.Infof("previous files moved to %s", out.PreRestoreDir)
			fmt.Fprintf(opts.IO.Out, "pre-restore: %s\n", out.PreRestoreDir)
		}
	}
	renderCounts(opts.IO, rep.RowCounts)
	return nil
}

// renderCounts prints row counts per table in schema order.
func renderCounts(io *ui.IO, counts map[string]int64) {
	t := ui.NewTable("TABLE", "ROWS")
	for _, name := range apidb.SortedTables(counts) {
		t.Row(name, fmt.Sprint(counts[name]))
	}
	t.Render(io.Out, io.Styles())
}
