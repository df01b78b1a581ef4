// Package dlq reads and resolves the VRWX API's dead-letter queue (the dlq_events
// table) safely while the API keeps writing to it: the numbers behind the runbook's
// "DLQ Depth" alert, listing and showing events, resolving one in a single immediate
// transaction, and rebuilding a failed completion from a TX_FAIL event for replay.
package dlq

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// MaxRetries is the API's retry limit; a row with retry_count >= MaxRetries is never
// retried automatically again.
const MaxRetries = 3

// RetryBase is the API's back-off base: the n-th retry waits RetryBase * 2^n.
const RetryBase = 60 * time.Second

// The runbook's "DLQ Depth" thresholds: warning above 10, critical above 50.
const (
	DefaultWarnDepth = 10
	DefaultCritDepth = 50
)

// Types are the DLQ event types the API writes.
var Types = append([]string(nil), apidb.DLQTypes...)

// Resolution types an operator may set. EXPIRED is left to the API's own expiry.
const (
	ResolutionManual  = "MANUAL"
	ResolutionSkipped = "SKIPPED"
	ResolutionRetried = "RETRIED"
)

// Summary is the DLQ's state at one moment (one read transaction).
type Summary struct {
	// Depth counts unresolved rows (resolved_at IS NULL): the runbook's "DLQ depth"
	// and the API's vrwx_dlq_unresolved.
	Depth int64 `json:"depth"`
	// UnresolvedByType has every known type, zero included, plus any unknown type
	// found in the table.
	UnresolvedByType map[string]int64 `json:"unresolved_by_type"`
	// PendingRetry is the API's pendingRetry (and its vrwx_dlq_pending_retry):
	// unresolved rows due for a retry now — next_retry_at <= now and retry_count < 3.
	PendingRetry int64 `json:"pending_retry"`
	// ScheduledRetry are unresolved rows with a retry still to come: next_retry_at
	// later than now, retry_count < 3. The API counts them nowhere.
	ScheduledRetry int64 `json:"scheduled_retry"`
	// ExceededRetries: unresolved with retry_count >= 3 (vrwx_dlq_exceeded_retries);
	// nothing retries these any more, a person has to.
	ExceededRetries int64 `json:"exceeded_retries"`
	// OldestUnresolvedID and OldestUnresolvedAge describe the oldest unresolved row
	// (0 and 0 when there is none).
	OldestUnresolvedID  int64         `json:"oldest_unresolved_id"`
	OldestUnresolvedAge time.Duration `json:"oldest_unresolved_age_ns"`
	Total               int64         `json:"total"`
}

