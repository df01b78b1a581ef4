package dlq_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

func TestMain(m *testing.M) {
	code := m.Run()
	apidbtest.Cleanup()
	os.Exit(code)
}

var (
	pinnedQuality = uint64(88)
	pinnedUnits   = uint64(12)
	pinned        = []apidbtest.TxFailRow{
		{JobID: "77", ManifestHash: "0x" + strings.Repeat("a1", 32), ControllerSig: "0x" + strings.Repeat("b2", 65),
			QualityScore: &pinnedQuality, WorkUnits: &pinnedUnits},
		{JobID: "78", ManifestHash: "0x" + strings.Repeat("c3", 32), ControllerSig: "0x" + strings.Repeat("d4", 65), RetryCount: 2},
	}
)

func setup(t *testing.T) (*apidbtest.Fixture, *sql.DB) {
	t.Helper()
	f, err := apidbtest.BuildFixture(context.Background(), filepath.Join(t.TempDir(), "vrwx.db"), apidbtest.FixtureOptions{TxFails: pinned})
	if err != nil {
		t.Fatal(err)
	}
	db, err := apidb.Open(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return f, db
}

func oracle(t *testing.T, db, q string) string {
	t.Helper()
	p, err := exec.LookPath("sqlite3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("sqlite3 CLI is required in CI as the test oracle: %v", err)
		}
		t.Skip("sqlite3 CLI not installed; it is the oracle for this test")
	}
	out, err := exec.Command(p, db, q).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %q: %v\n%s", q, err, out)
	}
	return strings.TrimSpace(string(out))
}

