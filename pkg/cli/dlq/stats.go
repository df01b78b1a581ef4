package dlq

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/doctor"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

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
func NewCmdStats(f *cmdutil.Factory, dbFlag *string) *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "DLQ depth against the runbook's thresholds, by type, retries, oldest",
		Long: `The numbers behind the runbook's "DLQ Depth" alert, read in one transaction:
unresolved events (the depth) against the profile's dlq_warn and dlq_crit
(warning > 10, critical > 50 by default), unresolved by type, pending retry,
exceeded retries (nothing retries these any more: a person has to), and the age
of the oldest unresolved event.

Exit codes: 0 depth ok, 5 above the warning threshold, 1 above the critical one.`,
		Example: `  vrwxctl dlq stats --db /data/vrwx.db
  DATABASE_PATH=/data/vrwx.db vrwxctl dlq stats -o json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := f.Context(cmd.Context())
			defer cancel()
			return statsRun(ctx, f, *dbFlag)
		},
	}
}

func statsRun(ctx context.Context, f *cmdutil.Factory, dbFlag string) error {
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	warn, crit := threshold(cfg, "dlq_warn", dlq.DefaultWarnDepth), threshold(cfg, "dlq_crit", dlq.DefaultCritDepth)
	db, path, err := openDB(ctx, f, dbFlag, false)
	if err != nil {
		return err
	}
	defer db.Close()
	sum, err := dlq.Stats(ctx, db, f.Now())
	if err != nil {
		return err
	}
	checks := statsChecks(sum, warn, crit)
	level := doctor.Worst(checks)
	out := StatsJSON{DB: path, Profile: cfg.Profile, Level: level, Warn: warn, Crit: crit, Summary: sum, Checks: checks}
	if sum.Depth > 0 {
		out.OldestUnresolvedAge = ui.Duration(sum.OldestUnresolvedAge)
	}
	if f.IO.JSONOutput() {
		if err := f.IO.WriteJSON(out); err != nil {
			return err
		}
	} else {
		s := f.IO.Styles()
		fmt.Fprintf(f.IO.Out, "%s %s  %s\n", s.Bold.Render("DLQ"), path,
			s.Faint.Render(fmt.Sprintf("profile %s · %d events in total", cfg.Profile, sum.Total)))
		f.IO.RenderChecks(checks)
		switch level {
		case doctor.Crit:
			fmt.Fprintln(f.IO.Out, s.Crit.Render("CRITICAL")+": the DLQ is above its critical depth")
		case doctor.Warn:
			fmt.Fprintln(f.IO.Out, s.Warn.Render("WARNING")+": the DLQ is above its warning depth")
		default:
			fmt.Fprintln(f.IO.Out, s.OK.Render("OK"))
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

func statsChecks(sum dlq.Summary, warn, crit int64) []doctor.Check {
	depth := doctor.Check{Section: "dlq", Name: "depth", Level: doctor.OK, Value: fmt.Sprintf("%d unresolved", sum.Depth),
		Detail: fmt.Sprintf("warning > %d, critical > %d", warn, crit)}
	switch dlq.DepthLevel(sum.Depth, warn, crit) {
	case dlq.LevelCritical:
		depth.Level = doctor.Crit
	case dlq.LevelWarning:
		depth.Level = doctor.Warn
	}
	if depth.Level != doctor.OK {
		depth.Fix = "vrwxctl dlq list --unresolved; replay TX_FAIL rows with vrwxctl dlq replay ID --signer REF, resolve the rest with vrwxctl dlq resolve ID --as MANUAL|SKIPPED --notes …"
	}
	checks := []doctor.Check{depth}
	for _, t := range dlq.Types {
		checks = append(checks, doctor.Check{Section: "dlq", Name: t, Level: doctor.Info, Value: fmt.Sprint(sum.UnresolvedByType[t]), Detail: "unresolved"})
	}
	for _, t := range slices.Sorted(maps.Keys(sum.UnresolvedByType)) {
		if _, err := dlq.NormalizeType(t); err != nil {
			checks = append(checks, doctor.Check{Section: "dlq", Name: t, Level: doctor.Info, Value: fmt.Sprint(sum.UnresolvedByType[t]), Detail: "unresolved, type unknown to vrwxctl"})
		}
	}
	checks = append(checks,
		doctor.Check{Section: "dlq", Name: "pending retry", Level: doctor.Info, Value: fmt.Sprint(sum.PendingRetry), Detail: fmt.Sprintf("%d due now", sum.DueRetry)},
		doctor.Check{Section: "dlq", Name: "exceeded retries", Level: doctor.Info, Value: fmt.Sprint(sum.ExceededRetries),
			Detail: fmt.Sprintf("retry_count >= %d: never retried automatically again", dlq.MaxRetries)},
	)
	oldest := doctor.Check{Section: "dlq", Name: "oldest unresolved", Level: doctor.Info, Value: "-"}
	if sum.Depth > 0 {
		oldest.Value = ui.Duration(sum.OldestUnresolvedAge)
		oldest.Detail = fmt.Sprintf("event %d", sum.OldestUnresolvedID)
	}
	return append(checks, oldest)
}
