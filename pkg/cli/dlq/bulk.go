package dlq

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/dlqreplay"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// BulkReplayJSON is the -o json shape of dlq replay over several events or --all
// (dlqreplay.Report).
type BulkReplayJSON = dlqreplay.Report

// ReplayRow is one event of a bulk replay and what became of it (dlqreplay.Row).
type ReplayRow = dlqreplay.Row

// replayBulk replays many rows: the workflow reads and judges every one, the
// summary is shown and confirmed once, then the workflow sends them in turn.
func replayBulk(ctx context.Context, opts *ReplayOptions, ids []int64) error {
	db, _, err := openDB(ctx, opts.IO, opts.Config, opts.DB, true)
	if err != nil {
		return err
	}
	defer db.Close()
	o, err := opts.overrides()
	if err != nil {
		return err
	}
	rows, err := dlqreplay.Read(ctx, db, dlqreplay.Selection{All: opts.All, IDs: ids}, o)
	if err != nil {
		return err
	}
	send := opts.Send
	if send.Reason == "" {
		send.Reason = "dlq replay (bulk)"
	}
	flow, cfg, err := opts.Flow(ctx, "dlq replay", send)
	if err != nil {
		return err
	}
	flow.DryRun = opts.DryRun
	k, err := cmdutil.CompletionChecker(opts.IO, cfg, opts.Profiles, opts.Now)
	if err != nil {
		return err
	}
	rp := &dlqreplay.Replayer{DB: db, Flow: flow, Checker: k, Fees: cmdutil.FeePolicy(cfg), Now: opts.Now, Reason: opts.Send.Reason}
	plan := rp.Plan(ctx, rows)
	from := flow.Signer.Address().Hex()
	// The summary goes to stderr in every output mode: it is what the confirmation
	// asks about.
	renderBulkPlan(opts.IO, plan, from, cfg.Profile, flow.Chain.ChainID())
	if n := plan.Sendable(); n > 0 && !opts.DryRun && !opts.Yes {
		if err := opts.IO.Confirm(fmt.Sprintf("Send %d completion(s) from %s?", n, from)); err != nil {
			return err
		}
	}
	out := rp.Run(ctx, plan)
	if opts.IO.JSONOutput() {
		if err := opts.IO.WriteJSON(out); err != nil {
			return err
		}
	} else {
		renderBulkOutcomes(opts.IO, out.Rows)
	}
	if failed := out.Failed(); failed > 0 {
		if opts.IO.JSONOutput() {
			return errs.Exit(errs.Failed)
		}
		return errs.Failedf("%d of %d DLQ event(s) not replayed (see the outcomes above)", failed, len(out.Rows)).
			WithFix("fix each row's reason, then replay those ids again; rows that need a decision can be resolved with vrwxctl dlq resolve")
	}
	return nil
}

// renderBulkPlan is the one summary of a bulk replay, on stderr before the
// confirmation: every row with its values and whether it will be sent.
func renderBulkPlan(io *ui.IO, plan *dlqreplay.Plan, from, profile string, chainID uint64) {
	s := io.ErrStyles()
	w := io.ErrOut
	rows, sendable := plan.Rows, plan.Sendable()
	fmt.Fprintln(w, s.Bold.Render(fmt.Sprintf("Replay %d DLQ event(s): %d to send from %s on %s (chain %d), %d not", len(rows), sendable, from, profile, chainID, len(rows)-sendable)))
	t := ui.NewTable("ID", "JOB", "QUALITY", "WORK UNITS", "PLAN")
	for _, r := range rows {
		q, wu := "-", "-"
		if r.Values != nil {
			q = fmt.Sprintf("%d (%s)", r.Values.QualityScore, short(r.Values.QualityFrom))
			wu = fmt.Sprintf("%d (%s)", r.Values.WorkUnits, short(r.Values.WorkUnitsFrom))
		}
		plan := "send"
		if !r.Sendable() {
			plan = r.Outcome + ": " + r.Reason
			if r.Hint != "" {
				plan += " — " + r.Hint
			}
		}
		t.Row(fmt.Sprint(r.ID), r.JobID, q, wu, plan)
	}
	t.Render(w, s)
	for _, r := range rows {
		if r.Values != nil {
			for _, a := range r.Values.Assumed {
				fmt.Fprintf(w, "  %s %s\n", s.Warn.Render(fmt.Sprintf("event %d:", r.ID)), a)
			}
		}
	}
}

// short keeps the first word of a value's origin for the table ("--quality,
// overriding …" → "--quality").
func short(from string) string {
	f, _, _ := strings.Cut(from, ",")
	return f
}

