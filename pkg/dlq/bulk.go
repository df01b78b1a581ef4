package dlq

import (
	"context"
	"database/sql"
	"slices"
	"time"
)

// ResultDryRun is the result of a row a dry run would have resolved.
const ResultDryRun = "dry-run"

// ResolveReport is a bulk resolve's outcome: what was asked, and per row what
// happened (after a dry run, the rows that would be resolved, as they are now,
// result "dry-run").
type ResolveReport struct {
	DryRun     bool           `json:"dryRun"`
	Resolution string         `json:"resolution"`
	Notes      string         `json:"notes"`
	Counts     map[string]int `json:"counts"`
	Rows       []Outcome      `json:"rows"`
}

// Failed counts the rows neither resolved nor dry-run: missing, or already resolved.
func (r ResolveReport) Failed() int {
	n := 0
	for _, o := range r.Rows {
		if o.Result != ResultResolved && o.Result != ResultDryRun {
			n++
		}
	}
	return n
}

// ResolvePlan is a bulk resolve read before anything is asked or written.
type ResolvePlan struct {
	// Events are the rows found, in the order asked for (by id) or listed (filter).
	Events []Event
	// Outcomes are the rows already settled: missing, or already resolved.
	Outcomes []Outcome
	// Pending counts the found rows that are unresolved: those a resolve will write.
	Pending int

	asked []int64
}

// PlanResolve reads the rows a bulk resolve selects: these ids (in this order), or,
// when ids is nil, every row the filter lists.
func PlanResolve(ctx context.Context, db *sql.DB, ids []int64, f Filter) (*ResolvePlan, error) {
	p := &ResolvePlan{asked: ids}
	if ids == nil {
		var err error
		if p.Events, err = List(ctx, db, f); err != nil {
			return nil, err
		}
	} else {
		found, err := GetMany(ctx, db, ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if e, ok := found[id]; ok {
				p.Events = append(p.Events, e)
			} else {
				p.Outcomes = append(p.Outcomes, Outcome{ID: id, Result: ResultMissing})
			}
		}
	}
	for _, e := range p.Events {
		if e.Resolved() {
			p.Outcomes = append(p.Outcomes, Outcome{ID: e.ID, Result: ResultAlreadyResolved, Event: &e})
		} else {
			p.Pending++
		}
	}
	return p, nil
}

// Resolve resolves the plan's rows in one transaction (ResolveMany), which re-reads
// every row under the write lock: its answer is the truth for the found rows (one
// the API resolved since the plan was read says so). With nothing pending nothing is
// written.
func (p *ResolvePlan) Resolve(ctx context.Context, db *sql.DB, resolutionType, notes string, now time.Time) (ResolveReport, error) {
	outcomes := slices.Clone(p.Outcomes)
	if p.Pending > 0 {
		ids := make([]int64, 0, len(p.Events))
		for _, e := range p.Events {
			ids = append(ids, e.ID)
		}
		done, err := ResolveMany(ctx, db, ids, resolutionType, notes, now)
		if err != nil {
			return ResolveReport{}, err
		}
		outcomes = slices.DeleteFunc(outcomes, func(o Outcome) bool { return o.Result != ResultMissing })
		outcomes = append(outcomes, done...)
	}
	return p.report(false, resolutionType, notes, outcomes), nil
}

// DryRun is the report of a resolve that writes nothing: each pending row as it is
// now, result "dry-run".
func (p *ResolvePlan) DryRun(resolutionType, notes string) ResolveReport {
	outcomes := slices.Clone(p.Outcomes)
	for _, e := range p.Events {
		if !e.Resolved() {
			outcomes = append(outcomes, Outcome{ID: e.ID, Result: ResultDryRun, Event: &e})
		}
	}
	return p.report(true, resolutionType, notes, outcomes)
}

// report orders the outcomes as the rows were asked for (ids) or listed (filter)
// and counts them.
func (p *ResolvePlan) report(dryRun bool, resolutionType, notes string, outcomes []Outcome) ResolveReport {
	order := map[int64]int{}
	for i, id := range p.asked {
		order[id] = i
	}
	for i, e := range p.Events {
		if _, ok := order[e.ID]; !ok {
			order[e.ID] = len(p.asked) + i
		}
	}
	slices.SortStableFunc(outcomes, func(a, b Outcome) int { return order[a.ID] - order[b.ID] })
	r := ResolveReport{DryRun: dryRun, Resolution: resolutionType, Notes: notes, Counts: map[string]int{}, Rows: outcomes}
	if r.Rows == nil {
		r.Rows = []Outcome{}
	}
	for _, o := range outcomes {
		r.Counts[o.Result]++
	}
	return r
}
