package db

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/drill"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// DrillOptions are the inputs of db drill.
type DrillOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time
	Engine  sqlitebackup.ReplicaEngine
	// SignerAddress reads the address of a signer reference's current key.
	SignerAddress func(ctx context.Context, ref string) (common.Address, error)
	S3            S3Flags

	From, Scratch, Signer string
	RTOTarget, RPOTarget  time.Duration
	Quick                 bool
}

// NewCmdDrill returns `db drill`.
func NewCmdDrill(f *cmdutil.Factory, s3o *S3Flags, runF func(context.Context, *DrillOptions) error) *cobra.Command {
	opts := &DrillOptions{IO: f.IO, Config: f.Config, Context: f.Context, Now: f.Now, SignerAddress: f.SignerAddress}
	cmd := &cobra.Command{
		Use:   "drill [--from BACKUP|REPLICA] [--signer REF]",
		Short: "Rehearse disaster recovery: restore into scratch, verify, measure RTO and RPO",
		Long: `Rehearse the runbook's disaster recovery without touching the live database:
restore the newest backup (backup_location) or litestream replica (replica), or
--from, into a fresh scratch directory; verify it (integrity_check, the API's
tables and migrations, row counts, the newest row of each table); optionally read
the secret store's current key from the DR location (--signer, e.g. the same
secret in another region) and compare its address with the profile's signer; then
report the RTO (wall time to a verified database) and the RPO (age of what was
restored: the backup's time, or litestream's replicated position) against the
runbook's 15 minutes and 1 hour, and remove the scratch copy.

Exit codes: 0 every target met, 5 a target missed (warnings only), 1 the drill
failed (nothing to restore, a restore refused, a check failed, the DR store
unreadable or holding another key).`,
		Example: `  # The newest backup or replica the profile names, as the CronJob runs it
  vrwxctl db drill -o json

  # A given replica, and the relayer key as the DR region sees it
  vrwxctl db drill --from s3://vrwx-backups/db --signer 'aws-sm://vrwx/prod/relayer-key?region=us-west-2'`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.S3, opts.Engine = *s3o, engine(f)
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, drillRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.From, "from", "", "restore this backup or litestream replica (default: the newest of backup_location and replica)")
	fl.StringVar(&opts.Scratch, "scratch", "", "directory to make the scratch copy in (default the system's temporary directory; it needs room for the database)")
	fl.StringVar(&opts.Signer, "signer", "", "signer reference at the DR location whose current key must be readable (compared with the profile's signer by address)")
	fl.DurationVar(&opts.RTOTarget, "rto-target", drill.DefaultRTOTarget, "recovery time objective")
	fl.DurationVar(&opts.RPOTarget, "rpo-target", drill.DefaultRPOTarget, "recovery point objective")
	fl.BoolVar(&opts.Quick, "quick", false, "quick_check instead of integrity_check")
	opts.Context = dbContext(f, cmd)
	return cmd
}

func drillRun(ctx context.Context, opts *DrillOptions) error {
	if opts.RTOTarget <= 0 || opts.RPOTarget <= 0 {
		return errs.Usagef("--rto-target %s, --rpo-target %s: expected positive durations such as 15m and 1h", opts.RTOTarget, opts.RPOTarget)
	}
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	d := drill.Options{Scratch: opts.Scratch, Engine: opts.Engine, S3Config: opts.S3.config(), Quick: opts.Quick,
		RTOTarget: opts.RTOTarget, RPOTarget: opts.RPOTarget, Now: opts.Now, Progress: progress(opts.IO, opts.Now)}
	parse := func(s, what string) (*sqlitebackup.Location, error) {
		if s == "" {
			return nil, nil
		}
		loc, err := sqlitebackup.ParseLocation(s)
		if err != nil {
			return nil, errs.Usagef("%s: %v", what, err)
		}
		return &loc, nil
	}
	if d.From, err = parse(opts.From, "--from"); err != nil {
		return err
	}
	if d.Backups, err = parse(cfg.String("backup_location"), cfg.Origin("backup_location")); err != nil {
		return err
	}
	if d.Replica, err = parse(cfg.String("replica"), cfg.Origin("replica")); err != nil {
		return err
	}
	if d.Backups != nil && d.Backups.Replica && d.Replica == nil {
		d.Backups, d.Replica = nil, d.Backups
	}
	if opts.Signer != "" {
		d.SignerRef = opts.Signer
		d.ReadSigner = func(ctx context.Context, ref string) (string, error) {
			a, err := opts.SignerAddress(ctx, ref)
			return a.Hex(), err
		}
		if primary := cfg.String("signer"); primary != "" && primary != opts.Signer {
			a, err := opts.SignerAddress(ctx, primary)
			if err != nil {
				return errs.Failedf("reading the profile's signer %s to compare with the DR location", primary).Wrap(err)
			}
			d.Expect, d.ExpectFrom = a.Hex(), "the profile's signer "+primary
		}
	}
	rep, err := drill.Run(ctx, d)
	if err != nil {
		if rep != nil {
			err = fmt.Errorf("%w (scratch %s removed: %v)", err, rep.Scratch, rep.ScratchRemoved)
		}
		if errs.KindOf(err) == errs.Refused {
			// A backup that does not verify fails the drill; it refuses nothing.
			return errs.Failedf("drill: %v", err).Wrap(err)
		}
		if err == drill.ErrNothingToRestore {
			return errs.Usagef("db drill needs --from, or backup_location or replica in the profile (VRWX_BACKUP_LOCATION, VRWX_REPLICA)")
		}
		return inFlagTerms(err, map[sqlitebackup.Input]string{sqlitebackup.InputBackup: "--from"})
	}
	if opts.IO.JSONOutput() {
		if err := opts.IO.WriteJSON(rep); err != nil {
			return err
		}
	} else {
		renderDrill(opts.IO, rep)
	}
	switch {
	case !rep.OK:
		return errs.Exit(errs.Failed)
	case !rep.RTOMet || !rep.RPOMet:
		return errs.Exit(errs.Warnings)
	}
	return nil
}