// Stats reads the DLQ summary as of now.
func Stats(ctx context.Context, db *sql.DB, now time.Time) (Summary, error) {
	s := Summary{UnresolvedByType: map[string]int64{}}
	for _, t := range Types {
		s.UnresolvedByType[t] = 0
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return s, fmt.Errorf("dlq stats: %w", err)
	}
	defer tx.Rollback()
	var oldest sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT
			count(*) FILTER (WHERE resolved_at IS NULL),
			count(*) FILTER (WHERE resolved_at IS NULL AND next_retry_at <= ? AND retry_count < ?),
			count(*) FILTER (WHERE resolved_at IS NULL AND next_retry_at > ? AND retry_count < ?),
			count(*) FILTER (WHERE resolved_at IS NULL AND retry_count >= ?),
			min(created_at) FILTER (WHERE resolved_at IS NULL),
			count(*)
		FROM dlq_events`, now.UnixMilli(), MaxRetries, now.UnixMilli(), MaxRetries, MaxRetries).
		Scan(&s.Depth, &s.PendingRetry, &s.ScheduledRetry, &s.ExceededRetries, &oldest, &s.Total); err != nil {
		return s, fmt.Errorf("dlq stats: %w", err)
	}
	if oldest.Valid {
		if err := tx.QueryRowContext(ctx, `SELECT id FROM dlq_events WHERE resolved_at IS NULL AND created_at = ? ORDER BY id LIMIT 1`,
			oldest.Int64).Scan(&s.OldestUnresolvedID); err != nil {
			return s, fmt.Errorf("dlq stats: oldest unresolved row: %w", err)
		}
		s.OldestUnresolvedAge = max(now.Sub(time.UnixMilli(oldest.Int64)), 0)
	}
	rows, err := tx.QueryContext(ctx, `SELECT type, count(*) FROM dlq_events WHERE resolved_at IS NULL GROUP BY type`)
	if err != nil {
		return s, fmt.Errorf("dlq stats by type: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			return s, fmt.Errorf("dlq stats by type: %w", err)
		}
		s.UnresolvedByType[t] = n
	}
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("dlq stats by type: %w", err)
	}
	return s, nil
}

// Level is how a DLQ depth compares with the alert thresholds.
type Level int

const (
	LevelOK Level = iota
	LevelWarning
	LevelCritical
)

func (l Level) String() string {
	switch l {
	case LevelWarning:
		return "warning"
	case LevelCritical:
		return "critical"
	}
	return "ok"
}

// MarshalText makes a Level print as its name in JSON.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// DepthLevel rates depth against the thresholds the way the runbook's table does:
// above warn is a warning, above crit is critical (10 and 50 by default).
func DepthLevel(depth, warn, crit int64) Level {
	switch {
	case depth > crit:
		return LevelCritical
	case depth > warn:
		return LevelWarning
	}
	return LevelOK
}

// Event is one dlq_events row. Empty strings and nil times stand for NULL.
type Event struct {
	ID              int64      `json:"id"`
	Type            string     `json:"type"`
	Payload         string     `json:"payload"`
	Reason          string     `json:"reason"`
	ErrorCode       string     `json:"error_code,omitempty"`
	ErrorStack      string     `json:"error_stack,omitempty"`
	RetryCount      int        `json:"retry_count"`
	NextRetryAt     *time.Time `json:"next_retry_at,omitempty"`
	LastRetryAt     *time.Time `json:"last_retry_at,omitempty"`
	ResolvedAt      *time.Time `json:"resolved_at,omitempty"`
	ResolutionType  string     `json:"resolution_type,omitempty"`
	ResolutionNotes string     `json:"resolution_notes,omitempty"`
	ConnectorType   string     `json:"connector_type"`
	ServiceType     string     `json:"service_type,omitempty"`
	JobID           string     `json:"job_id,omitempty"`
	ManifestHash    string     `json:"manifest_hash,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
}

// Resolved reports whether the row has been resolved.
func (e Event) Resolved() bool { return e.ResolvedAt != nil }

// PrettyPayload returns the payload indented for reading, or as stored when it is
// not JSON.
func (e Event) PrettyPayload() string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(e.Payload), "", "  "); err != nil {
		return e.Payload
	}
	return b.String()
}

const eventColumns = `id, type, payload, reason, error_code, error_stack, retry_count, next_retry_at, last_retry_at,
	resolved_at, resolution_type, resolution_notes, connector_type, service_type, job_id, manifest_hash, created_at`

type scanner interface{ Scan(...any) error }

