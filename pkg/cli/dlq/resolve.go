package dlq

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// ResolveOptions are the inputs of dlq resolve.
type ResolveOptions struct {
	IO      *ui.IO
	Config  func() (*config.Config, error)
	Context func(context.Context) (context.Context, context.CancelFunc)
	Now     func() time.Time
	DryRun  bool
	Yes     bool

	DB  string
	IDs []string
	// All resolves every unresolved event matching Type and Job.
	All    bool
	Type   string
	Job    string
	As     string
	Notes  string
	Reason string
}

// ResolveJSON is the -o json shape of dlq resolve of one event: the event as it is
// after the resolve (or, with --dry-run, as it is now).
type ResolveJSON struct {
	DryRun bool      `json:"dryRun"`
	Event  dlq.Event `json:"event"`
}

// BulkResolveJSON is the -o json shape of dlq resolve over several events or a
// filter (dlq.ResolveReport): what was asked, and per row what happened (with
// --dry-run, the rows that would be resolved, as they are now, result "dry-run").
type BulkResolveJSON = dlq.ResolveReport

// NewCmdResolve returns `dlq resolve`.
func NewCmdResolve(f *cmdutil.Factory, dbFlag *string, runF func(context.Context, *ResolveOptions) error) *cobra.Command {
	opts := &ResolveOptions{IO: f.IO, Config: f.Config, Context: f.Context, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "resolve ID... | --all [--type TYPE] [--job ID]  --as MANUAL|SKIPPED --notes TEXT",
		Short: "Mark DLQ events resolved by hand, one, a list, or every one a filter selects",
		Long: `Mark unresolved DLQ events as resolved: MANUAL (fixed by hand) or SKIPPED (will
not be fixed), with notes saying why (--notes, and --reason for a ticket; both land
in resolution_notes). One short write transaction that waits for the API's own,
safe while the API runs. An event that is already resolved, or does not exist, is
an error (exit 1).

Several IDs, or --all with --type and/or --job, resolve in bulk: ONE summary lists
the events, ONE confirmation covers them, and they are resolved in ONE transaction
(all or none); each row's outcome is reported — an event the API resolved in the
meantime is left as it is and reported (exit 1).

Asks for confirmation (--yes without a terminal). TX_FAIL events are better
replayed: vrwxctl dlq replay ID.`,
		Example: `  vrwxctl dlq resolve 17 --as MANUAL --notes "INC-77: completion relayed by hand, tx 0xabc…" --yes
  vrwxctl dlq resolve 18 19 23 --as SKIPPED --notes "test tenant, jobs cancelled" --yes

  # Every unresolved UPLOAD_FAIL event, after the storage outage was fixed
  vrwxctl dlq resolve --all --type UPLOAD_FAIL --as MANUAL --notes "re-uploaded after the S3 outage" --reason INC-81`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DB, opts.IDs = *dbFlag, args
			opts.DryRun, opts.Yes = f.Globals.DryRun, f.Globals.Yes
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, resolveRun)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.As, "as", "", "resolution: MANUAL or SKIPPED (required)")
	fl.StringVar(&opts.Notes, "notes", "", "why, recorded in resolution_notes (required unless --reason is given)")
	fl.StringVar(&opts.Reason, "reason", "", "ticket or reason, recorded in resolution_notes")
	fl.BoolVar(&opts.All, "all", false, "resolve every unresolved event that --type and --job select")
	fl.StringVar(&opts.Type, "type", "", "with --all: only events of this type ("+strings.Join(dlq.Types, ", ")+")")
	fl.StringVar(&opts.Job, "job", "", "with --all: only events of this job id")
	_ = cmd.RegisterFlagCompletionFunc("as", cobra.FixedCompletions([]string{dlq.ResolutionManual, dlq.ResolutionSkipped}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(dlq.Types, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// resolveRequest is a validated dlq resolve.
type resolveRequest struct {
	ids    []int64
	filter dlq.Filter
	rt     string
	notes  string
}

// bulk reports whether the request is over a filter or several ids.
func (r resolveRequest) bulk() bool { return r.ids == nil || len(r.ids) > 1 }

// validate checks the ids or the filter, the resolution type and the notes.
func (opts *ResolveOptions) validate() (resolveRequest, error) {
	var req resolveRequest
	switch {
	case opts.All && len(opts.IDs) > 0:
		return req, errs.Usagef("give event ids or --all, not both")
	case !opts.All && len(opts.IDs) == 0:
		return req, errs.Usagef("no event to resolve: give one or more event ids, or --all with --type/--job")
	case !opts.All && (opts.Type != "" || opts.Job != ""):
		return req, errs.Usagef("--type and --job select rows for --all; with event ids, leave them out")
	}
	seen := map[int64]bool{}
	for _, s := range opts.IDs {
		id, err := parseID(s)
		if err != nil {
			return req, err
		}
		if !seen[id] {
			seen[id] = true
			req.ids = append(req.ids, id)
		}
	}
	if opts.All {
		req.filter = dlq.Filter{Unresolved: true, All: true}
		if opts.Type != "" {
			t, err := dlq.NormalizeType(opts.Type)
			if err != nil {
				return req, errs.Usagef("--type %s: expected one of %s", redact.Quote(opts.Type), strings.Join(dlq.Types, ", "))
			}
			req.filter.Type = t
		}
		if opts.Job != "" {
			id, err := cmdutil.ParseUint256("--job", opts.Job)
			if err != nil {
				return req, err
			}
			req.filter.JobID = id.String()
		}
	}
	req.rt = strings.ToUpper(strings.TrimSpace(opts.As))
	if req.rt != dlq.ResolutionManual && req.rt != dlq.ResolutionSkipped {
		return req, errs.Usagef("--as %s: expected MANUAL or SKIPPED (RETRIED is set by dlq replay, EXPIRED by the API)", redact.Quote(opts.As))
	}
	notes, reason := strings.TrimSpace(opts.Notes), strings.TrimSpace(opts.Reason)
	switch {
	case notes == "" && reason == "":
		return req, errs.Usagef("--notes is required: say why (a ticket, what was done)")
	case notes != "" && reason != "":
		req.notes = notes + "; reason: " + reason
	default:
		req.notes = notes + reason
	}
	return req, nil
}

func resolveRun(ctx context.Context, opts *ResolveOptions) error {
	req, err := opts.validate()
	if err != nil {
		return err
	}
	db, _, err := openDB(ctx, opts.IO, opts.Config, opts.DB, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if req.bulk() {
		return resolveBulk(ctx, opts, db, req)
	}
	id := req.ids[0]
	e, err := dlq.Get(ctx, db, id)
	if err != nil {
		return err
	}
	if e.Resolved() {
		return alreadyResolved(e)
	}
	if opts.DryRun {
		if opts.IO.JSONOutput() {
			return opts.IO.WriteJSON(ResolveJSON{DryRun: true, Event: e})
		}
		fmt.Fprintf(opts.IO.Out, "would resolve DLQ event %d (%s) as %s (dry run, nothing written)\n", e.ID, e.Type, req.rt)
		return nil
	}
	if !opts.Yes {
		if err := opts.IO.Confirm(fmt.Sprintf("Resolve DLQ event %d (%s, job %s) as %s?", e.ID, e.Type, e.JobID, req.rt)); err != nil {
			return err
		}
	}
	e, err = dlq.Resolve(ctx, db, id, req.rt, req.notes, opts.Now())
	if err != nil {
		return err
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(ResolveJSON{Event: e})
	}
	opts.IO.Successf("DLQ event %d resolved as %s", e.ID, e.ResolutionType)
	fmt.Fprintf(opts.IO.Out, "%d %s %s %s\n", e.ID, e.Type, e.ResolutionType, formatTime(e.ResolvedAt))
	return nil
}
