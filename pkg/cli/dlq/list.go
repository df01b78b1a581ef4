package dlq

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// NewCmdList returns `dlq list`. Its -o json shape is an array of dlq.Event
// ([] when nothing matches).
func NewCmdList(f *cmdutil.Factory, dbFlag *string) *cobra.Command {
	var filter dlq.Filter
	cmd := &cobra.Command{
		Use:   "list [--type T] [--unresolved] [--job ID] [--limit N]",
		Short: "List DLQ events, oldest first",
		Long: `List dead-letter events, oldest first: id, type, job, retries, state, age and
reason. Types: ` + strings.Join(dlq.Types, ", ") + `.`,
		Example: `  # What the "DLQ Depth" alert counts
  vrwxctl dlq list --unresolved

  # Failed completions of one job, as JSON
  vrwxctl dlq list --type TX_FAIL --job 42 -o json`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if filter.Limit < 1 {
				return errs.Usagef("--limit %d: expected at least 1", filter.Limit)
			}
			if filter.Type != "" {
				t, err := dlq.NormalizeType(filter.Type)
				if err != nil {
					return err
				}
				filter.Type = t
			}
			if filter.JobID != "" {
				if _, err := cmdutil.ParseUint256("--job", filter.JobID); err != nil {
					return err
				}
			}
			ctx, cancel := f.Context(cmd.Context())
			defer cancel()
			return listRun(ctx, f, *dbFlag, filter)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&filter.Type, "type", "", "only this event type (e.g. TX_FAIL)")
	fl.BoolVar(&filter.Unresolved, "unresolved", false, "only unresolved events")
	fl.StringVar(&filter.JobID, "job", "", "only events of this job id")
	fl.IntVar(&filter.Limit, "limit", 100, "at most this many events")
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(dlq.Types, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func listRun(ctx context.Context, f *cmdutil.Factory, dbFlag string, filter dlq.Filter) error {
	db, _, err := openDB(ctx, f, dbFlag, false)
	if err != nil {
		return err
	}
	defer db.Close()
	events, err := dlq.List(ctx, db, filter)
	if err != nil {
		return err
	}
	if events == nil {
		events = []dlq.Event{}
	}
	if f.IO.JSONOutput() {
		return f.IO.WriteJSON(events)
	}
	if len(events) == 0 {
		f.IO.Infof("no DLQ events match")
		return nil
	}
	now := f.Now()
	t := ui.NewTable("ID", "TYPE", "JOB", "RETRIES", "STATE", "AGE", "REASON")
	for _, e := range events {
		job := e.JobID
		if job == "" {
			job = "-"
		}
		t.Row(fmt.Sprint(e.ID), e.Type, job, fmt.Sprint(e.RetryCount), state(e), ui.Duration(now.Sub(e.CreatedAt)), clip(e.Reason, 60))
	}
	t.Render(f.IO.Out, f.IO.Styles())
	if len(events) == filter.Limit {
		f.IO.Infof("showing the first %d; raise --limit for more", filter.Limit)
	}
	return nil
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// NewCmdShow returns `dlq show`. Its -o json shape is one dlq.Event.
func NewCmdShow(f *cmdutil.Factory, dbFlag *string) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one DLQ event with its payload pretty-printed",
		Long: `Show every column of one dead-letter event: type, job, manifest hash, reason,
error code, retries, resolution, the payload indented for reading, and the error
stack. A missing id is an error (exit 1).`,
		Example: `  vrwxctl dlq show 17
  vrwxctl dlq show 17 -o json | jq -r .payload | jq .`,
		Args: cmdutil.ExactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			ctx, cancel := f.Context(cmd.Context())
			defer cancel()
			db, _, err := openDB(ctx, f, *dbFlag, false)
			if err != nil {
				return err
			}
			defer db.Close()
			e, err := dlq.Get(ctx, db, id)
			if err != nil {
				return err
			}
			if f.IO.JSONOutput() {
				return f.IO.WriteJSON(e)
			}
			renderEvent(f.IO, e)
			return nil
		},
	}
}

func renderEvent(io *ui.IO, e dlq.Event) {
	s := io.Styles()
	fmt.Fprintf(io.Out, "%s %d  %s  %s\n", s.Bold.Render("DLQ EVENT"), e.ID, e.Type, state(e))
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(io.Out, "  %-17s %s\n", k, v)
		}
	}
	row("job", e.JobID)
	row("manifest hash", e.ManifestHash)
	row("connector", e.ConnectorType)
	row("service", e.ServiceType)
	row("reason", e.Reason)
	row("error code", e.ErrorCode)
	row("retries", fmt.Sprintf("%d of %d", e.RetryCount, dlq.MaxRetries))
	if e.NextRetryAt != nil {
		row("next retry", formatTime(e.NextRetryAt))
	}
	if e.LastRetryAt != nil {
		row("last retry", formatTime(e.LastRetryAt))
	}
	row("created", formatTime(&e.CreatedAt))
	if e.Resolved() {
		row("resolved", formatTime(e.ResolvedAt)+" as "+e.ResolutionType)
		row("notes", e.ResolutionNotes)
	}
	fmt.Fprintln(io.Out, s.Bold.Render("payload"))
	fmt.Fprintln(io.Out, e.PrettyPayload())
	if e.ErrorStack != "" {
		fmt.Fprintln(io.Out, s.Bold.Render("error stack"))
		fmt.Fprintln(io.Out, e.ErrorStack)
	}
}