// scanEvent reads a row leniently: NULL where our schema says NOT NULL still scans,
// because the API's real schema may be less strict than our reconstruction of it.
func scanEvent(r scanner) (Event, error) {
	var e Event
	var typ, payload, reason, code, stack, resType, notes, connector, service, manifest sql.NullString
	var retries, next, last, resolved, created sql.NullInt64
	var jobAny any
	if err := r.Scan(&e.ID, &typ, &payload, &reason, &code, &stack, &retries, &next, &last, &resolved,
		&resType, &notes, &connector, &service, &jobAny, &manifest, &created); err != nil {
		return e, err
	}
	// job_id is text in the API's schema, but SQLite's dynamic typing lets an
	// integer in too; either way it is shown as the decimal the chain uses.
	switch v := jobAny.(type) {
	case nil:
	case string:
		e.JobID = v
	case []byte:
		e.JobID = string(v)
	default:
		e.JobID = fmt.Sprint(v)
	}
	e.Type, e.Payload, e.Reason = typ.String, payload.String, reason.String
	e.ErrorCode, e.ErrorStack, e.ResolutionType, e.ResolutionNotes = code.String, stack.String, resType.String, notes.String
	e.ConnectorType, e.ServiceType, e.ManifestHash = connector.String, service.String, manifest.String
	e.RetryCount = int(retries.Int64)
	e.NextRetryAt, e.LastRetryAt, e.ResolvedAt = millisPtr(next), millisPtr(last), millisPtr(resolved)
	e.CreatedAt = time.UnixMilli(created.Int64).UTC()
	return e, nil
}

func millisPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

// Filter selects events for List. Zero values select everything, oldest first,
// limited to 100.
type Filter struct {
	Type       string // one of Types, case-insensitive
	Unresolved bool
	JobID      string
	Limit      int
	// All lifts the limit: every matching row (bulk operations).
	All bool
}

// NormalizeType upper-cases t and checks it is a DLQ type.
func NormalizeType(t string) (string, error) {
	u := strings.ToUpper(strings.TrimSpace(t))
	for _, k := range Types {
		if k == u {
			return u, nil
		}
	}
	return "", errs.Usagef("DLQ type %s: expected one of %s", redact.Quote(t), strings.Join(Types, ", "))
}

