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
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// VerifyJSON is the -o json shape of db verify.
type VerifyJSON struct {
	Location          string                   `json:"location"`
	OK                bool                     `json:"ok"`
	Problems          []string                 `json:"problems"`
	Size              int64                    `json:"size"`
	SHA256            string                   `json:"sha256"`
	ChecksumOK        bool                     `json:"checksumOk"`
	Check             sqlitebackup.CheckResult `json:"check"`
	JournalMode       string                   `json:"journalMode"`
	Migrations        []string                 `json:"migrations"`
	MissingTables     []string                 `json:"missingTables"`
	MissingMigrations []string                 `json:"missingMigrations"`
	RowCounts         map[string]int64         `json:"rowCounts"`
	Manifest          *sqlitebackup.Manifest   `json:"manifest"`
}

// VerifyOptions are the inputs of db verify.
type VerifyOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time
	S3      S3Flags
	// Engine reads litestream replicas: a replica is verified by restoring it into
	// a temporary file and checking that.
	Engine sqlitebackup.ReplicaEngine

	Location        string
	Quick           bool
	AllowNoManifest bool
}

// NewCmdVerify returns `db verify`.
func NewCmdVerify(f *cmdutil.Factory, s3o *S3Flags, runF func(context.Context, *VerifyOptions) error) *cobra.Command {
	opts := &VerifyOptions{IO: f.IO, Config: f.Config, Context: f.Context, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "verify FILE|s3://bucket/key",
		Short: "Check a backup: checksum, integrity, tables, migrations",
		Long: `Check a backup against the manifest beside it (size and sha256), run
integrity_check (quick_check with --quick), and check that it has the API's tables
and all seven migrations. Every problem found is listed.

Exit codes: 0 the backup is good, 1 it is not (problems listed), 2 bad input.`,
		Example: `  vrwxctl db verify /backups/vrwx-20261127T031500Z.db
  vrwxctl db verify s3://vrwx-backups/prod/vrwx-20261127T031500Z.db.gz -o json

  # A copy made by the old runbook (sqlite3 .backup), which has no manifest
  vrwxctl db verify /backups/vrwx-manual.db --allow-no-manifest`,
		Args: cmdutil.ExactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Location, opts.S3, opts.Engine = args[0], *s3o, engine(f)
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, verifyRun)
		},
	}
	cmd.Flags().BoolVar(&opts.Quick, "quick", false, "quick_check instead of integrity_check")
	cmd.Flags().BoolVar(&opts.AllowNoManifest, "allow-no-manifest", false, "accept a backup without a manifest (its checksum cannot be checked)")
	opts.Context = dbContext(f, cmd)
	return cmd
}

func verifyRun(ctx context.Context, opts *VerifyOptions) error {
	loc, err := sqlitebackup.ParseLocation(opts.Location)
	if err != nil {
		return err
	}
	// The configured database, if a restore of it was interrupted, is finished first.
	if db, err := dbPath(opts.Config, ""); err == nil {
		rec, err := apidb.Recover(ctx, db, false)
		if err != nil {
			return err
		}
		reportHealing(opts.IO, rec, nil)
	}
	rep, err := sqlitebackup.Verify(ctx, loc, sqlitebackup.VerifyOptions{
		Quick: opts.Quick, AllowNoManifest: opts.AllowNoManifest, S3Config: opts.S3.config(), Progress: progress(opts.IO, opts.Now), Engine: opts.Engine,
	})
	if rep != nil {
		reportHealing(opts.IO, rep.Recovered, nil)
	}
	if rep == nil || (err != nil && rep.OK) {
		return inFlagTerms(err, nil)
	}
	if opts.IO.JSONOutput() {
		if werr := opts.IO.WriteJSON(verifyJSON(rep)); werr != nil {
			return werr
		}
		if err != nil {
			return errs.Exit(errs.KindOf(err))
		}
		return nil
	}
	renderVerify(opts.IO, rep)
	return inFlagTerms(err, nil)
}

func verifyJSON(r *sqlitebackup.VerifyReport) VerifyJSON {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return VerifyJSON{
		Location: redact.Mask(r.Location.String()), OK: r.OK, Problems: nonNil(r.Problems), Size: r.Size, SHA256: r.SHA256,
		ChecksumOK: r.ChecksumOK, Check: r.Check, JournalMode: r.JournalMode, Migrations: nonNil(r.Migrations),
		MissingTables: nonNil(r.MissingTables), MissingMigrations: nonNil(r.MissingMigrations),
		RowCounts: r.RowCounts, Manifest: r.Manifest,
	}
}

func renderVerify(io *ui.IO, r *sqlitebackup.VerifyReport) {
	s := io.Styles()
	mark := func(ok bool) string {
		if ok {
			return s.OK.Render("✓")
		}
		return s.Crit.Render("✗")
	}
	fmt.Fprintf(io.Out, "%s %s  %s\n", s.Bold.Render("BACKUP"), ui.Safe(redact.Mask(r.Location.String())), s.Faint.Render(formatBytes(r.Size)))
	checksum := "sha256 " + r.SHA256
	if r.Manifest == nil {
		checksum += " (no manifest to compare with)"
	}
	fmt.Fprintf(io.Out, "  %s checksum    %s\n", mark(r.ChecksumOK || r.Manifest == nil), checksum)
	fmt.Fprintf(io.Out, "  %s %-11s %s\n", mark(r.Check.OK), r.Check.Check, checkText(r.Check))
	fmt.Fprintf(io.Out, "  %s tables      %s\n", mark(len(r.MissingTables) == 0), missingText(r.MissingTables, len(apidb.ExpectedTables())))
	fmt.Fprintf(io.Out, "  %s migrations  %s\n", mark(len(r.MissingMigrations) == 0), missingText(r.MissingMigrations, len(apidb.ExpectedMigrations())))
	fmt.Fprintf(io.Out, "  %s journal     %s\n", mark(r.JournalMode != "wal"), r.JournalMode)
	if r.OK {
		fmt.Fprintln(io.Out, s.OK.Render("OK"))
		return
	}
	fmt.Fprintln(io.Out, s.Crit.Render("PROBLEMS")+":")
	for _, p := range r.Problems {
		fmt.Fprintf(io.Out, "  - %s\n", p)
	}
}

func checkText(c sqlitebackup.CheckResult) string {
	if c.OK {
		return "ok"
	}
	return strings.Join(c.Errors, "; ")
}

func missingText(missing []string, total int) string {
	if len(missing) == 0 {
		return fmt.Sprintf("all %d present", total)
	}
	return "missing " + strings.Join(missing, ", ")
}
