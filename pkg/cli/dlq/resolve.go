package dlq

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// ResolveJSON is the -o json shape of dlq resolve: the event as it is after the
// resolve (or, with --dry-run, as it is now).
type ResolveJSON struct {
	DryRun bool      `json:"dryRun"`
	Event  dlq.Event `json:"event"`
}

// NewCmdResolve returns `dlq resolve`.
func NewCmdResolve(f *cmdutil.Factory, dbFlag *string) *cobra.Command {
	var as, notes string
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
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			rt := strings.ToUpper(strings.TrimSpace(as))
			if rt != dlq.ResolutionManual && rt != dlq.ResolutionSkipped {
				return errs.Usagef("--as %q: expected MANUAL or SKIPPED (RETRIED is set by dlq replay, EXPIRED by the API)", as)
			}
			if strings.TrimSpace(notes) == "" {
				return errs.Usagef("--notes is required: say why (a ticket, what was done)")
			}
			ctx, cancel := f.Context(cmd.Context())
			defer cancel()
			return resolveRun(ctx, f, *dbFlag, id, rt, notes)
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "resolution: MANUAL or SKIPPED (required)")
	cmd.Flags().StringVar(&notes, "notes", "", "why, recorded in resolution_notes (required)")
	_ = cmd.RegisterFlagCompletionFunc("as", cobra.FixedCompletions([]string{dlq.ResolutionManual, dlq.ResolutionSkipped}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func resolveRun(ctx context.Context, f *cmdutil.Factory, dbFlag string, id int64, rt, notes string) error {
	db, _, err := openDB(ctx, f, dbFlag, true)
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
	if f.Globals.DryRun {
		if f.IO.JSONOutput() {
			return f.IO.WriteJSON(ResolveJSON{DryRun: true, Event: e})
		}
		fmt.Fprintf(f.IO.Out, "would resolve DLQ event %d (%s) as %s (dry run, nothing written)\n", e.ID, e.Type, rt)
		return nil
	}
	if !f.Globals.Yes {
		if err := f.IO.Confirm(fmt.Sprintf("Resolve DLQ event %d (%s, job %s) as %s?", e.ID, e.Type, e.JobID, rt)); err != nil {
			return err
		}
	}
	e, err = dlq.Resolve(ctx, db, id, rt, notes, f.Now())
	if err != nil {
		return err
	}
	if f.IO.JSONOutput() {
		return f.IO.WriteJSON(ResolveJSON{Event: e})
	}
	f.IO.Successf("DLQ event %d resolved as %s", e.ID, e.ResolutionType)
	fmt.Fprintf(f.IO.Out, "%d %s %s %s\n", e.ID, e.Type, e.ResolutionType, formatTime(e.ResolvedAt))
	return nil
}