// List returns the events matching f, oldest first.
func List(ctx context.Context, db *sql.DB, f Filter) ([]Event, error) {
	var where []string
	var args []any
	if f.Type != "" {
		t, err := NormalizeType(f.Type)
		if err != nil {
			return nil, err
		}
		where, args = append(where, "type = ?"), append(args, t)
	}
	if f.Unresolved {
		where = append(where, "resolved_at IS NULL")
	}
	if f.JobID != "" {
		where, args = append(where, "CAST(job_id AS TEXT) = ?"), append(args, f.JobID)
	}
	if f.Limit < 0 {
		return nil, errs.Usagef("limit %d: expected a positive number of rows", f.Limit)
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	q := `SELECT ` + eventColumns + ` FROM dlq_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id`
	if !f.All {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list DLQ events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("list DLQ events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list DLQ events: %w", err)
	}
	return out, nil
}

// Get returns the event with id, or an errs.Failed error when there is none.
func Get(ctx context.Context, db *sql.DB, id int64) (Event, error) {
	e, err := scanEvent(db.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM dlq_events WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, notFound(id)
	}
	if err != nil {
		return e, fmt.Errorf("read DLQ event %d: %w", id, err)
	}
	return e, nil
}

// GetMany returns the events with the given ids that exist, by id.
func GetMany(ctx context.Context, db *sql.DB, ids []int64) (map[int64]Event, error) {
	out := make(map[int64]Event, len(ids))
	for _, id := range ids {
		e, err := scanEvent(db.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM dlq_events WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read DLQ event %d: %w", id, err)
		}
		out[id] = e
	}
	return out, nil
}

// ErrNotFound is wrapped by the error for an id that no DLQ row has, so a caller can
// point at its own way of listing the events.
var ErrNotFound = errors.New("no such DLQ event")

type notFoundError struct{ id int64 }

func (e notFoundError) Error() string        { return fmt.Sprintf("DLQ event %d does not exist", e.id) }
func (e notFoundError) Is(target error) bool { return target == ErrNotFound }

func notFound(id int64) error {
	return &errs.Error{Kind: errs.Failed, Err: notFoundError{id}, Fix: "check the id against the list of unresolved events"}
}

// Resolve marks an unresolved event as resolved by an operator, in one BEGIN
// IMMEDIATE transaction: the write lock is taken before the row is read, so the API
// cannot resolve or retry the same row between our check and our update, and the
// busy timeout makes us wait for the API's own short transactions instead of failing.
// Resolving an already-resolved or missing row is an errs.Failed error.
func Resolve(ctx context.Context, db *sql.DB, id int64, resolutionType, notes string, now time.Time) (Event, error) {
	out, err := ResolveMany(ctx, db, []int64{id}, resolutionType, notes, now)
	if err != nil {
		return Event{}, err
	}
	switch o := out[0]; o.Result {
	case ResultMissing:
		return Event{}, notFound(id)
	case ResultAlreadyResolved:
		return *o.Event, errs.Failedf("DLQ event %d is already resolved (%s at %s)", id, o.Event.ResolutionType, o.Event.ResolvedAt.Format(time.RFC3339))
	}
	return *out[0].Event, nil
}

// Results of resolving one row.
const (
	ResultResolved        = "resolved"
	ResultAlreadyResolved = "already-resolved"
	ResultMissing         = "missing"
)

// Outcome is what resolving did to one row.
type Outcome struct {
	ID     int64  `json:"id"`
	Result string `json:"result"`
	// Event is the row after the resolve (or as it was, when already resolved);
	// nil when it does not exist.
	Event *Event `json:"event,omitempty"`
}

// ResolveMany resolves the unresolved rows among ids in ONE BEGIN IMMEDIATE
// transaction (all or nothing, a few milliseconds of the write lock), and says per
// row what happened: resolved, already resolved (by the API or a person in the
// meantime: left as it is), or missing.
func ResolveMany(ctx context.Context, db *sql.DB, ids []int64, resolutionType, notes string, now time.Time) ([]Outcome, error) {
	rt := strings.ToUpper(strings.TrimSpace(resolutionType))
	switch rt {
	case ResolutionManual, ResolutionSkipped, ResolutionRetried:
	default:
		return nil, errs.Usagef("resolution %s: expected MANUAL, SKIPPED or RETRIED", redact.Quote(resolutionType))
	}
	what := fmt.Sprintf("resolve %d DLQ event(s)", len(ids))
	if len(ids) == 1 {
		what = fmt.Sprintf("resolve DLQ event %d", ids[0])
	}
	at := now.UnixMilli()
	resolvedAt := time.UnixMilli(at).UTC()
	out := make([]Outcome, 0, len(ids))
	err := writeLocked(ctx, db, what, func(conn *sql.Conn) error {
		for _, id := range ids {
			e, err := scanEvent(conn.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM dlq_events WHERE id = ?`, id))
			switch {
			case errors.Is(err, sql.ErrNoRows):
				out = append(out, Outcome{ID: id, Result: ResultMissing})
				continue
			case err != nil:
				return fmt.Errorf("%s: read event %d: %w", what, id, err)
			case e.Resolved():
				out = append(out, Outcome{ID: id, Result: ResultAlreadyResolved, Event: &e})
				continue
			}
			if _, err := conn.ExecContext(ctx, `UPDATE dlq_events SET resolved_at = ?, resolution_type = ?, resolution_notes = ?
			WHERE id = ? AND resolved_at IS NULL`, at, rt, notes, id); err != nil {
				return fmt.Errorf("%s: event %d: %w", what, id, err)
			}
			e.ResolvedAt, e.ResolutionType, e.ResolutionNotes = &resolvedAt, rt, notes
			out = append(out, Outcome{ID: id, Result: ResultResolved, Event: &e})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// writeLocked runs fn in one BEGIN IMMEDIATE transaction on one connection with the
// API's busy timeout (the API's writes wait for it, and it waits for them), and
// commits when fn returns nil; anything else rolls back. what names the work in
// the errors of the transaction itself.
func writeLocked(ctx context.Context, db *sql.DB, what string, fn func(*sql.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, apidb.BusyTimeoutMillis)); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return fmt.Errorf("%s: take the write lock: %w", what, err)
	}
	committed := false
	defer func() {
		if !committed {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		}
	}()
	if err := fn(conn); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	committed = true
	return nil
}
