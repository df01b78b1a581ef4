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

	DB    string
	ID    string
	As    string
	Notes string
}

// ResolveJSON is the -o json shape of dlq resolve: the event as it is after the
// resolve (or, with --dry-run, as it is now).
type ResolveJSON struct {
	DryRun bool      `json:"dryRun"`
	Event  dlq.Event `json:"event"`
}

// NewCmdResolve returns `dlq resolve`.
func NewCmdResolve(f *cmdutil.Factory, dbFlag *string, runF func(context.Context, *ResolveOptions) error) *cobra.Command {
	opts := &ResolveOptions{IO: f.IO, Config: f.Config, Context: f.Context, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "resolve ID --as MANUAL|SKIPPED --notes TEXT",
		Short: "Mark a DLQ event resolved by hand",
		Long: `Mark an unresolved DLQ event as resolved: MANUAL (fixed by hand) or SKIPPED
(will not be fixed), with notes saying why. One short write transaction that waits
for the API's own, safe while the API runs. An event that is already resolved, or
does not exist, is an error (exit 1).

Asks for confirmation (--yes without a terminal). TX_FAIL events are better
replayed: vrwxctl dlq replay ID.`,
		Example: `  vrwxctl dlq resolve 17 --as MANUAL --notes "INC-77: completion relayed by hand, tx 0xabc…" --yes
  vrwxctl dlq resolve 18 --as SKIPPED --notes "test tenant, job cancelled" --yes`,
		Args: cmdutil.ExactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DB, opts.ID = *dbFlag, args[0]
			opts.DryRun, opts.Yes = f.Globals.DryRun, f.Globals.Yes
			ctx, cancel := opts.Context(cmd.Context())
			defer cancel()
			if runF != nil {
				return runF(ctx, opts)
			}
			return resolveRun(ctx, opts)
		},
	}
	cmd.Flags().StringVar(&opts.As, "as", "", "resolution: MANUAL or SKIPPED (required)")
	cmd.Flags().StringVar(&opts.Notes, "notes", "", "why, recorded in resolution_notes (required)")
	_ = cmd.RegisterFlagCompletionFunc("as", cobra.FixedCompletions([]string{dlq.ResolutionManual, dlq.ResolutionSkipped}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// validate returns the event id and the resolution type.
func (opts *ResolveOptions) validate() (int64, string, error) {
	id, err := parseID(opts.ID)
	if err != nil {
		return 0, "", err
	}
	rt := strings.ToUpper(strings.TrimSpace(opts.As))
	if rt != dlq.ResolutionManual && rt != dlq.ResolutionSkipped {
		return 0, "", errs.Usagef("--as %q: expected MANUAL or SKIPPED (RETRIED is set by dlq replay, EXPIRED by the API)", opts.As)
	}
	if strings.TrimSpace(opts.Notes) == "" {
		return 0, "", errs.Usagef("--notes is required: say why (a ticket, what was done)")
	}
	return id, rt, nil
}

func resolveRun(ctx context.Context, opts *ResolveOptions) error {
	id, rt, err := opts.validate()
	if err != nil {
		return err
	}
	db, _, err := openDB(ctx, opts.IO, opts.Config, opts.DB, true)
	if err != nil {
		return err
	}
	defer db.Close()
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
		fmt.Fprintf(opts.IO.Out, "would resolve DLQ event %d (%s) as %s (dry run, nothing written)\n", e.ID, e.Type, rt)
		return nil
	}
	if !opts.Yes {
		if err := opts.IO.Confirm(fmt.Sprintf("Resolve DLQ event %d (%s, job %s) as %s?", e.ID, e.Type, e.JobID, rt)); err != nil {
			return err
		}
	}
	e, err = dlq.Resolve(ctx, db, id, rt, opts.Notes, opts.Now())
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
