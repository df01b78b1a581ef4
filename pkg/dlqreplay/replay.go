package dlqreplay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/completion"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/report"
	"github.com/vrwx/vrwxctl/pkg/txflow"
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

// Report is a bulk replay's outcome, row by row: the -o json shape of dlq replay
// over several events or --all.
type Report struct {
	DryRun bool   `json:"dryRun"`
	From   string `json:"from"`
	// Counts by outcome.
	Counts map[string]int `json:"counts"`
	Rows   []Row          `json:"rows"`
}

// Failed counts the rows neither replayed nor dry-run.
func (r *Report) Failed() int {
	n := 0
	for _, row := range r.Rows {
		if row.Outcome != OutcomeReplayed && row.Outcome != OutcomeDryRun {
			n++
		}
	}
	return n
}

// Row is one event of a bulk replay and what became of it. Before Run, a row that
// will be sent has no outcome yet (Sendable).
type Row struct {
	ID      int64   `json:"id"`
	JobID   string  `json:"jobId,omitempty"`
	Values  *Values `json:"values,omitempty"`
	Outcome string  `json:"outcome"`
	// Reason says why a row was skipped or failed.
	Reason string `json:"reason,omitempty"`
	// Hint is the next step for a row the checks refused.
	Hint      string `json:"hint,omitempty"`
	TxHash    string `json:"txHash,omitempty"`
	JobStatus string `json:"jobStatus,omitempty"`
	// Idempotency is the job's idempotency record's status after a replay
	// (COMPLETED).
	Idempotency string `json:"idempotency,omitempty"`

	claim *completion.Claim
}

// Sendable reports whether the row is still to be sent.
func (r Row) Sendable() bool { return r.claim != nil }

// Selection names the rows of a bulk replay: every unresolved TX_FAIL row (All), or
// these ids in this order.
type Selection struct {
	All bool
	IDs []int64
}

// Read reads the selected rows and rebuilds each one's completion (Build, with the
// overrides' names and no values: in bulk every row's values are its own). A row
// that cannot be replayed — missing, resolved, another type, a payload without what
// a completion needs — has its outcome and reason already. Rows by id come in the
// order asked for; with All, oldest first.
func Read(ctx context.Context, db *sql.DB, sel Selection, o Overrides) ([]Row, error) {
	var events []dlq.Event
	var rows []Row
	if sel.All {
		var err error
		if events, err = dlq.List(ctx, db, dlq.Filter{Type: "TX_FAIL", Unresolved: true, All: true}); err != nil {
			return nil, err
		}
	} else {
		found, err := dlq.GetMany(ctx, db, sel.IDs)
		if err != nil {
			return nil, err
		}
		for _, id := range sel.IDs {
			if e, ok := found[id]; ok {
				events = append(events, e)
			} else {
				rows = append(rows, Row{ID: id, Outcome: OutcomeMissing, Reason: "no such DLQ event"})
			}
		}
	}
	for _, e := range events {
		rows = append(rows, readRow(e, o))
	}
	if !sel.All {
		order := map[int64]int{}
		for i, id := range sel.IDs {
			order[id] = i
		}
		slices.SortStableFunc(rows, func(a, b Row) int { return order[a.ID] - order[b.ID] })
	}
	return rows, nil
}

func readRow(e dlq.Event, o Overrides) Row {
	r := Row{ID: e.ID, JobID: e.JobID}
	switch {
	case e.Resolved():
		r.Outcome, r.Reason = OutcomeAlreadyResolved, fmt.Sprintf("%s at %s", e.ResolutionType, ui.FormatUTC(*e.ResolvedAt))
	case e.Type != "TX_FAIL":
		r.Outcome, r.Reason = OutcomeSkipped, e.Type+" events cannot be replayed (only TX_FAIL)"
	default:
		b, err := Build(e, o)
		if b.Completion.JobID != "" {
			r.JobID = b.Completion.JobID
		}
		if b.Values.QualityFrom != "" {
			r.Values = &b.Values
		}
		if err != nil {
			r.Outcome, r.Reason = OutcomeSkipped, err.Error()
			break
		}
		r.claim = &b.Claim
	}
	return r
}

// Replayer sends rebuilt completions and marks their rows RETRIED.
type Replayer struct {
	DB *sql.DB
	// Flow is the send path; its chain client is the checker's too. Run sets Yes and
	// Terse on it (the plan's one confirmation covered every row); DryRun is the
	// caller's.
	Flow    *txflow.Flow
	Checker completion.Checker
	Fees    chain.FeePolicy
	Now     func() time.Time
	// Reason is the operator's reason for the replay, added to each row's notes.
	Reason string
}

// Notes is what a replayed row's resolution_notes say: the transaction, and the
// operator's reason when given.
func Notes(txHash, reason string) string {
	notes := "replayed by vrwxctl: tx " + txHash
	if r := strings.TrimSpace(reason); r != "" {
		notes += "; reason: " + r
	}
	return notes
}

// Sent is a completion that went through Send: the completion's result, and the
// row and the job's idempotency record as MarkReplayed left them (nil after a dry
// run).
type Sent struct {
	Result  *completion.Result
	Event   *dlq.Event
	Records *dlq.Replayed
}

// UnresolvedError is a completion that was mined, but whose row could not be marked
// RETRIED: the row still says it failed although the job moved on.
type UnresolvedError struct {
	ID     int64
	Result *completion.Result
	Err    error
}

func (e *UnresolvedError) Error() string { return "marking it RETRIED failed: " + e.Err.Error() }
func (e *UnresolvedError) Unwrap() error { return e.Err }

