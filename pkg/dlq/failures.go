package dlq

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// ReadOnly opens the API's database at path read-only for fn and closes it again,
// so a reader never holds the file between reads (a restore is never blocked). A
// missing file is said plainly.
func ReadOnly(ctx context.Context, path string, fn func(*sql.DB) error) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("database %s does not exist", redact.Mask(path))
	}
	db, err := apidb.OpenReadOnly(path)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := fn(db); err != nil {
		return fmt.Errorf("database %s: %w", path, err)
	}
	return nil
}

// Unrecognised is the cause of a reason vrwxctl cannot read.
const Unrecognised = "unrecognised reason"

// CauseGroup is the TX_FAIL rows of one decoded cause.
type CauseGroup struct {
	// Cause is the reason's Cause(), or Unrecognised.
	Cause      string    `json:"cause"`
	Rows       int       `json:"rows"`
	Unresolved int       `json:"unresolved"`
	Newest     time.Time `json:"newest"`
	NewestID   int64     `json:"newestId"`
	// IDs and Jobs are the newest rows' ids and their distinct job ids (at most five
	// each).
	IDs  []int64  `json:"ids"`
	Jobs []string `json:"jobs,omitempty"`
	// Example is the newest row's reason, decoded, and ExampleRobot the robot id its
	// payload names.
	Example      *Reason `json:"example"`
	ExampleRobot string  `json:"exampleRobot,omitempty"`
}

// Failures are the recent TX_FAIL rows grouped by what their reasons say.
type Failures struct {
	Since time.Time `json:"since"`
	Rows  int       `json:"rows"`
	// Groups are ordered by rows, then by the newest row, most first.
	Groups []CauseGroup `json:"groups"`
	// Truncated is true when more rows than the limit were recent: the newest are
	// counted.
	Truncated bool `json:"truncated,omitempty"`
}

// Group returns the group of cause, or nil.
func (f *Failures) Group(cause string) *CauseGroup {
	for i := range f.Groups {
		if f.Groups[i].Cause == cause {
			return &f.Groups[i]
		}
	}
	return nil
}

// outOfOrder is how far a row's created_at may trail a newer row's: the API writes
// created_at from its own clock as it inserts, so ids and times run together, up to
// the moments between reading the clock and committing.
const outOfOrder = time.Minute

// RecentFailures reads the TX_FAIL rows created since since, newest first and at
// most limit of them, and groups them by decoded cause. It walks the table from its
// newest id back and stops once rows are older than since (ids follow created_at),
// so it reads the recent rows only, whatever the table's size.
func RecentFailures(ctx context.Context, db *sql.DB, since time.Time, limit int) (*Failures, error) {
	out := &Failures{Since: since, Groups: []CauseGroup{}}
	rows, err := db.QueryContext(ctx, `SELECT id, type, reason, resolved_at, job_id, created_at,
		CASE WHEN json_valid(payload) THEN json_extract(payload, '$.robotId') END FROM dlq_events ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("recent TX_FAIL rows: %w", err)
	}
	defer rows.Close()
	byCause := map[string]*CauseGroup{}
	cutoff, stop := since.UnixMilli(), since.Add(-outOfOrder).UnixMilli()
	for rows.Next() {
		var id int64
		var typ, reason, job, robot sql.NullString
		var resolved, created sql.NullInt64
		var jobAny any
		if err := rows.Scan(&id, &typ, &reason, &resolved, &jobAny, &created, &robot); err != nil {
			return nil, fmt.Errorf("recent TX_FAIL rows: %w", err)
		}
		if created.Int64 < stop {
			break
		}
		if typ.String != "TX_FAIL" || created.Int64 < cutoff {
			continue
		}
		if out.Rows == limit {
			out.Truncated = true
			break
		}
		out.Rows++
		if jobAny != nil {
			job = sql.NullString{String: fmt.Sprint(jobAny), Valid: true}
			if b, ok := jobAny.([]byte); ok {
				job.String = string(b)
			}
		}
		r := ParseReason(reason.String)
		cause := r.Cause()
		if cause == "" {
			cause = Unrecognised
		}
		at := time.UnixMilli(created.Int64).UTC()
		g := byCause[cause]
		if g == nil {
			g = &CauseGroup{Cause: cause}
			byCause[cause] = g
		}
		if g.Example == nil || at.After(g.Newest) {
			g.Newest, g.NewestID, g.Example, g.ExampleRobot = at, id, r, robot.String
		}
		g.Rows++
		if !resolved.Valid {
			g.Unresolved++
		}
		if len(g.IDs) < 5 {
			g.IDs = append(g.IDs, id)
		}
		if job.Valid && len(g.Jobs) < 5 && !slices.Contains(g.Jobs, job.String) {
			g.Jobs = append(g.Jobs, job.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recent TX_FAIL rows: %w", err)
	}
	for _, g := range byCause {
		out.Groups = append(out.Groups, *g)
	}
	sort.Slice(out.Groups, func(i, j int) bool {
		a, b := out.Groups[i], out.Groups[j]
		if a.Rows != b.Rows {
			return a.Rows > b.Rows
		}
		return a.Newest.After(b.Newest)
	})
	return out, nil
}
