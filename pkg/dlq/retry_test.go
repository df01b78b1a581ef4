package dlq_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/dlq"
)

// MarkReplayed writes what the API's markRetrying and markResolved write, and the
// idempotency record its success writes, in one transaction while the API keeps
// writing; sqlite3 reads the result back.
func TestMarkReplayedWhileTheAPIWrites(t *testing.T) {
	t.Parallel()
	f, db := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := apiWriting(ctx, t, f.Path)
	id := f.TxFailIDs[1] // job 78, retried twice already
	now := time.Date(2026, 11, 27, 3, 30, 0, 0, time.UTC)
	rel := dlq.Relayed{ChainID: 8453, JobID: "78", ManifestHash: "0x" + fmt.Sprintf("%064x", 0xc3), QualityScore: 91, WorkUnits: 4,
		TxHash: "0x" + fmt.Sprintf("%064x", 0xabc), BlockNumber: 1234, GasUsed: 98765}
	got, err := dlq.MarkReplayed(ctx, db, id, rel, "replayed by vrwxctl: tx "+rel.TxHash, now)
	if err != nil {
		t.Fatalf("MarkReplayed while the API writes: %v", err)
	}
	ms := now.UnixMilli()
	if row, want := oracle(t, f.Path, fmt.Sprintf("SELECT retry_count, last_retry_at, next_retry_at, resolved_at, resolution_type FROM dlq_events WHERE id = %d", id)),
		fmt.Sprintf("3|%d|%d|%d|RETRIED", ms, ms+60_000*4, ms); row != want {
		t.Errorf("row = %s, want %s", row, want)
	}
	// Job 78 had no idempotency record: it gets one, as the API's success leaves it.
	status := oracle(t, f.Path, `SELECT status FROM idempotency_keys WHERE key = 'base:8453:job:78'`)
	var resp map[string]any
	if err := json.Unmarshal([]byte(oracle(t, f.Path, `SELECT response_json FROM idempotency_keys WHERE key = 'base:8453:job:78'`)), &resp); err != nil {
		t.Fatal(err)
	}
	if status != "COMPLETED" || resp["txHash"] != rel.TxHash || resp["blockNumber"] != 1234.0 || resp["gasUsed"] != "98765" || resp["accepted"] != true ||
		got.IdempotencyBefore != "" || got.Idempotency.Status != "COMPLETED" || got.Event.RetryCount != 3 {
		t.Errorf("idempotency %s %v; returned %+v", status, resp, got)
	}
	_, err = dlq.MarkReplayed(ctx, db, id, rel, "again", now)
	if !errors.Is(err, dlq.ErrAlreadyResolved) {
		t.Errorf("a second mark: %v", err)
	}
	if _, _, err := w.Stop(); err != nil {
		t.Fatal(err)
	}
}
