package apidbtest

import (
	"context"
	"fmt"

	"github.com/vrwx/vrwxctl/pkg/apidb"
)

// growStatements copy resolved history within the database, each copy under new job
// ids (the old id plus ?1), at most ?2 rows per table and round. The DLQ's unresolved
// rows are never copied, so its depth stays what the fixture made it.
var growStatements = []string{
	`INSERT INTO dlq_events(type, payload, reason, error_code, error_stack, retry_count, next_retry_at, last_retry_at,
		resolved_at, resolution_type, resolution_notes, connector_type, service_type, job_id, manifest_hash, created_at)
	SELECT type, payload, reason, error_code, error_stack, retry_count, next_retry_at, last_retry_at,
		resolved_at, resolution_type, resolution_notes, connector_type, service_type,
		CAST(CAST(job_id AS INTEGER) + ?1 AS TEXT), manifest_hash, created_at
	FROM dlq_events WHERE resolved_at IS NOT NULL ORDER BY id LIMIT ?2`,
	`INSERT INTO job_completions(tenant_id, robot_id, job_id, service_type, manifest_hash, tx_hash, status, hash_match,
		payload_json, created_at, updated_at)
	SELECT tenant_id, robot_id, CAST(CAST(job_id AS INTEGER) + ?1 AS TEXT), service_type, manifest_hash, tx_hash, status,
		hash_match, payload_json, created_at, updated_at
	FROM job_completions ORDER BY id LIMIT ?2`,
	`INSERT INTO idempotency_keys(key, status, request_hash, manifest_hash, response_json, error_code, error_message,
		created_at, updated_at, ttl_expires_at)
	SELECT substr(key, 1, instr(key, ':job:') + 4) || CAST(CAST(substr(key, instr(key, ':job:') + 5) AS INTEGER) + ?1 AS TEXT),
		status, request_hash, manifest_hash, response_json, error_code, error_message, created_at, updated_at, ttl_expires_at
	FROM idempotency_keys ORDER BY rowid LIMIT ?2`,
}

// Grow makes the fixture database at path (from BuildFixture) at least targetBytes
// large, fast: it copies the resolved history already in the file with
// INSERT … SELECT under new job ids, doubling at most per round, in rollback-journal
// mode without syncs, and returns the file to WAL mode as the API keeps it. A 1 GB
// database takes seconds this way instead of a minute of row-by-row inserts.
func Grow(ctx context.Context, path string, targetBytes int64) (int64, error) {
	db, err := apidb.Open(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, p := range []string{`PRAGMA journal_mode = DELETE`, `PRAGMA synchronous = OFF`} {
		if _, err := db.ExecContext(ctx, p); err != nil {
			return 0, fmt.Errorf("grow %s: %s: %w", path, p, err)
		}
	}
	size := func() (int64, error) {
		var pages, pageSize int64
		if err := db.QueryRowContext(ctx, `SELECT page_count, page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&pages, &pageSize); err != nil {
			return 0, fmt.Errorf("grow %s: size: %w", path, err)
		}
		return pages * pageSize, nil
	}
	have, err := size()
	if err != nil {
		return 0, err
	}
	for have < targetBytes {
		var rows, maxJob int64
		if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM job_completions), coalesce(max(m), 0) FROM (
			SELECT max(CAST(job_id AS INTEGER)) AS m FROM job_completions
			UNION ALL SELECT max(CAST(job_id AS INTEGER)) FROM dlq_events
			UNION ALL SELECT max(CAST(substr(key, instr(key, ':job:') + 5) AS INTEGER)) FROM idempotency_keys)`).Scan(&rows, &maxJob); err != nil {
			return 0, fmt.Errorf("grow %s: %w", path, err)
		}
		if rows == 0 {
			return have, fmt.Errorf("grow %s: no history to copy", path)
		}
		// Rows per table this round: what the remaining bytes need at the current
		// bytes per row, plus a tenth so the last round does not fall just short.
		n := min(rows, (targetBytes-have)*rows/have*11/10+1)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		for _, stmt := range growStatements {
			if _, err := tx.ExecContext(ctx, stmt, maxJob+1, n); err != nil {
				tx.Rollback()
				return 0, fmt.Errorf("grow %s: %w", path, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, fmt.Errorf("grow %s: commit: %w", path, err)
		}
		if have, err = size(); err != nil {
			return 0, err
		}
	}
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode); err != nil || mode != "wal" {
		return 0, fmt.Errorf("grow %s: back to WAL mode: %q %v", path, mode, err)
	}
	return have, nil
}
