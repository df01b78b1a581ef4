package dlq

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Idempotency statuses (the API's idempotency_keys.status).
const (
	IdemPending   = "PENDING"
	IdemCompleted = "COMPLETED"
	IdemFailed    = "FAILED"
)

// IdempotencyKey is the API's idempotency key of a job's completion on a chain.
func IdempotencyKey(chainID uint64, jobID string) string {
	return fmt.Sprintf("base:%d:job:%s", chainID, jobID)
}

// Relayed is a completion that was mined: what the API's webhook answers on success
// and caches in the job's idempotency row.
type Relayed struct {
	ChainID      uint64
	JobID        string
	ManifestHash string
	QualityScore uint8
	WorkUnits    uint32
	TxHash       string
	BlockNumber  uint64
	GasUsed      uint64
}

// response is the API's success response to a completion webhook, as its
// idempotency row caches it (spec/VRWX.md: accepted, success, txHash, blockNumber,
// gasUsed, …). relayedBy says who relayed it: the API never writes that field.
type response struct {
	Accepted     bool   `json:"accepted"`
	Success      bool   `json:"success"`
	JobID        string `json:"jobId"`
	ManifestHash string `json:"manifestHash,omitempty"`
	QualityScore uint8  `json:"qualityScore"`
	WorkUnits    uint32 `json:"workUnits"`
	TxHash       string `json:"txHash"`
	BlockNumber  uint64 `json:"blockNumber"`
	GasUsed      string `json:"gasUsed"`
	ChainID      uint64 `json:"chainId"`
	RelayedBy    string `json:"relayedBy"`
}

// Idempotency is a job's idempotency row.
type Idempotency struct {
	Key          string          `json:"key"`
	Status       string          `json:"status"`
	ResponseJSON json.RawMessage `json:"response,omitempty"`
	ErrorCode    string          `json:"errorCode,omitempty"`
	ErrorMessage string          `json:"errorMessage,omitempty"`
	CreatedAt    time.Time       `json:"createdAt"`
	UpdatedAt    time.Time       `json:"updatedAt"`
}

// Replayed is what MarkReplayed left: the row and the job's idempotency record.
type Replayed struct {
	Event       Event        `json:"event"`
	Idempotency *Idempotency `json:"idempotency"`
	// IdempotencyBefore is the record's status before ("" when there was none).
	IdempotencyBefore string `json:"idempotencyBefore"`
}

// idempotencyTTL is how long a record the API did not write lives: the API's own
// rows expire a day after they were created.
const idempotencyTTL = 24 * time.Hour

// MarkReplayed records a replayed completion the way the API's own successful retry
// leaves its records, in one BEGIN IMMEDIATE transaction (the API's writes wait,
// and it waits for them, for the busy timeout):
//
//   - the DLQ row as markRetrying then markResolved leave it: retry_count + 1,
//     last_retry_at = now, next_retry_at = now + 60 s × 2^(retry_count before),
//     resolved RETRIED with notes;
//   - the job's idempotency row (base:{chainId}:job:{jobId}) COMPLETED with the
//     webhook's success response cached, its error cleared — so the status endpoint
//     answers COMPLETED and a client's next POST gets the cached response instead of
//     relaying again. A job without a row gets one.
//
// A row resolved in the meantime (by the API's own retry, or a person) is an error
// wrapping ErrAlreadyResolved, and nothing is written.
func MarkReplayed(ctx context.Context, db *sql.DB, id int64, r Relayed, notes string, now time.Time) (*Replayed, error) {
	what := fmt.Sprintf("mark DLQ event %d replayed", id)
	out := &Replayed{}
	err := writeLocked(ctx, db, what, func(conn *sql.Conn) error {
		e, err := scanEvent(conn.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM dlq_events WHERE id = ?`, id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return notFound(id)
		case err != nil:
			return fmt.Errorf("%s: %w", what, err)
		case e.Resolved():
			return &AlreadyResolvedError{Event: e}
		}
		at := now.UnixMilli()
		next := at + RetryBase.Milliseconds()<<min(e.RetryCount, 30)
		if _, err := conn.ExecContext(ctx, `UPDATE dlq_events SET retry_count = retry_count + 1, last_retry_at = ?, next_retry_at = ?,
		resolved_at = ?, resolution_type = ?, resolution_notes = ? WHERE id = ? AND resolved_at IS NULL`,
			at, next, at, ResolutionRetried, notes, id); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if out.Event, err = scanEvent(conn.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM dlq_events WHERE id = ?`, id)); err != nil {
			return fmt.Errorf("%s: read it back: %w", what, err)
		}

		key := IdempotencyKey(r.ChainID, r.JobID)
		body, err := json.Marshal(response{Accepted: true, Success: true, JobID: r.JobID, ManifestHash: r.ManifestHash, QualityScore: r.QualityScore,
			WorkUnits: r.WorkUnits, TxHash: r.TxHash, BlockNumber: r.BlockNumber, GasUsed: fmt.Sprint(r.GasUsed), ChainID: r.ChainID,
			RelayedBy: "vrwxctl dlq replay"})
		if err != nil {
			return err
		}
		var before sql.NullString
		switch err := conn.QueryRowContext(ctx, `SELECT status FROM idempotency_keys WHERE key = ?`, key).Scan(&before); {
		case errors.Is(err, sql.ErrNoRows):
			// The API keeps no row of this job any more (expired, or deleted by a
			// client's retry): one is added, without the request hash of a body vrwxctl
			// never saw.
			if _, err := conn.ExecContext(ctx, `INSERT INTO idempotency_keys(key, status, request_hash, manifest_hash, response_json,
			error_code, error_message, created_at, updated_at, ttl_expires_at) VALUES (?, ?, '', ?, ?, NULL, NULL, ?, ?, ?)`,
				key, IdemCompleted, r.ManifestHash, string(body), at, at, at+idempotencyTTL.Milliseconds()); err != nil {
				return fmt.Errorf("%s: add idempotency key %s: %w", what, key, err)
			}
		case err != nil:
			return fmt.Errorf("%s: idempotency key %s: %w", what, key, err)
		default:
			out.IdempotencyBefore = before.String
			if _, err := conn.ExecContext(ctx, `UPDATE idempotency_keys SET status = ?, response_json = ?, error_code = NULL, error_message = NULL,
			updated_at = ? WHERE key = ?`, IdemCompleted, string(body), at, key); err != nil {
				return fmt.Errorf("%s: idempotency key %s: %w", what, key, err)
			}
		}
		if out.Idempotency, err = readIdempotency(ctx, conn, key); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadIdempotency reads a job's idempotency record; nil when there is none.
func ReadIdempotency(ctx context.Context, db *sql.DB, chainID uint64, jobID string) (*Idempotency, error) {
	return readIdempotency(ctx, db, IdempotencyKey(chainID, jobID))
}

func readIdempotency(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, key string) (*Idempotency, error) {
	var status, resp, code, msg sql.NullString
	var created, updated sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT status, response_json, error_code, error_message, created_at, updated_at FROM idempotency_keys WHERE key = ?`, key).
		Scan(&status, &resp, &code, &msg, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read idempotency key %s: %w", key, err)
	}
	out := &Idempotency{Key: key, Status: status.String, ErrorCode: code.String, ErrorMessage: msg.String,
		CreatedAt: time.UnixMilli(created.Int64).UTC(), UpdatedAt: time.UnixMilli(updated.Int64).UTC()}
	if resp.Valid && json.Valid([]byte(resp.String)) {
		out.ResponseJSON = json.RawMessage(resp.String)
	}
	return out, nil
}

// ErrAlreadyResolved is wrapped by the error for a row that is resolved already.
var ErrAlreadyResolved = errors.New("DLQ event already resolved")

// AlreadyResolvedError is a row found resolved (by the API or a person) when it was
// to be marked.
type AlreadyResolvedError struct{ Event Event }

func (e *AlreadyResolvedError) Error() string {
	return fmt.Sprintf("DLQ event %d is already resolved (%s at %s)", e.Event.ID, e.Event.ResolutionType, e.Event.ResolvedAt.Format(time.RFC3339))
}

func (e *AlreadyResolvedError) Is(target error) bool { return target == ErrAlreadyResolved }