func renderDrill(io *ui.IO, r *drill.Report) {
	s := io.Styles()
	mark := func(ok bool) string {
		if ok {
			return s.OK.Render("met")
		}
		return s.Warn.Render("MISSED")
	}
	t := ui.NewTable("FIELD", "VALUE")
	t.Row("restored", fmt.Sprintf("%s (%s)", r.From, r.Kind))
	t.Row("position", r.Position.UTC().Format(time.RFC3339Nano)+map[bool]string{true: " · transaction " + r.TXID, false: ""}[r.TXID != ""])
	t.Row("check", fmt.Sprintf("%s %v", r.Check.Check, map[bool]string{true: "ok", false: "FAILED"}[r.Check.OK]))
	migr := fmt.Sprintf("%d of %d", len(r.Migrations), len(apidb.ExpectedMigrations()))
	if len(r.MissingMigrations) > 0 {
		migr += ", missing " + strings.Join(r.MissingMigrations, ", ")
	}
	t.Row("migrations", migr)
	t.Row("RTO", fmt.Sprintf("%s (target %s) %s", time.Duration(r.RTO).Round(time.Millisecond), time.Duration(r.RTOTarget), mark(r.RTOMet)))
	t.Row("RPO", fmt.Sprintf("%s (target %s) %s", time.Duration(r.RPO).Round(time.Second), time.Duration(r.RPOTarget), mark(r.RPOMet)))
	if r.Signer != nil {
		v := r.Signer.Ref + ": " + r.Signer.Address
		switch {
		case r.Signer.Error != "":
			v = r.Signer.Ref + ": UNREADABLE: " + r.Signer.Error
		case !r.Signer.Match:
			v += " (MISMATCH: " + r.Signer.ExpectFrom + " is " + r.Signer.Expected + ")"
		case r.Signer.Expected != "":
			v += " (= " + r.Signer.ExpectFrom + ")"
		}
		t.Row("DR signer", v)
	}
	t.Row("scratch", fmt.Sprintf("%s removed: %v", r.Scratch, r.ScratchRemoved))
	t.Render(io.Out, s)
	rows := ui.NewTable("TABLE", "ROWS", "NEWEST ROW")
	for _, name := range apidb.SortedTables(r.RowCounts) {
		newest := ""
		if at, ok := r.NewestRows[name]; ok {
			newest = at.Format(time.RFC3339)
		}
		rows.Row(name, fmt.Sprint(r.RowCounts[name]), newest)
	}
	rows.Render(io.Out, s)
	es := io.ErrStyles()
	for _, p := range r.Problems {
		fmt.Fprintln(io.ErrOut, es.Crit.Render("X")+" "+p)
	}
	switch {
	case !r.OK:
		fmt.Fprintln(io.ErrOut, es.Crit.Render("X")+" drill FAILED: the database would not come back as it must")
	case !r.RTOMet || !r.RPOMet:
		io.Warnf("drill done, but a target was missed")
	default:
		io.Successf("drill passed: RTO and RPO within the runbook's targets")
	}
}
