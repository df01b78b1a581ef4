package dlq

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The exporter's relay counters read the database incrementally: both queries
// below take where the last one stopped, so a scrape reads only what is new, and a
// restarted exporter that starts over from the beginning arrives at the same
// numbers (the rows are the API's durable record, not the exporter's memory).

// FailedBeforeChain counts the TX_FAIL rows with an id above after whose reason
// shows no mined transaction — relays that failed before the chain (at estimateGas,
// for want of funds, …); a relay mined and reverted is the chain's to count. It
// returns the count and the highest TX_FAIL id read (after when there is none).
func FailedBeforeChain(ctx context.Context, db *sql.DB, after int64) (n, last int64, err error) {
	last = after
	rows, err := db.QueryContext(ctx, `SELECT id, reason FROM dlq_events WHERE id > ? AND type = 'TX_FAIL' ORDER BY id`, after)
	if err != nil {
		return 0, after, fmt.Errorf("TX_FAIL rows after %d: %w", after, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var reason sql.NullString
		if err := rows.Scan(&id, &reason); err != nil {
			return 0, after, fmt.Errorf("TX_FAIL rows after %d: %w", after, err)
		}
		last = id
		if !ParseReason(reason.String).ReachedChain() {
			n++
		}
	}
	if err := rows.Err(); err != nil {
		return 0, after, fmt.Errorf("TX_FAIL rows after %d: %w", after, err)
	}
	return n, last, nil
}

// CompletionLatencies are the times from request to completion (created_at →
// updated_at) of the idempotency records that turned COMPLETED in (from, to].
func CompletionLatencies(ctx context.Context, db *sql.DB, from, to time.Time) ([]time.Duration, error) {
	rows, err := db.QueryContext(ctx, `SELECT updated_at - created_at FROM idempotency_keys
		WHERE status = ? AND updated_at > ? AND updated_at <= ?`, IdemCompleted, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("completed idempotency records: %w", err)
	}
	defer rows.Close()
	var out []time.Duration
	for rows.Next() {
		var ms sql.NullInt64
		if err := rows.Scan(&ms); err != nil {
			return nil, fmt.Errorf("completed idempotency records: %w", err)
		}
		out = append(out, time.Duration(max(ms.Int64, 0))*time.Millisecond)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("completed idempotency records: %w", err)
	}
	return out, nil
}