func oracleInt(t *testing.T, db, q string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(oracle(t, db, q), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// apiWriting starts the API's writer on the database at path (200 transactions a
// second) and returns once it has committed 50.
func apiWriting(ctx context.Context, t *testing.T, path string) *apidbtest.Writer {
	t.Helper()
	w, err := apidbtest.StartWriter(ctx, path, 200, 4_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WaitCommits(ctx, 50); err != nil {
		t.Fatal(err)
	}
	return w
}

func wantKind(t *testing.T, err error, kind errs.Kind, contains string) {
	t.Helper()
	if err == nil || errs.KindOf(err) != kind || !strings.Contains(err.Error(), contains) {
		t.Fatalf("error = %v (kind %d), want kind %d mentioning %q", err, errs.KindOf(err), kind, contains)
	}
}

func TestStatsAndResolveWhileTheAPIWrites(t *testing.T) {
	t.Parallel()
	f, db := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := apiWriting(ctx, t, f.Path)

	// Stats while the writer runs: each read is one consistent snapshot.
	var last dlq.Summary
	for i := 0; i < 20; i++ {
		s, err := dlq.Stats(ctx, db, time.Now())
		if err != nil {
			t.Fatalf("Stats while the API writes: %v", err)
		}
		var sum int64
		for _, n := range s.UnresolvedByType {
			sum += n
		}
		if sum != s.Depth || s.PendingRetry+s.ExceededRetries > s.Depth || s.Depth < last.Depth {
			t.Fatalf("inconsistent snapshot: %+v (previous depth %d)", s, last.Depth)
		}
		last = s
		time.Sleep(10 * time.Millisecond)
	}

	// Resolve fixture rows while the writer commits around us.
	open, err := dlq.List(ctx, db, dlq.Filter{Unresolved: true, Type: "hash_mismatch", Limit: 6})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 6 {
		t.Fatalf("listed %d unresolved HASH_MISMATCH rows, want 6", len(open))
	}
	now := time.Date(2026, 11, 27, 3, 30, 0, 0, time.UTC)
	for i, e := range open {
		as := []string{"MANUAL", "skipped", "RETRIED"}[i%3]
		got, err := dlq.Resolve(ctx, db, e.ID, as, fmt.Sprintf("checked by on-call, case %d", i), now)
		if err != nil {
			t.Fatalf("Resolve(%d) while the API writes: %v", e.ID, err)
		}
		if !got.Resolved() || got.ResolutionType != strings.ToUpper(as) {
			t.Errorf("Resolve returned %+v", got)
		}
	}
	_, err = dlq.Resolve(ctx, db, open[0].ID, "MANUAL", "again", now)
	wantKind(t, err, errs.Failed, "already resolved (MANUAL")

	if err := w.WaitCommits(ctx, len(w.Commits())+50); err != nil {
		t.Fatal(err)
	}
	commits, werrs, err := w.Stop()
	if err != nil || len(werrs) > 0 {
		t.Fatalf("the writer failed while we resolved: %v %v", err, werrs)
	}

	// The oracle agrees with what Resolve wrote.
	for i, e := range open {
		row := oracle(t, f.Path, fmt.Sprintf("SELECT resolved_at, resolution_type, resolution_notes FROM dlq_events WHERE id = %d", e.ID))
		want := fmt.Sprintf("%d|%s|checked by on-call, case %d", now.UnixMilli(), []string{"MANUAL", "SKIPPED", "RETRIED"}[i%3], i)
		if row != want {
			t.Errorf("row %d = %s, want %s", e.ID, row, want)
		}
	}

	// With the writer stopped, Stats equals the oracle's independent queries.
	at := time.Now()
	s, err := dlq.Stats(ctx, db, at)
	if err != nil {
		t.Fatal(err)
	}
	ms := at.UnixMilli()
	checks := map[string][2]int64{
		"depth": {s.Depth, oracleInt(t, f.Path, "SELECT count(*) FROM dlq_events WHERE resolved_at IS NULL")},
		// The API's own stats SQL (spec/VRWX.md): pendingRetry is what is due now.
		"pending retry":    {s.PendingRetry, oracleInt(t, f.Path, fmt.Sprintf("SELECT count(*) FROM dlq_events WHERE resolved_at IS NULL AND next_retry_at <= %d AND retry_count < 3", ms))},
		"scheduled retry":  {s.ScheduledRetry, oracleInt(t, f.Path, fmt.Sprintf("SELECT count(*) FROM dlq_events WHERE resolved_at IS NULL AND next_retry_at > %d AND retry_count < 3", ms))},
		"exceeded retries": {s.ExceededRetries, oracleInt(t, f.Path, "SELECT count(*) FROM dlq_events WHERE resolved_at IS NULL AND retry_count >= 3")},
		"total":            {s.Total, oracleInt(t, f.Path, "SELECT count(*) FROM dlq_events")},
		"oldest id":        {s.OldestUnresolvedID, oracleInt(t, f.Path, "SELECT id FROM dlq_events WHERE resolved_at IS NULL ORDER BY created_at, id LIMIT 1")},
		"oldest age ms":    {s.OldestUnresolvedAge.Milliseconds(), ms - oracleInt(t, f.Path, "SELECT min(created_at) FROM dlq_events WHERE resolved_at IS NULL")},
	}
	for _, typ := range dlq.Types {
		checks["unresolved "+typ] = [2]int64{s.UnresolvedByType[typ], oracleInt(t, f.Path, "SELECT count(*) FROM dlq_events WHERE resolved_at IS NULL AND type = '"+typ+"'")}
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("Stats %s = %d, sqlite3 says %d", name, c[0], c[1])
		}
	}
	// The fixture's rows are long due, the writer's are scheduled a minute after they
	// were written: both sides of the API's pendingRetry are exercised.
	if s.PendingRetry == 0 || s.ScheduledRetry == 0 {
		t.Errorf("pending %d, scheduled %d: the test needs both", s.PendingRetry, s.ScheduledRetry)
	}
	// The writer's rows are unresolved TX_FAILs, so they show in the depth.
	if s.UnresolvedByType["TX_FAIL"] < int64(len(commits)) || s.Depth <= dlq.DefaultCritDepth {
		t.Errorf("depth %d / TX_FAIL %d after %d writer commits", s.Depth, s.UnresolvedByType["TX_FAIL"], len(commits))
	}
	if got := dlq.DepthLevel(s.Depth, dlq.DefaultWarnDepth, dlq.DefaultCritDepth); got != dlq.LevelCritical {
		t.Errorf("level = %s", got)
	}
}

func TestResolveRejectsBadInput(t *testing.T) {
	t.Parallel()
	_, db := setup(t)
	ctx := context.Background()
	now := time.Now()
	_, err := dlq.Resolve(ctx, db, 999_999, "MANUAL", "", now)
	wantKind(t, err, errs.Failed, "DLQ event 999999 does not exist")
	if !errors.Is(err, dlq.ErrNotFound) || strings.Contains(errs.FixOf(err), "vrwxctl") {
		t.Errorf("%v (fix %q) should wrap ErrNotFound and name no command", err, errs.FixOf(err))
	}
	_, err = dlq.Resolve(ctx, db, 1, "EXPIRED", "", now)
	wantKind(t, err, errs.Usage, "expected MANUAL, SKIPPED or RETRIED")
	_, err = dlq.Resolve(ctx, db, 1, "", "", now)
	wantKind(t, err, errs.Usage, "resolution")
	_, err = dlq.Get(ctx, db, 999_999)
	wantKind(t, err, errs.Failed, "does not exist")
	_, err = dlq.List(ctx, db, dlq.Filter{Type: "TX_FAILED"})
	wantKind(t, err, errs.Usage, "TX_FAIL, DISPUTE_FAIL")
}

func TestDepthLevelFollowsTheRunbook(t *testing.T) {
	t.Parallel()
	for depth, want := range map[int64]dlq.Level{0: dlq.LevelOK, 10: dlq.LevelOK, 11: dlq.LevelWarning, 50: dlq.LevelWarning, 51: dlq.LevelCritical} {
		if got := dlq.DepthLevel(depth, dlq.DefaultWarnDepth, dlq.DefaultCritDepth); got != want {
			t.Errorf("DepthLevel(%d) = %s, want %s", depth, got, want)
		}
	}
}

func TestListFiltersAndGet(t *testing.T) {
	t.Parallel()
	f, db := setup(t)
	ctx := context.Background()
	all, err := dlq.List(ctx, db, dlq.Filter{Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(all)) != f.Counts["dlq_events"] {
		t.Errorf("List returned %d of %d rows", len(all), f.Counts["dlq_events"])
	}
	tx, err := dlq.List(ctx, db, dlq.Filter{Type: "TX_FAIL", Unresolved: true, Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	want := oracleInt(t, f.Path, "SELECT count(*) FROM dlq_events WHERE type='TX_FAIL' AND resolved_at IS NULL")
	if int64(len(tx)) != want {
		t.Errorf("TX_FAIL unresolved: %d, sqlite3 says %d", len(tx), want)
	}
	for _, e := range tx {
		if e.Type != "TX_FAIL" || e.Resolved() {
			t.Errorf("filter let through %+v", e)
		}
	}
	byJob, err := dlq.List(ctx, db, dlq.Filter{JobID: "77"})
	if err != nil || len(byJob) != 1 || byJob[0].ID != f.TxFailIDs[0] {
		t.Fatalf("List(job 77) = %+v, %v", byJob, err)
	}
	if limited, _ := dlq.List(ctx, db, dlq.Filter{Limit: 3}); len(limited) != 3 || limited[0].ID != all[0].ID {
		t.Errorf("limit 3 = %+v", limited)
	}
	e, err := dlq.Get(ctx, db, f.TxFailIDs[1])
	if err != nil {
		t.Fatal(err)
	}
	if e.JobID != "78" || e.ErrorCode != "RELAY_TX_FAILED" || e.RetryCount != 2 || e.NextRetryAt == nil || e.LastRetryAt == nil ||
		e.ConnectorType != "webhook" || !strings.Contains(e.PrettyPayload(), "\n  \"controllerSig\": \"0x"+strings.Repeat("d4", 65)) {
		t.Errorf("Get = %+v\n%s", e, e.PrettyPayload())
	}
}

func TestTxFailCompletionRebuildsWhatTheRelayerSent(t *testing.T) {
	t.Parallel()
	f, db := setup(t)
	ctx := context.Background()
	e, err := dlq.Get(ctx, db, f.TxFailIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	c, err := dlq.TxFailCompletion(e)
	if err != nil {
		t.Fatal(err)
	}
	if c.JobID != "77" || c.ManifestHash != pinned[0].ManifestHash || c.ControllerSig != pinned[0].ControllerSig ||
		c.QualityScore == nil || *c.QualityScore != 88 || c.WorkUnits == nil || *c.WorkUnits != 12 || c.EventID != e.ID || len(c.RobotID) != 66 {
		t.Errorf("completion = %+v", c)
	}
	e2, _ := dlq.Get(ctx, db, f.TxFailIDs[1])
	c2, err := dlq.TxFailCompletion(e2)
	if err != nil {
		t.Fatal(err)
	}
	if c2.QualityScore != nil || c2.WorkUnits != nil || c2.JobID != "78" {
		t.Errorf("completion without quality/units = %+v", c2)
	}

	other, err := dlq.List(ctx, db, dlq.Filter{Type: "UPLOAD_FAIL", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = dlq.TxFailCompletion(other[0])
	wantKind(t, err, errs.Usage, "only TX_FAIL events can be replayed")

	sig := "0x" + strings.Repeat("11", 65)
	hash := "0x" + strings.Repeat("22", 32)
	for _, c := range []struct {
		name    string
		e       dlq.Event
		wantErr string
		wantJob string
	}{
		{"job id as a number, hash from payload", dlq.Event{ID: 1, Type: "TX_FAIL", Payload: `{"jobId":123,"manifestHash":"` + hash + `","controllerSig":"` + sig + `","qualityScore":"95"}`}, "", "123"},
		{"hex job id", dlq.Event{ID: 2, Type: "TX_FAIL", JobID: "0x10", ManifestHash: hash, Payload: `{"controllerSig":"` + sig + `"}`}, "", "16"},
		{"row and payload disagree", dlq.Event{ID: 3, Type: "TX_FAIL", JobID: "5", ManifestHash: hash, Payload: `{"jobId":"6","controllerSig":"` + sig + `"}`}, "differ", ""},
		{"no signature", dlq.Event{ID: 4, Type: "TX_FAIL", JobID: "5", ManifestHash: hash, Payload: `{"jobId":"5"}`}, "no controllerSig", ""},
		{"short signature", dlq.Event{ID: 5, Type: "TX_FAIL", JobID: "5", ManifestHash: hash, Payload: `{"controllerSig":"0x1234"}`}, "expected 65", ""},
		{"no hash", dlq.Event{ID: 6, Type: "TX_FAIL", JobID: "5", Payload: `{"controllerSig":"` + sig + `"}`}, "manifest hash: missing", ""},
		{"negative work units", dlq.Event{ID: 7, Type: "TX_FAIL", JobID: "5", ManifestHash: hash, Payload: `{"controllerSig":"` + sig + `","workUnits":-1}`}, "workUnits", ""},
		{"payload not JSON", dlq.Event{ID: 8, Type: "TX_FAIL", JobID: "5", ManifestHash: hash, Payload: `jobId=5`}, "not a JSON object", ""},
	} {
		got, err := dlq.TxFailCompletion(c.e)
		if c.wantErr != "" {
			wantKind(t, err, errs.Failed, c.wantErr)
			continue
		}
		if err != nil || got.JobID != c.wantJob {
			t.Errorf("%s: %+v, %v", c.name, got, err)
		}
	}
}