// renderBulkOutcomes prints each row's outcome on stdout.
func renderBulkOutcomes(io *ui.IO, rows []ReplayRow) {
	s := io.Styles()
	t := ui.NewTable("ID", "JOB", "OUTCOME", "TX", "DETAIL")
	for _, r := range rows {
		detail := r.Reason
		switch {
		case r.Outcome == dlqreplay.OutcomeReplayed:
			detail = "job " + r.JobStatus + ", event RETRIED, idempotency " + r.Idempotency
		case r.Hint != "":
			detail += " — " + r.Hint
		}
		t.Row(fmt.Sprint(r.ID), r.JobID, r.Outcome, r.TxHash, detail)
	}
	t.Render(io.Out, s)
}

// resolveBulk resolves the rows a list of ids or a filter selects: one summary, one
// confirmation, one transaction, an outcome per row.
func resolveBulk(ctx context.Context, opts *ResolveOptions, db *sql.DB, req resolveRequest) error {
	plan, err := dlq.PlanResolve(ctx, db, req.ids, req.filter)
	if err != nil {
		return err
	}
	renderResolvePlan(opts.IO, plan, req)
	var out BulkResolveJSON
	switch {
	case opts.DryRun:
		out = plan.DryRun(req.rt, req.notes)
	default:
		if plan.Pending > 0 && !opts.Yes {
			if err := opts.IO.Confirm(fmt.Sprintf("Resolve %d DLQ event(s) as %s?", plan.Pending, req.rt)); err != nil {
				return err
			}
		}
		if out, err = plan.Resolve(ctx, db, req.rt, req.notes, opts.Now()); err != nil {
			return err
		}
	}
	if opts.IO.JSONOutput() {
		if err := opts.IO.WriteJSON(out); err != nil {
			return err
		}
	} else {
		renderResolveOutcomes(opts.IO, out, plan.Pending)
	}
	if failed := out.Failed(); failed > 0 {
		if opts.IO.JSONOutput() {
			return errs.Exit(errs.Failed)
		}
		return errs.Failedf("%d of %d DLQ event(s) not resolved: missing or already resolved (see the results above)", failed, len(out.Rows))
	}
	return nil
}

// renderResolvePlan is the one summary of a bulk resolve, on stderr before the
// confirmation.
func renderResolvePlan(io *ui.IO, plan *dlq.ResolvePlan, req resolveRequest) {
	s := io.ErrStyles()
	w := io.ErrOut
	fmt.Fprintln(w, s.Bold.Render(fmt.Sprintf("Resolve %d DLQ event(s) as %s", plan.Pending, req.rt))+"  "+s.Faint.Render("notes: "+req.notes))
	t := ui.NewTable("ID", "TYPE", "JOB", "CREATED", "RETRIES", "REASON")
	for _, e := range plan.Events {
		if e.Resolved() {
			continue
		}
		reason := e.Reason
		if len(reason) > 60 {
			reason = reason[:57] + "..."
		}
		t.Row(fmt.Sprint(e.ID), e.Type, e.JobID, formatTime(&e.CreatedAt), fmt.Sprint(e.RetryCount), reason)
	}
	if t.Len() > 0 {
		t.Render(w, s)
	}
	for _, o := range plan.Outcomes {
		switch o.Result {
		case dlq.ResultMissing:
			fmt.Fprintf(w, "  %s DLQ event %d does not exist\n", s.Warn.Render("!"), o.ID)
		case dlq.ResultAlreadyResolved:
			fmt.Fprintf(w, "  %s DLQ event %d is already resolved (%s at %s)\n", s.Warn.Render("!"), o.ID, o.Event.ResolutionType, formatTime(o.Event.ResolvedAt))
		}
	}
}

// renderResolveOutcomes prints each row's result on stdout and what was done on
// stderr.
func renderResolveOutcomes(io *ui.IO, out BulkResolveJSON, pending int) {
	t := ui.NewTable("ID", "TYPE", "JOB", "RESULT")
	for _, o := range out.Rows {
		typ, job := "-", "-"
		if o.Event != nil {
			typ, job = o.Event.Type, o.Event.JobID
		}
		t.Row(fmt.Sprint(o.ID), typ, job, o.Result)
	}
	if t.Len() > 0 {
		t.Render(io.Out, io.Styles())
	}
	switch {
	case len(out.Rows) == 0:
		io.Infof("no unresolved DLQ events match: nothing to resolve")
	case out.DryRun:
		io.Infof("dry run: %d event(s) would be resolved as %s; nothing written", pending, out.Resolution)
	default:
		io.Successf("%d DLQ event(s) resolved as %s", out.Counts[dlq.ResultResolved], out.Resolution)
	}
}
