package dlq

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/completion"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/report"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// Outcomes of one row of a bulk replay.
const (
	OutcomeReplayed        = "replayed"         // sent, mined, event marked RETRIED
	OutcomeDryRun          = "dry-run"          // signed and simulated, nothing sent
	OutcomeSkipped         = "skipped"          // not sent: the row, or its preflight, says it would fail
	OutcomeFailed          = "failed"           // the send failed or reverted
	OutcomeNotRun          = "not-run"          // the run stopped before this row
	OutcomeSentUnresolved  = "sent-unresolved"  // mined, but marking the event RETRIED failed
	OutcomeAlreadyResolved = "already-resolved" // nothing to do
	OutcomeMissing         = "missing"          // no such event
)

// BulkReplayJSON is the -o json shape of dlq replay over several events or --all.
type BulkReplayJSON struct {
	DryRun bool   `json:"dryRun"`
	From   string `json:"from"`
	// Counts by outcome.
	Counts map[string]int `json:"counts"`
	Rows   []ReplayRow    `json:"rows"`
}

// ReplayRow is one event of a bulk replay and what became of it.
type ReplayRow struct {
	ID      int64        `json:"id"`
	JobID   string       `json:"jobId,omitempty"`
	Values  *ClaimValues `json:"values,omitempty"`
	Outcome string       `json:"outcome"`
	// Reason says why a row was skipped or failed.
	Reason    string `json:"reason,omitempty"`
	TxHash    string `json:"txHash,omitempty"`
	JobStatus string `json:"jobStatus,omitempty"`

	claim *completion.Claim
}

