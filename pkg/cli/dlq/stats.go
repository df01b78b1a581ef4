package dlq

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// StatsOptions are the inputs of dlq stats.
type StatsOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time

	DB string
}

// StatsJSON is the -o json shape of dlq stats. Level is the depth judged against
// Warn and Crit (the profile's dlq_warn and dlq_crit); Checks are the lines the text
// output shows.
type StatsJSON struct {
	DB                  string         `json:"db"`
	Profile             string         `json:"profile"`
	Level               doctor.Level   `json:"level"`
	Warn                int64          `json:"warn"`
	Crit                int64          `json:"crit"`
	Summary             dlq.Summary    `json:"summary"`
	OldestUnresolvedAge string         `json:"oldestUnresolvedAge,omitempty"`
	Checks              []doctor.Check `json:"checks"`
}

// NewCmdStats returns `dlq stats`.
func NewCmdStats(f *cmdutil.Factory, dbFlag *string, runF func(context.Context, *StatsOptions) error) *cobra.Command {
	opts := &StatsOptions{IO: f.IO, Config: f.Config, Context: f.Context, Now: f.Now}
	return &cobra.Command{
		Use:   "stats",
		Short: "DLQ depth against the runbook's thresholds, by type, retries, oldest",
		Long: `The numbers behind the runbook's "DLQ Depth" alert, read in one transaction:
unresolved events (the depth) against the profile's dlq_warn and dlq_crit
(warning > 10, critical > 50 by default), unresolved by type, pending retry,
exceeded retries (nothing retries these any more: a person has to), and the age
of the oldest unresolved event.

The words are the API's: pending retry is its pendingRetry (and its
vrwx_dlq_pending_retry) — unresolved events due for a retry now (next_retry_at
reached, fewer than 3 retries); scheduled retry (JSON scheduled_retry) counts those
whose next retry is still to come; exceeded retries are unresolved events with 3
retries or more.

Exit codes: 0 depth ok, 5 above the warning threshold, 1 above the critical one.`,
		Example: `  vrwxctl dlq stats --db /data/vrwx.db
  DATABASE_PATH=/data/vrwx.db vrwxctl dlq stats -o json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DB = *dbFlag
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, statsRun)
		},
	}
}

func statsRun(ctx context.Context, opts *StatsOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	warn, crit := threshold(cfg, "dlq_warn", dlq.DefaultWarnDepth), threshold(cfg, "dlq_crit", dlq.DefaultCritDepth)
	db, path, err := openDB(ctx, opts.IO, opts.Config, opts.DB, false)
	if err != nil {
		return err
	}
	defer db.Close()
	sum, err := dlq.Stats(ctx, db, opts.Now())
	if err != nil {
		return err
	}
	checks := doctor.DLQChecks(sum, warn, crit)
	level := doctor.Worst(checks)
	out := StatsJSON{DB: path, Profile: cfg.Profile, Level: level, Warn: warn, Crit: crit, Summary: sum, Checks: checks}
	if sum.Depth > 0 {
		out.OldestUnresolvedAge = ui.Duration(sum.OldestUnresolvedAge)
	}
	if opts.IO.JSONOutput() {
		if err := opts.IO.WriteJSON(out); err != nil {
			return err
		}
	} else {
		s := opts.IO.Styles()
		opts.IO.Heading(s.Bold.Render("DLQ")+" "+path,
			fmt.Sprintf("profile %s · %d events in total", cfg.Profile, sum.Total))
		opts.IO.RenderChecks(checks)
		switch level {
		case doctor.Crit:
			fmt.Fprintln(opts.IO.Out, s.Crit.Render("CRITICAL")+": the DLQ is above its critical depth")
		case doctor.Warn:
			fmt.Fprintln(opts.IO.Out, s.Warn.Render("WARNING")+": the DLQ is above its warning depth")
		default:
			fmt.Fprintln(opts.IO.Out, s.OK.Render("OK"))
		}
	}
	if k := doctor.ExitKind(level); k != errs.OK {
		return errs.Exit(k)
	}
	return nil
}

func threshold(cfg *config.Config, key string, def int64) int64 {
	if v, ok := cfg.Uint(key); ok {
		return int64(v)
	}
	return def
}
