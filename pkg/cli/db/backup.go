package db

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// BackupOptions are the inputs of db backup.
type BackupOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time
	DryRun  bool
	S3      S3Flags

	DB       string
	Out      string
	Quick    bool
	Compress string
	Keep     int
	KeepSet  bool
	Method   string
	// CheckCopy checks the written file instead of the snapshot being copied.
	CheckCopy bool
}

// BackupJSON is the -o json shape of db backup: where the backup went, its manifest
// (as written beside it), and the older backups --keep removed.
type BackupJSON struct {
	Location string                 `json:"location"`
	Manifest *sqlitebackup.Manifest `json:"manifest"`
	Pruned   []string               `json:"pruned"`
	DryRun   bool                   `json:"dryRun,omitempty"`
}

// NewCmdBackup returns `db backup`.
func NewCmdBackup(f *cmdutil.Factory, s3o *S3Flags, runF func(context.Context, *BackupOptions) error) *cobra.Command {
	opts := &BackupOptions{IO: f.IO, Config: f.Config, Context: f.Context, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "backup --out DIR|FILE|s3://bucket/prefix",
		Short: "Take a consistent, verified copy of the live database",
		Long: `Copy the API's database while the API keeps writing (one read snapshot, copied with
large reads and hashed as it is written; --method backup-api uses SQLite's online
backup API, --method vacuum-into VACUUM INTO), make the copy self-contained (journal
mode DELETE: no -wal needed to read it), check it (integrity_check, or quick_check
with --quick: on the snapshot while it is copied, or on the written file with
--check-copy), and publish it atomically with a manifest beside it (size, page
count, sha256, SQLite version, migrations, row counts). Memory stays flat in the
database's size.

--out is a directory (the backup is named vrwx-<UTC time>.db), a new file name, or
s3://bucket/prefix (multipart upload, sha256 stored as object metadata).
--keep N then deletes all but the newest N vrwx-*.db backups there.

Progress is shown on stderr for long copies when stderr is a terminal or with -v.`,
		Example: `  # The runbook's "sqlite3 $DATABASE_PATH '.backup …'", verified, with a manifest
  vrwxctl db backup --db /data/vrwx.db --out /backups

  # Nightly to S3, gzip, keep two weeks
  vrwxctl db backup --out s3://vrwx-backups/prod --compress gzip --keep 14

  # Manifest and location as JSON
  vrwxctl db backup --out /backups -o json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.KeepSet = cmd.Flags().Changed("keep")
			opts.S3, opts.DryRun = *s3o, f.Globals.DryRun
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, backupRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.DB, "db", "", "the API's database (default DATABASE_PATH or the profile's database_path)")
	fl.StringVar(&opts.Out, "out", "", "destination: a directory, a new file, or s3://bucket/prefix (required)")
	fl.BoolVar(&opts.Quick, "quick", false, "check with quick_check instead of integrity_check")
	fl.BoolVar(&opts.CheckCopy, "check-copy", false, "check the copy's file after writing it, not the snapshot while copying it (slower; proves the file's bytes too)")
	fl.StringVar(&opts.Compress, "compress", "none", "compression: none or gzip")
	cmdutil.IntVar(fl, &opts.Keep, "keep", 0, "after the backup, keep only the newest N backups in the destination")
	fl.StringVar(&opts.Method, "method", string(sqlitebackup.MethodSnapshot), "copy method: snapshot, backup-api or vacuum-into")
	_ = cmd.RegisterFlagCompletionFunc("compress", cobra.FixedCompletions([]string{"none", "gzip"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("method", cobra.FixedCompletions([]string{"snapshot", "backup-api", "vacuum-into"}, cobra.ShellCompDirectiveNoFileComp))
	opts.Context = dbContext(f, cmd)
	return cmd
}

// backupFlags name db backup's inputs in the operator's terms.
var backupFlags = map[sqlitebackup.Input]string{sqlitebackup.InputKeep: "--keep", sqlitebackup.InputDestination: "--out", sqlitebackup.InputDatabase: "--db"}

// validate parses the destination, compression, method and --keep before anything
// is read.
func (opts *BackupOptions) validate() (sqlitebackup.Location, sqlitebackup.Compression, sqlitebackup.Method, error) {
	var dst sqlitebackup.Location
	if opts.Out == "" {
		return dst, "", "", errs.Usagef("--out is required: a backup directory, a new file name, or s3://bucket/prefix")
	}
	if opts.KeepSet {
		if err := sqlitebackup.ValidateKeep(opts.Keep); err != nil {
			return dst, "", "", inFlagTerms(err, backupFlags)
		}
	}
	comp, err := sqlitebackup.ParseCompression(opts.Compress)
	if err != nil {
		return dst, "", "", err
	}
	method, err := sqlitebackup.ParseMethod(opts.Method)
	if err != nil {
		return dst, "", "", err
	}
	dst, err = sqlitebackup.ParseLocation(opts.Out)
	return dst, comp, method, err
}

func backupRun(ctx context.Context, opts *BackupOptions) error {
	dst, comp, method, err := opts.validate()
	if err != nil {
		return err
	}
	src, err := dbPath(opts.Config, opts.DB)
	if err != nil {
		return err
	}
	if opts.DryRun {
		if err := apidb.CheckFile(src, "database"); err != nil {
			return err
		}
		if opts.IO.JSONOutput() {
			return opts.IO.WriteJSON(BackupJSON{Location: dst.String(), Pruned: []string{}, DryRun: true})
		}
		fmt.Fprintf(opts.IO.Out, "would back up %s to %s (dry run, nothing written)\n", src, dst)
		return nil
	}
	res, err := sqlitebackup.Backup(ctx, src, dst, sqlitebackup.BackupOptions{
		Method: method, Quick: opts.Quick, CheckCopy: opts.CheckCopy, Compression: comp, Keep: opts.Keep,
		Progress: progress(opts.IO, opts.Now), Now: opts.Now, S3Config: opts.S3.config(),
	})
	if err != nil {
		return inFlagTerms(err, backupFlags)
	}
	reportHealing(opts.IO, res.Recovered, res.Cleaned)
	out := BackupJSON{Location: res.Location.String(), Manifest: res.Manifest, Pruned: []string{}}
	for _, p := range res.Pruned {
		out.Pruned = append(out.Pruned, p.String())
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	opts.IO.Successf("backup of %s verified (%s) and published", res.Manifest.Source, res.Manifest.Verify.Check)
	fmt.Fprintln(opts.IO.Out, out.Location)
	renderManifest(opts.IO, res.Manifest)
	for _, p := range out.Pruned {
		opts.IO.Infof("removed old backup %s (--keep %d)", p, opts.Keep)
	}
	return nil
}

// renderManifest prints a manifest's summary as aligned key/value lines.
func renderManifest(io *ui.IO, m *sqlitebackup.Manifest) {
	size := formatBytes(m.Size)
	if m.Compressed {
		size += fmt.Sprintf(" (%s, %s uncompressed)", m.Compression, formatBytes(m.DBSize))
	}
	migrations := fmt.Sprintf("%d of %d", len(m.Migrations), len(apidb.ExpectedMigrations()))
	if len(m.MissingMigrations) > 0 {
		migrations += ", missing " + strings.Join(m.MissingMigrations, ", ")
	}
	var rows int64
	for _, n := range m.RowCounts {
		rows += n
	}
	t := ui.NewTable("FIELD", "VALUE")
	t.Row("size", size)
	t.Row("pages", fmt.Sprintf("%d × %d B", m.PageCount, m.PageSize))
	t.Row("sha256", m.SHA256)
	t.Row("sqlite", m.SQLiteVersion)
	t.Row("journal mode", m.JournalMode+" (self-contained)")
	t.Row("method", string(m.Method))
	t.Row("check", fmt.Sprintf("%s ok, on the %s", m.Verify.Check, m.Checked))
	t.Row("migrations", migrations)
	t.Row("rows", fmt.Sprintf("%d in %d tables", rows, len(m.RowCounts)))
	t.Row("created", m.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	t.Row("time", fmt.Sprintf("copy %d ms, verify %d ms", m.CopyMillis, m.VerifyMillis))
	t.Render(io.Out, io.Styles())
}