// Send submits a row's completion through completion.Submit (its own preflight,
// simulation, confirmation per the flow, audit line) and, once mined, leaves the
// API's records as its own successful retry would (dlq.MarkReplayed): the row
// retried once more and resolved RETRIED with the transaction in its notes, the
// job's idempotency record COMPLETED with the success response. A mined completion
// whose records could not be written is an *UnresolvedError alongside the Sent.
func (r *Replayer) Send(ctx context.Context, id int64, c completion.Claim) (*Sent, error) {
	res, err := completion.Submit(ctx, r.Flow, r.Checker, r.Fees, c)
	if err != nil {
		return nil, err
	}
	s := &Sent{Result: res}
	if res.Tx.Receipt == nil {
		return s, nil
	}
	rel := dlq.Relayed{ChainID: r.Flow.Chain.ChainID(), JobID: c.JobID.String(), ManifestHash: c.CompletionHash.Hex(),
		QualityScore: c.QualityScore, WorkUnits: c.WorkUnits, TxHash: res.Tx.TxHash, BlockNumber: res.Tx.Receipt.Block, GasUsed: res.Tx.Receipt.GasUsed}
	rec, err := dlq.MarkReplayed(ctx, r.DB, id, rel, Notes(res.Tx.TxHash, r.Reason), r.Now())
	if err != nil {
		return s, &UnresolvedError{ID: id, Result: res, Err: err}
	}
	s.Event, s.Records = &rec.Event, rec
	return s, nil
}

// Plan is a bulk replay judged before anything is asked or sent: every row says
// whether it will be sent, and if not, why.
type Plan struct {
	Rows []Row
}

// Sendable counts the rows that will be sent.
func (p *Plan) Sendable() int {
	n := 0
	for _, r := range p.Rows {
		if r.Sendable() {
			n++
		}
	}
	return n
}

// Plan judges every buildable row with the checker on the flow's chain, so the
// summary says what will be sent and what will not, and why. A row whose completion
// would fail, or whose job or robot cannot be read, is skipped.
func (r *Replayer) Plan(ctx context.Context, rows []Row) *Plan {
	k := r.Checker
	if c := r.Flow.Client(); c != nil {
		k.Chain = c
	}
	for i := range rows {
		row := &rows[i]
		if row.claim == nil {
			continue
		}
		v, err := k.Check(ctx, *row.claim)
		if err != nil {
			// The row's job or robot could not be read (a job that does not exist,
			// a registry that does not answer): that row cannot be replayed.
			row.Outcome, row.Reason, row.claim = OutcomeSkipped, "preflight: "+err.Error(), nil
			continue
		}
		if !v.Valid {
			row.Outcome, row.claim = OutcomeSkipped, nil
			row.Reason = "preflight: " + failedChecks(v)
			if row.Values != nil {
				row.Hint = Hint(row.ID, *row.Values, v)
			}
		}
	}
	return &Plan{Rows: rows}
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

// Run sends the plan's rows in turn, each through Send. A failure leaves the next
// rows going, except one that would meet them all the same way: a send whose fate
// is unknown (timed out) or a refused rail stops the run, and the rows after it are
// not run. A dry run sends nothing, so only a timeout stops it: every row is
// reported, each unfunded sender's included. The caller has confirmed the plan: Run
// sets the flow's Yes (and Terse, one line per transaction).
func (r *Replayer) Run(ctx context.Context, p *Plan) *Report {
	r.Flow.Yes, r.Flow.Terse = true, true
	stopped := ""
	for i := range p.Rows {
		row := &p.Rows[i]
		if row.claim == nil {
			continue
		}
		if stopped != "" {
			row.Outcome, row.Reason, row.claim = OutcomeNotRun, stopped, nil
			continue
		}
		r.Flow.IO.Infof("DLQ event %d: job %s, quality %d, work units %d", row.ID, row.JobID, row.Values.QualityScore, row.Values.WorkUnits)
		s, err := r.Send(ctx, row.ID, *row.claim)
		row.claim = nil
		var unresolved *UnresolvedError
		switch {
		case errors.As(err, &unresolved):
			row.TxHash, row.JobStatus = s.Result.Tx.TxHash, s.Result.JobStatus
			row.Outcome, row.Reason = OutcomeSentUnresolved, err.Error()
		case err != nil:
			row.Outcome, row.Reason = OutcomeFailed, err.Error()
			var pe *completion.PreflightError
			if errors.As(err, &pe) && row.Values != nil {
				row.Hint = Hint(row.ID, *row.Values, pe.Verdict)
			}
			if k := errs.KindOf(err); k == errs.Timeout || (k == errs.Refused && !r.Flow.DryRun) {
				stopped = fmt.Sprintf("the run stopped after DLQ event %d: %s", row.ID, err.Error())
			}
		case s.Result.Tx.Receipt == nil:
			row.TxHash, row.Outcome = s.Result.Tx.TxHash, OutcomeDryRun
		default:
			row.TxHash, row.JobStatus, row.Outcome = s.Result.Tx.TxHash, s.Result.JobStatus, OutcomeReplayed
			if s.Records != nil && s.Records.Idempotency != nil {
				row.Idempotency = s.Records.Idempotency.Status
			}
		}
	}
	out := &Report{DryRun: r.Flow.DryRun, From: r.Flow.Signer.Address().Hex(), Rows: p.Rows, Counts: map[string]int{}}
	for _, row := range p.Rows {
		out.Counts[row.Outcome]++
	}
	return out
}
