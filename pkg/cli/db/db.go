// Package db implements `vrwxctl db`: online backup of the API's SQLite database
// (locally or to S3), verification, a restore that keeps what it replaces, and a
// listing of the backups — the runbook's "Backup & Recovery" without sqlite3 or cp.
package db

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// NewCmdDB returns the `db` group.
func NewCmdDB(f *cmdutil.Factory) *cobra.Command {
	s3o := &S3Flags{}
	cmd := &cobra.Command{
		Use:   "db",
		Short: "The API's database: online backup, verify, restore (from backups or litestream), list, DR drill",
		Long: `Back up the VRWX API's SQLite database while the API keeps writing, verify a
backup, restore one or a litestream replica (verified first, refused while the API
has the database open), list the backups in a directory or under an S3 prefix (or
a replica's snapshots and time range), and rehearse disaster recovery (db drill).

The database is --db, else DATABASE_PATH, else the profile's database_path.
S3 credentials and region come from the AWS SDK's usual sources (environment,
shared config, instance role); AWS_ENDPOINT_URL_S3 or --s3-endpoint point it at
an S3-compatible server.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&s3o.Endpoint, "s3-endpoint", "", "S3-compatible endpoint URL for s3:// locations (default: the SDK's, or AWS_ENDPOINT_URL_S3)")
	pf.BoolVar(&s3o.PathStyle, "s3-path-style", false, "address S3 buckets in the path (most S3-compatible servers need it)")
	pf.StringVar(&s3o.Region, "s3-region", "", "S3 region (default: AWS_REGION or the shared config, else us-east-1)")
	cmd.AddCommand(NewCmdBackup(f, s3o, nil), NewCmdVerify(f, s3o, nil), NewCmdRestore(f, s3o, nil), NewCmdList(f, s3o, nil), NewCmdDrill(f, s3o, nil))
	return cmd
}

// S3Flags say how to reach S3 for s3:// locations (the group's --s3-* flags).
type S3Flags struct {
	Endpoint  string
	PathStyle bool
	Region    string
}

// config is how sqlitebackup reaches S3 for s3:// locations; it builds a client
// only when a location is on S3, so local commands never load the AWS configuration.
func (o *S3Flags) config() sqlitebackup.S3Config {
	return sqlitebackup.S3Config{Endpoint: o.Endpoint, PathStyle: o.PathStyle, Region: o.Region}
}

// engine is the litestream engine (the vrwxctl-litestream helper: the profile's
// litestream_helper, else beside vrwxctl, else on PATH), looked for only when a
// command runs; nil when it is not installed.
func engine(f *cmdutil.Factory) sqlitebackup.ReplicaEngine {
	path := ""
	if cfg, err := f.Config(); err == nil {
		path = cfg.String("litestream_helper")
	}
	return sqlitebackup.FindEngine(path)
}

// dbPath is --db, else the profile's database_path (DATABASE_PATH maps to it).
func dbPath(config func() (*config.Config, error), flag string) (string, error) {
	configured := ""
	if flag == "" {
		cfg, err := config()
		if err != nil {
			return "", err
		}
		configured = cfg.String("database_path")
	}
	p, err := apidb.ResolvePath(flag, configured)
	var e *errs.Error
	if errors.As(err, &e) {
		e.WithFix("pass --db PATH, or set DATABASE_PATH or database_path in the profile")
	}
	return p, err
}

// progress reports long steps on stderr at most once a second, and only where
// someone is watching (a terminal, or -v), so logs of scripted runs stay clean and
// small databases print nothing.
func progress(io *ui.IO, now func() time.Time) func(sqlitebackup.Progress) {
	if !io.ErrTTY && !io.Verbose {
		return nil
	}
	var mu sync.Mutex
	start := now()
	last := start
	return func(p sqlitebackup.Progress) {
		mu.Lock()
		defer mu.Unlock()
		t := now()
		if t.Sub(last) < time.Second {
			return
		}
		last = t
		line := fmt.Sprintf("%s %s", p.Phase, formatBytes(p.Done))
		if p.Total > 0 {
			line += fmt.Sprintf(" of %s (%d%%)", formatBytes(p.Total), p.Done*100/p.Total)
		}
		io.Infof("%s, %s elapsed", line, t.Sub(start).Round(time.Second))
	}
}

// formatBytes prints n in binary units with one decimal.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// inFlagTerms says sqlitebackup's errors in this command's terms: an input by the
// flag that set it, and fixes that name the flags or commands that help.
func inFlagTerms(err error, flags map[sqlitebackup.Input]string) error {
	if err == nil {
		return nil
	}
	var ie *sqlitebackup.InputError
	if errors.As(err, &ie) {
		fix := errs.FixOf(err)
		if fi, serr := os.Stat(ie.Value); ie.Input == sqlitebackup.InputBackup && serr == nil && fi.IsDir() {
			fix = "vrwxctl db list " + ie.Value + " shows the backups in it"
		}
		name := string(ie.Input)
		if flag, ok := flags[ie.Input]; ok {
			name = flag
		}
		return &errs.Error{Kind: errs.KindOf(err), Msg: ie.Named(name), Fix: fix}
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		return err
	}
	fix := errs.FixOf(err)
	and := func(more string) string {
		if fix == "" {
			return more
		}
		return fix + ", " + more
	}
	switch {
	case errors.Is(err, sqlitebackup.ErrInUse):
		fix = and("or pass --force to restore anyway")
	case errors.Is(err, sqlitebackup.ErrNoSpace) && flags[sqlitebackup.InputDestination] != "":
		fix = and("or choose another " + flags[sqlitebackup.InputDestination])
	case errors.Is(err, sqlitebackup.ErrNotAPIDatabase):
		fix = "point --db at the API's vrwx.db (DATABASE_PATH)"
	case errors.Is(err, sqlitebackup.ErrDoesNotVerify):
		fix = and("vrwxctl db list DIR shows the backups")
	}
	e.Fix = fix
	return err
}

// reportHealing tells the operator about an interrupted restore a command finished
// before its own work, and about temporary files of killed runs it removed.
func reportHealing(io *ui.IO, rec *apidb.Recovery, cleaned []string) {
	if rec != nil {
		io.Warnf("%s", rec)
	}
	for _, c := range cleaned {
		io.Infof("removed %s, left by an interrupted backup or restore", c)
	}
}

// reportStuck tells the operator about temporary files of killed runs that could
// not be removed, and why.
func reportStuck(io *ui.IO, stuck []sqlitebackup.TempFile) {
	for _, t := range stuck {
		io.Warnf("cannot remove %s (%s), left by an interrupted backup or restore: %s", t.Path, formatBytes(t.Size), t.RemoveErr)
	}
}

func leftoversJSON(stuck []sqlitebackup.TempFile) []LeftoverJSON {
	out := []LeftoverJSON{}
	for _, t := range stuck {
		out = append(out, LeftoverJSON{Path: t.Path, Size: t.Size, Error: t.RemoveErr})
	}
	return out
}

// dbContext bounds a db command by --timeout only when the operator gave one: the
// global default (60 s) suits a network call, not copying or checking a database
// whose size only grows.
func dbContext(f *cmdutil.Factory, cmd *cobra.Command) func(context.Context) (context.Context, context.CancelFunc) {
	return func(parent context.Context) (context.Context, context.CancelFunc) {
		if fl := cmd.Flag("timeout"); fl != nil && fl.Changed {
			return f.Context(parent)
		}
		return context.WithCancel(parent)
	}
}
