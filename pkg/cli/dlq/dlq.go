// Package dlq implements `vrwxctl dlq`: the API's dead-letter queue read and worked
// while the API runs — depth against the runbook's "DLQ Depth" alert (stats),
// listing and showing events, resolving one, and replaying a failed completion
// (TX_FAIL) through job complete's preflight and send path.
package dlq

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// NewCmdDLQ returns the `dlq` group.
func NewCmdDLQ(f *cmdutil.Factory) *cobra.Command {
	var dbFlag string
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "The API's dead-letter queue: stats, list, show, resolve, replay",
		Long: `Work the VRWX API's dead-letter queue (the dlq_events table) while the API keeps
running: reads never block it, and a resolve is one short write transaction that
waits out the API's own (busy timeout 5 s).

The database is --db, else DATABASE_PATH, else the profile's database_path.`,
	}
	cmd.PersistentFlags().StringVar(&dbFlag, "db", "", "the API's database (default DATABASE_PATH or the profile's database_path)")
	cmd.AddCommand(NewCmdStats(f, &dbFlag, nil), NewCmdList(f, &dbFlag, nil), NewCmdShow(f, &dbFlag, nil), NewCmdResolve(f, &dbFlag, nil), NewCmdReplay(f, &dbFlag, nil))
	return cmd
}

// openDB opens the API's database read-only or, with write, the way the API does,
// and checks it has the dlq_events table.
func openDB(ctx context.Context, io *ui.IO, config func() (*config.Config, error), flag string, write bool) (*sql.DB, string, error) {
	configured := ""
	if flag == "" {
		cfg, err := config()
		if err != nil {
			return nil, "", err
		}
		configured = cfg.String("database_path")
	}
	path, err := apidb.ResolvePath(flag, configured)
	var db *sql.DB
	var rec *apidb.Recovery
	if err == nil {
		db, rec, err = apidb.OpenExisting(ctx, path, write)
	}
	if rec != nil {
		io.Warnf("%s", rec)
	}
	if err != nil {
		var e *errs.Error
		if !errors.As(err, &e) {
			return nil, "", errs.Failedf("open database %s", redact.Mask(path)).Wrap(err)
		}
		if e.Kind == errs.Usage {
			e.WithFix("point --db or DATABASE_PATH at the VRWX API's database")
		}
		return nil, "", err
	}
	missing, _, err := apidb.CheckSchema(ctx, db)
	if err != nil {
		db.Close()
		return nil, "", errs.Failedf("read the schema of %s", path).Wrap(err)
	}
	if slices.Contains(missing, "dlq_events") {
		db.Close()
		return nil, "", errs.Failedf("database %s has no dlq_events table (missing: %s)", redact.Mask(path), strings.Join(missing, ", ")).
			WithFix("point --db or DATABASE_PATH at the VRWX API's database")
	}
	return db, path, nil
}

// parseID reads a dlq_events id.
func parseID(s string) (int64, error) {
	id, err := cmdutil.ParseUint("DLQ event id", strings.TrimPrefix(s, "#"), math.MaxInt64)
	if err != nil || id < 1 {
		return 0, errs.Usagef("DLQ event id %s: expected a positive integer: decimal digits, or 0x followed by hex digits (the id column of vrwxctl dlq list)", redact.Quote(s))
	}
	return int64(id), nil
}

// state is an event's resolution for tables: the resolution type, or "unresolved".
func state(e dlq.Event) string {
	if e.Resolved() {
		return e.ResolutionType
	}
	return "unresolved"
}

func formatTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func alreadyResolved(e dlq.Event) error {
	return errs.Failedf("DLQ event %d is already resolved (%s at %s)", e.ID, e.ResolutionType, formatTime(e.ResolvedAt)).
		WithFix(fmt.Sprintf("nothing to do; see vrwxctl dlq show %d", e.ID))
}