// replayBulk replays many rows: build and check every one, show one summary, ask
// once, then send them in turn, each through the same path as a single replay.
func replayBulk(ctx context.Context, opts *ReplayOptions, ids []int64) error {
	db, _, err := openDB(ctx, opts.IO, opts.Config, opts.DB, true)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := bulkRows(ctx, db, opts.All, ids)
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
	k, err := cmdutil.CompletionChecker(opts.IO, cfg, opts.Profiles, opts.Now)
	if err != nil {
		return err
	}
	k.Chain = flow.Chain
	// Every buildable row is judged before anything is asked or sent, so the summary
	// says what will be sent and what will not, and why.
	for i := range rows {
		r := &rows[i]
		if r.claim == nil {
			continue
		}
		v, err := k.Check(ctx, *r.claim)
		if err != nil {
			// The row's job or robot could not be read (a job that does not exist,
			// a registry that does not answer): that row cannot be replayed.
			r.Outcome, r.Reason, r.claim = OutcomeSkipped, "preflight: "+err.Error(), nil
			continue
		}
		if !v.Valid {
			r.Outcome, r.claim = OutcomeSkipped, nil
			r.Reason = "preflight: " + failedChecks(v)
			if !v.SignatureValid() && r.Values != nil && (r.Values.QualityFrom == "derived" || r.Values.WorkUnitsFrom == "derived") {
				r.Reason += fmt.Sprintf(" — the values are derived from the payload; if the controller signed others, replay it alone with --quality and --work-units (vrwxctl dlq replay %d)", r.ID)
			}
		}
	}
	out := BulkReplayJSON{DryRun: opts.DryRun, From: flow.Signer.Address().Hex(), Rows: rows}
	sendable := 0
	for _, r := range rows {
		if r.claim != nil {
			sendable++
		}
	}
	// The summary goes to stderr in every output mode: it is what the confirmation
	// asks about.
	renderBulkPlan(opts.IO, rows, sendable, out.From, cfg.Profile, flow.Chain.ChainID())
	if sendable > 0 && !opts.DryRun && !opts.Yes {
		if err := opts.IO.Confirm(fmt.Sprintf("Send %d completion(s) from %s?", sendable, out.From)); err != nil {
			return err
		}
	}

	// One confirmation covered them all; each send still runs its own preflight,
	// simulation, rerun guard and audit line.
	flow.DryRun, flow.Yes, flow.Terse = opts.DryRun, true, true
	stopped := ""
	for i := range rows {
		r := &rows[i]
		if r.claim == nil {
			continue
		}
		if stopped != "" {
			r.Outcome, r.Reason, r.claim = OutcomeNotRun, stopped, nil
			continue
		}
		opts.IO.Infof("DLQ event %d: job %s, quality %d, work units %d", r.ID, r.JobID, r.Values.QualityScore, r.Values.WorkUnits)
		res, err := completion.Submit(ctx, flow, k, cmdutil.FeePolicy(cfg), *r.claim)
		r.claim = nil
		if err != nil {
			r.Outcome, r.Reason = OutcomeFailed, err.Error()
			if res := errs.KindOf(err); res == errs.Timeout || res == errs.Refused {
				// A send whose fate is unknown, or a rail (balance, a pending earlier
				// transaction), would meet every row after it the same way.
				stopped = fmt.Sprintf("the run stopped after DLQ event %d: %s", r.ID, err.Error())
			}
			continue
		}
		r.TxHash, r.JobStatus = res.Tx.TxHash, res.JobStatus
		if res.Tx.Receipt == nil {
			r.Outcome = OutcomeDryRun
			continue
		}
		if _, err := dlq.Resolve(ctx, db, r.ID, dlq.ResolutionRetried, replayNotes(res.Tx.TxHash, opts.Send.Reason), opts.Now()); err != nil {
			r.Outcome, r.Reason = OutcomeSentUnresolved, "marking it RETRIED failed: "+err.Error()
			continue
		}
		r.Outcome = OutcomeReplayed
	}

	out.Counts = map[string]int{}
	failed := 0
	for _, r := range rows {
		out.Counts[r.Outcome]++
		if r.Outcome != OutcomeReplayed && r.Outcome != OutcomeDryRun {
			failed++
		}
	}
	if opts.IO.JSONOutput() {
		if err := opts.IO.WriteJSON(out); err != nil {
			return err
		}
	} else {
		renderBulkOutcomes(opts.IO, rows)
	}
	if failed > 0 {
		if opts.IO.JSONOutput() {
			return errs.Exit(errs.Failed)
		}
		return errs.Failedf("%d of %d DLQ event(s) not replayed (see the outcomes above)", failed, len(rows)).
			WithFix("fix each row's reason, then replay those ids again; rows that need a decision can be resolved with vrwxctl dlq resolve")
	}
	return nil
}

// bulkRows reads the rows to replay (by id, or every unresolved TX_FAIL one) and
// rebuilds each one's completion; a row that cannot be replayed says why.
func bulkRows(ctx context.Context, db *sql.DB, all bool, ids []int64) ([]ReplayRow, error) {
	var events []dlq.Event
	var rows []ReplayRow
	if all {
		var err error
		if events, err = dlq.List(ctx, db, dlq.Filter{Type: "TX_FAIL", Unresolved: true, All: true}); err != nil {
			return nil, err
		}
	} else {
		found, err := dlq.GetMany(ctx, db, ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if e, ok := found[id]; ok {
				events = append(events, e)
			} else {
				rows = append(rows, ReplayRow{ID: id, Outcome: OutcomeMissing, Reason: "no such DLQ event"})
			}
		}
	}
	for _, e := range events {
		r := ReplayRow{ID: e.ID, JobID: e.JobID}
		switch {
		case e.Resolved():
			r.Outcome, r.Reason = OutcomeAlreadyResolved, fmt.Sprintf("%s at %s", e.ResolutionType, formatTime(e.ResolvedAt))
		case e.Type != "TX_FAIL":
			r.Outcome, r.Reason = OutcomeSkipped, e.Type+" events cannot be replayed (only TX_FAIL)"
		default:
			c, err := dlq.TxFailCompletion(e)
			if err != nil {
				r.Outcome, r.Reason = OutcomeSkipped, err.Error()
				break
			}
			r.JobID = c.JobID
			v, err := claimValues(e.ID, c, "", "")
			if err != nil {
				r.Outcome, r.Reason = OutcomeSkipped, err.Error()
				break
			}
			r.Values = &v
			claim, err := claimOf(c, v)
			if err != nil {
				r.Outcome, r.Reason = OutcomeSkipped, err.Error()
				break
			}
			r.claim = &claim
		}
		rows = append(rows, r)
	}
	// Rows by id in the order asked for; --all rows oldest first, as listed.
	if !all {
		order := map[int64]int{}
		for i, id := range ids {
			order[id] = i
		}
		slices.SortStableFunc(rows, func(a, b ReplayRow) int { return order[a.ID] - order[b.ID] })
	}
	return rows, nil
}

