package apidb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// StuckAfter is how long the API lets a PENDING idempotency key stand: a request
// for the same job within it answers 202 "in progress"; after it, the key is marked
// FAILED (STUCK_TIMEOUT) and the request is processed — relayed — again.
const StuckAfter = 2 * time.Minute

// PendingKey is an idempotency_keys row in PENDING: a relay the API had begun and
// not finished when the database was copied.
type PendingKey struct {
	Key       string    `json:"key"`
	JobID     string    `json:"jobId"` // from the key (base:{chainId}:job:{jobId}); "" when the key has another shape
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Stuck reports whether the API, at now, takes the key for a relay that died: it
// marks it FAILED (STUCK_TIMEOUT) on the next request for the job and relays again.
func (p PendingKey) Stuck(now time.Time) bool { return now.Sub(p.CreatedAt) >= StuckAfter }

// WhatTheAPIDoes says, in the API's terms, what a request for the key's job meets
// at now.
func (p PendingKey) WhatTheAPIDoes(now time.Time) string {
	if p.Stuck(now) {
		return "the next request for this job marks it FAILED (STUCK_TIMEOUT) and relays it again"
	}
	left := (StuckAfter - now.Sub(p.CreatedAt)).Round(time.Second)
	return fmt.Sprintf("a request for this job answers 202 \"in progress\" for %s more, then the key counts as stuck and the job is relayed again", left)
}

// PendingIdempotency returns the PENDING idempotency keys in db, oldest first (none
// when the table is missing).
func PendingIdempotency(ctx context.Context, db Querier) ([]PendingKey, error) {
	missing, _, err := CheckSchema(ctx, db)
	if err != nil {
		return nil, err
	}
	for _, t := range missing {
		if t == "idempotency_keys" {
			return nil, nil
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT key, created_at, updated_at FROM idempotency_keys WHERE status = 'PENDING' ORDER BY created_at, key`)
	if err != nil {
		return nil, fmt.Errorf("read PENDING idempotency keys: %w", err)
	}
	defer rows.Close()
	var out []PendingKey
	for rows.Next() {
		var p PendingKey
		var created, updated int64
		if err := rows.Scan(&p.Key, &created, &updated); err != nil {
			return nil, fmt.Errorf("read PENDING idempotency keys: %w", err)
		}
		p.CreatedAt, p.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		if i := strings.LastIndex(p.Key, ":job:"); i >= 0 {
			p.JobID = p.Key[i+len(":job:"):]
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// NewestRows returns, for each of the API's tables that has rows and a created_at
// column, the newest row's created_at: what the last writes were, as a restore
// drill reports them.
func NewestRows(ctx context.Context, db Querier) (map[string]time.Time, error) {
	missing, _, err := CheckSchema(ctx, db)
	if err != nil {
		return nil, err
	}
	skip := map[string]bool{"_migrations": true}
	for _, t := range missing {
		skip[t] = true
	}
	out := map[string]time.Time{}
	for _, t := range tables {
		if skip[t] {
			continue
		}
		var ms sql.NullInt64
		// The table name comes from our own fixed list, never from input.
		if err := db.QueryRowContext(ctx, `SELECT max(created_at) FROM "`+t+`"`).Scan(&ms); err != nil {
			return nil, fmt.Errorf("newest row of %s: %w", t, err)
		}
		if ms.Valid {
			out[t] = time.UnixMilli(ms.Int64).UTC()
		}
	}
	return out, nil
}
