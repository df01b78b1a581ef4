package dlq_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/dlq"
)

// A bulk resolve by ids: the plan says what is missing, what is already resolved
// and how many rows are pending before anything is written; a dry run writes
// nothing; the resolve writes every pending row in one transaction, and a row
// resolved by someone else since the plan is reported as it is, not overwritten.
// Outcomes come in the order the ids were given.
func TestPlanResolveByIDs(t *testing.T) {
	f, db := setup(t)
	ctx := context.Background()
	pending, err := dlq.List(ctx, db, dlq.Filter{Type: "UPLOAD_FAIL", Unresolved: true, Limit: 3})
	if err != nil || len(pending) != 3 {
		t.Fatalf("fixture: %d unresolved UPLOAD_FAIL rows, %v", len(pending), err)
	}
	done := oracleInt(t, f.Path, `SELECT min(id) FROM dlq_events WHERE resolved_at IS NOT NULL`)
	ids := []int64{pending[2].ID, 99999, done, pending[0].ID, pending[1].ID}

	plan, err := dlq.PlanResolve(ctx, db, ids, dlq.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Pending != 3 || len(plan.Events) != 4 || len(plan.Outcomes) != 2 {
		t.Fatalf("plan: %d pending, %d events, outcomes %+v", plan.Pending, len(plan.Events), plan.Outcomes)
	}
	dry := plan.DryRun(dlq.ResolutionSkipped, "dup")
	if want := []string{"dry-run", "missing", "already-resolved", "dry-run", "dry-run"}; fmt.Sprint(results(dry.Rows)) != fmt.Sprint(want) || !dry.DryRun || dry.Failed() != 2 {
		t.Fatalf("dry run: %v, want %v (%+v)", results(dry.Rows), want, dry)
	}
	if n := oracleInt(t, f.Path, `SELECT count(*) FROM dlq_events WHERE resolution_notes = 'dup'`); n != 0 {
		t.Fatalf("a dry run wrote %d rows", n)
	}

	// The API (or another operator) resolves one of them after the plan was read.
	if _, err := dlq.Resolve(ctx, db, pending[0].ID, dlq.ResolutionManual, "by hand", time.Now()); err != nil {
		t.Fatal(err)
	}
	rep, err := plan.Resolve(ctx, db, dlq.ResolutionSkipped, "dup", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"resolved", "missing", "already-resolved", "already-resolved", "resolved"}; fmt.Sprint(results(rep.Rows)) != fmt.Sprint(want) {
		t.Fatalf("resolve: %v, want %v", results(rep.Rows), want)
	}
	if rep.DryRun || rep.Resolution != "SKIPPED" || rep.Counts["resolved"] != 2 || rep.Counts["already-resolved"] != 2 || rep.Failed() != 3 || rep.Rows[1].Event != nil {
		t.Fatalf("report: %+v", rep)
	}
	got := oracle(t, f.Path, fmt.Sprintf(`SELECT group_concat(id || ':' || resolution_type || ':' || resolution_notes, ',') FROM (SELECT * FROM dlq_events WHERE id IN (%d, %d, %d) ORDER BY id)`,
		pending[0].ID, pending[1].ID, pending[2].ID))
	want := fmt.Sprintf("%d:MANUAL:by hand,%d:SKIPPED:dup,%d:SKIPPED:dup", pending[0].ID, pending[1].ID, pending[2].ID)
	if got != want {
		t.Fatalf("rows on disk: %s, want %s", got, want)
	}
}

// A bulk resolve by filter resolves every matching row, in id order; with nothing
// pending it writes nothing and reports no rows (an empty list, not null).
func TestPlanResolveByFilter(t *testing.T) {
	f, db := setup(t)
	ctx := context.Background()
	filter := dlq.Filter{Type: "HASH_MISMATCH", Unresolved: true, All: true}
	n := oracleInt(t, f.Path, `SELECT count(*) FROM dlq_events WHERE type = 'HASH_MISMATCH' AND resolved_at IS NULL`)
	plan, err := dlq.PlanResolve(ctx, db, nil, filter)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := plan.Resolve(ctx, db, dlq.ResolutionManual, "INC-5", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if int64(plan.Pending) != n || int64(rep.Counts["resolved"]) != n || rep.Failed() != 0 || n < 2 || rep.Rows[0].ID > rep.Rows[1].ID {
		t.Fatalf("%d rows matched; report %+v", n, rep)
	}
	if left := oracleInt(t, f.Path, `SELECT count(*) FROM dlq_events WHERE type = 'HASH_MISMATCH' AND resolved_at IS NULL`); left != 0 {
		t.Fatalf("%d rows left unresolved", left)
	}
	plan, err = dlq.PlanResolve(ctx, db, nil, filter)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err = plan.Resolve(ctx, db, dlq.ResolutionManual, "again", time.Now()); err != nil || plan.Pending != 0 || rep.Rows == nil || len(rep.Rows) != 0 {
		t.Fatalf("nothing left: %+v %v", rep, err)
	}
}

func results(rows []dlq.Outcome) []string {
	var out []string
	for _, o := range rows {
		out = append(out, o.Result)
	}
	return out
}