func failedChecks(v *completion.Verdict) string {
	var out []string
	for _, c := range v.Checks {
		if c.Level == report.Crit {
			out = append(out, c.Name+" ("+c.Value+")")
		}
	}
	return strings.Join(out, ", ")
}

// renderBulkPlan is the one summary of a bulk replay, on stderr before the
// confirmation: every row with its values and whether it will be sent.
func renderBulkPlan(io *ui.IO, rows []ReplayRow, sendable int, from, profile string, chainID uint64) {
	s := io.ErrStyles()
	w := io.ErrOut
	fmt.Fprintln(w, s.Bold.Render(fmt.Sprintf("Replay %d DLQ event(s): %d to send from %s on %s (chain %d), %d not", len(rows), sendable, from, profile, chainID, len(rows)-sendable)))
	t := ui.NewTable("ID", "JOB", "QUALITY", "WORK UNITS", "PLAN")
	for _, r := range rows {
		q, wu := "-", "-"
		if r.Values != nil {
			q = fmt.Sprintf("%d (%s)", r.Values.QualityScore, short(r.Values.QualityFrom))
			wu = fmt.Sprintf("%d (%s)", r.Values.WorkUnits, short(r.Values.WorkUnitsFrom))
		}
		plan := "send"
		if r.claim == nil {
			plan = r.Outcome + ": " + r.Reason
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
		if r.Outcome == OutcomeReplayed {
			detail = "job " + r.JobStatus + ", event RETRIED"
		}
		t.Row(fmt.Sprint(r.ID), r.JobID, r.Outcome, r.TxHash, detail)
	}
	t.Render(io.Out, s)
}

// resolveBulk resolves the rows a list of ids or a filter selects: one summary, one
// confirmation, one transaction, an outcome per row.
func resolveBulk(ctx context.Context, opts *ResolveOptions, db *sql.DB, req resolveRequest) error {
	var events []dlq.Event
	var outcomes []dlq.Outcome
	if req.ids == nil {
		var err error
		if events, err = dlq.List(ctx, db, req.filter); err != nil {
			return err
		}
	} else {
		found, err := dlq.GetMany(ctx, db, req.ids)
		if err != nil {
			return err
		}
		for _, id := range req.ids {
			if e, ok := found[id]; ok {
				events = append(events, e)
			} else {
				outcomes = append(outcomes, dlq.Outcome{ID: id, Result: dlq.ResultMissing})
			}
		}
	}
	var ids []int64
	pending := 0
	for _, e := range events {
		ids = append(ids, e.ID)
		if e.Resolved() {
			outcomes = append(outcomes, dlq.Outcome{ID: e.ID, Result: dlq.ResultAlreadyResolved, Event: &e})
		} else {
			pending++
		}
	}
	renderResolvePlan(opts.IO, events, outcomes, pending, req)
	if pending > 0 && !opts.DryRun {
		if !opts.Yes {
			if err := opts.IO.Confirm(fmt.Sprintf("Resolve %d DLQ event(s) as %s?", pending, req.rt)); err != nil {
				return err
			}
		}
		done, err := dlq.ResolveMany(ctx, db, ids, req.rt, req.notes, opts.Now())
		if err != nil {
			return err
		}
		// ResolveMany re-read every row under the write lock: its answer is the truth
		// for the found rows (one the API resolved since the summary included).
		outcomes = slices.DeleteFunc(outcomes, func(o dlq.Outcome) bool { return o.Result != dlq.ResultMissing })
		outcomes = append(outcomes, done...)
	} else if opts.DryRun {
		for _, e := range events {
			if !e.Resolved() {
				outcomes = append(outcomes, dlq.Outcome{ID: e.ID, Result: "dry-run", Event: &e})
			}
		}
	}
	order := map[int64]int{}
	for i, id := range append(append([]int64{}, req.ids...), ids...) {
		if _, ok := order[id]; !ok {
			order[id] = i
		}
	}
	slices.SortStableFunc(outcomes, func(a, b dlq.Outcome) int { return order[a.ID] - order[b.ID] })

	out := BulkResolveJSON{DryRun: opts.DryRun, Resolution: req.rt, Notes: req.notes, Counts: map[string]int{}, Rows: outcomes}
	if out.Rows == nil {
		out.Rows = []dlq.Outcome{}
	}
	failed := 0
	for _, o := range outcomes {
		out.Counts[o.Result]++
		if o.Result != dlq.ResultResolved && o.Result != "dry-run" {
			failed++
		}
	}
	if opts.IO.JSONOutput() {
		if err := opts.IO.WriteJSON(out); err != nil {
			return err
		}
	} else {
		t := ui.NewTable("ID", "TYPE", "JOB", "RESULT")
		for _, o := range outcomes {
			typ, job := "-", "-"
			if o.Event != nil {
				typ, job = o.Event.Type, o.Event.JobID
			}
			t.Row(fmt.Sprint(o.ID), typ, job, o.Result)
		}
		if t.Len() > 0 {
			t.Render(opts.IO.Out, opts.IO.Styles())
		}
		switch {
		case len(outcomes) == 0:
			opts.IO.Infof("no unresolved DLQ events match: nothing to resolve")
		case opts.DryRun:
			opts.IO.Infof("dry run: %d event(s) would be resolved as %s; nothing written", pending, req.rt)
		default:
			opts.IO.Successf("%d DLQ event(s) resolved as %s", out.Counts[dlq.ResultResolved], req.rt)
		}
	}
	if failed > 0 {
		if opts.IO.JSONOutput() {
			return errs.Exit(errs.Failed)
		}
		return errs.Failedf("%d of %d DLQ event(s) not resolved: missing or already resolved (see the results above)", failed, len(outcomes))
	}
	return nil
}

// renderResolvePlan is the one summary of a bulk resolve, on stderr before the
// confirmation.
func renderResolvePlan(io *ui.IO, events []dlq.Event, outcomes []dlq.Outcome, pending int, req resolveRequest) {
	s := io.ErrStyles()
	w := io.ErrOut
	fmt.Fprintln(w, s.Bold.Render(fmt.Sprintf("Resolve %d DLQ event(s) as %s", pending, req.rt))+"  "+s.Faint.Render("notes: "+req.notes))
	t := ui.NewTable("ID", "TYPE", "JOB", "CREATED", "RETRIES", "REASON")
	for _, e := range events {
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
	for _, o := range outcomes {
		switch o.Result {
		case dlq.ResultMissing:
			fmt.Fprintf(w, "  %s DLQ event %d does not exist\n", s.Warn.Render("!"), o.ID)
		case dlq.ResultAlreadyResolved:
			fmt.Fprintf(w, "  %s DLQ event %d is already resolved (%s at %s)\n", s.Warn.Render("!"), o.ID, o.Event.ResolutionType, formatTime(o.Event.ResolvedAt))
		}
	}
}
