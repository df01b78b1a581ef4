package apidbtest_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	apidbtest.Cleanup()
	os.Exit(code)
}

// sqlite3CLI returns the sqlite3 shell, the test oracle. In CI it must exist.
func sqlite3CLI(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sqlite3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("sqlite3 CLI is required in CI as the test oracle: %v", err)
		}
		t.Skip("sqlite3 CLI not installed (apt-get install sqlite3); it is the oracle for this test")
	}
	return p
}

func oracle(t *testing.T, db, sqlText string) string {
	t.Helper()
	out, err := exec.Command(sqlite3CLI(t), db, sqlText).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %s %q: %v\n%s", db, sqlText, err, out)
	}
	return strings.TrimSpace(string(out))
}

func buildFixture(t *testing.T, opts apidbtest.FixtureOptions) *apidbtest.Fixture {
	t.Helper()
	f, err := apidbtest.BuildFixture(context.Background(), filepath.Join(t.TempDir(), "vrwx.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := apidb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestFixtureHasRealisticRowsInEveryTable(t *testing.T) {
	q, u := uint64(91), uint64(7)
	pinned := []apidbtest.TxFailRow{
		{JobID: "42", ManifestHash: "0x" + strings.Repeat("ab", 32), ControllerSig: "0x" + strings.Repeat("cd", 65), QualityScore: &q, WorkUnits: &u},
		{JobID: "43", ManifestHash: "0x" + strings.Repeat("12", 32), ControllerSig: "0x" + strings.Repeat("34", 65), RetryCount: 3},
	}
	f := buildFixture(t, apidbtest.FixtureOptions{TxFails: pinned})
	db := openDB(t, f.Path)
	ctx := context.Background()

	missingTables, missingMigrations, err := apidb.CheckSchema(ctx, db)
	if err != nil || len(missingTables) != 0 || len(missingMigrations) != 0 {
		t.Fatalf("CheckSchema = %v, %v, %v; want nothing missing", missingTables, missingMigrations, err)
	}
	names, err := apidb.AppliedMigrations(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != strings.Join(apidb.ExpectedMigrations(), ",") || names[0] != "001_idempotency.sql" || names[6] != "007_tenant_plans.sql" {
		t.Errorf("migrations = %v", names)
	}

	// The oracle sees the same rows, the API's journal mode, and a sound file.
	for _, table := range apidb.ExpectedTables() {
		n, _ := strconv.ParseInt(oracle(t, f.Path, `SELECT count(*) FROM "`+table+`"`), 10, 64)
		if n == 0 {
			t.Errorf("table %s is empty", table)
		}
		if n != f.Counts[table] {
			t.Errorf("table %s: sqlite3 counts %d rows, fixture reported %d", table, n, f.Counts[table])
		}
	}
	if got := oracle(t, f.Path, "PRAGMA journal_mode"); got != "wal" {
		t.Errorf("journal_mode = %s, want wal", got)
	}
	if got := oracle(t, f.Path, "PRAGMA integrity_check"); got != "ok" {
		t.Errorf("integrity_check = %s", got)
	}
	if got := oracle(t, f.Path, "PRAGMA foreign_key_check"); got != "" {
		t.Errorf("foreign_key_check = %s", got)
	}

	// Every DLQ type, each resolution type, and unresolved rows at every retry count.
	for _, typ := range apidb.DLQTypes {
		for _, res := range apidb.ResolutionTypes {
			if n := count(t, db, `SELECT count(*) FROM dlq_events WHERE type = ? AND resolution_type = ? AND resolved_at IS NOT NULL`, typ, res); n == 0 {
				t.Errorf("no %s row resolved as %s", typ, res)
			}
		}
		for rc := 0; rc <= 3; rc++ {
			if n := count(t, db, `SELECT count(*) FROM dlq_events WHERE type = ? AND resolved_at IS NULL AND retry_count = ?`, typ, rc); n == 0 {
				t.Errorf("no unresolved %s row with retry_count %d", typ, rc)
			}
		}
	}
	// Back-off: next retry is last (or created) + 60 s * 2^retry_count, none after the third.
	if n := count(t, db, `SELECT count(*) FROM dlq_events WHERE resolved_at IS NULL AND retry_count < 3 AND
		next_retry_at != coalesce(last_retry_at, created_at) + (60000 << retry_count)`); n != 0 {
		t.Errorf("%d unresolved rows do not follow the API's back-off", n)
	}
	if n := count(t, db, `SELECT count(*) FROM dlq_events WHERE retry_count >= 3 AND resolved_at IS NULL AND next_retry_at IS NOT NULL`); n != 0 {
		t.Errorf("%d rows past the retry limit still have a next retry", n)
	}

	// TX_FAIL rows carry what a replay needs.
	rows, err := db.QueryContext(ctx, `SELECT error_code, job_id, manifest_hash, payload FROM dlq_events WHERE type = 'TX_FAIL'`)
	if err != nil {
		t.Fatal(err)
	}
	hash32 := regexp.MustCompile(`^0x[0-9a-f]{64}$`)
	sig := regexp.MustCompile(`^0x[0-9a-f]{130}$`)
	for rows.Next() {
		var code, job, mh, payload string
		if err := rows.Scan(&code, &job, &mh, &payload); err != nil {
			t.Fatal(err)
		}
		var p map[string]any
		if err := json.Unmarshal([]byte(payload), &p); err != nil {
			t.Fatalf("payload is not JSON: %v", err)
		}
		if code != "RELAY_TX_FAILED" || job == "" || !hash32.MatchString(mh) || p["jobId"] != job ||
			!hash32.MatchString(p["robotId"].(string)) || p["serviceType"] == "" || !sig.MatchString(p["controllerSig"].(string)) {
			t.Errorf("TX_FAIL row is incomplete: code=%s job=%s hash=%s payload=%s", code, job, mh, payload)
		}
	}
	rows.Close()

	// The pinned rows are there with exactly the given values.
	if len(f.TxFailIDs) != 2 {
		t.Fatalf("TxFailIDs = %v", f.TxFailIDs)
	}
	var job, mh, payload string
	var rc int
	if err := db.QueryRowContext(ctx, `SELECT job_id, manifest_hash, payload, retry_count FROM dlq_events WHERE id = ?`, f.TxFailIDs[0]).
		Scan(&job, &mh, &payload, &rc); err != nil {
		t.Fatal(err)
	}
	if job != "42" || mh != pinned[0].ManifestHash || !strings.Contains(payload, pinned[0].ControllerSig) ||
		!strings.Contains(payload, `"qualityScore":91`) || !strings.Contains(payload, `"workUnits":7`) {
		t.Errorf("pinned row 1: job=%s hash=%s payload=%s", job, mh, payload)
	}
	if err := db.QueryRowContext(ctx, `SELECT payload, retry_count FROM dlq_events WHERE id = ?`, f.TxFailIDs[1]).Scan(&payload, &rc); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(payload, "qualityScore") || strings.Contains(payload, "workUnits") || rc != 3 {
		t.Errorf("pinned row 2 should lack quality/work units and have 3 retries: rc=%d payload=%s", rc, payload)
	}

	// Idempotency keys use the API's format; robot ids are keccak("<tenant>:<name>").
	if n := count(t, db, `SELECT count(*) FROM idempotency_keys WHERE key NOT GLOB 'base:8453:job:[0-9]*'`); n != 0 {
		t.Errorf("%d idempotency keys not in base:{chainId}:job:{jobId} form", n)
	}
	if n := count(t, db, `SELECT count(*) FROM connect_tokens WHERE json_extract(secrets_json, '$.alg') != 'aes-256-gcm' OR json_extract(secrets_json, '$.ciphertext') IS NULL`); n != 0 {
		t.Errorf("%d connect tokens without an encrypted secrets envelope", n)
	}
}

func count(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestFixtureGrowsToTargetSize(t *testing.T) {
	f := buildFixture(t, apidbtest.FixtureOptions{TargetBytes: 8 << 20})
	fi, err := os.Stat(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < 8<<20 || f.Bytes < 8<<20 {
		t.Errorf("fixture is %d bytes (reported %d), want at least %d", fi.Size(), f.Bytes, 8<<20)
	}
	if _, err := apidbtest.BuildFixture(context.Background(), f.Path, apidbtest.FixtureOptions{}); err == nil {
		t.Error("BuildFixture overwrote an existing file")
	}
}

func TestWriterProcessCommitsEveryRowItReports(t *testing.T) {
	f := buildFixture(t, apidbtest.FixtureOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w, err := apidbtest.StartWriter(ctx, f.Path, 200, 5_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if w.Pid == os.Getpid() {
		t.Fatal("the writer must be another process")
	}
	start := time.Now()
	if err := w.WaitCommits(ctx, 300); err != nil {
		t.Fatal(err)
	}
	commits, errors, err := w.Stop()
	elapsed := time.Since(start)
	if err != nil || len(errors) > 0 {
		t.Fatalf("writer failed: %v %v", err, errors)
	}
	if rate := float64(2*len(commits)) / elapsed.Seconds(); rate < 200 {
		t.Errorf("writer wrote %.0f rows/s, want >= 200", rate)
	}
	db := openDB(t, f.Path)
	if n := count(t, db, `SELECT count(*) FROM dlq_events WHERE CAST(job_id AS INTEGER) > 5000000`); n != int64(len(commits)) {
		t.Errorf("database has %d writer DLQ rows, writer reported %d commits", n, len(commits))
	}
	if n := count(t, db, `SELECT count(*) FROM job_completions WHERE CAST(job_id AS INTEGER) > 5000000`); n != int64(len(commits)) {
		t.Errorf("database has %d writer completions, writer reported %d commits", n, len(commits))
	}
}

// Grow reaches its target by copying history, and the result is still the API's
// database: sound, in WAL mode, with the fixture's unresolved DLQ rows untouched.
func TestGrowCopiesHistoryToTheTargetSize(t *testing.T) {
	f := buildFixture(t, apidbtest.FixtureOptions{})
	db := openDB(t, f.Path)
	unresolved := count(t, db, `SELECT count(*) FROM dlq_events WHERE resolved_at IS NULL`)
	db.Close()
	const target = 24 << 20
	size, err := apidbtest.Grow(context.Background(), f.Path, target)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f.Path)
	if err != nil || size < target || fi.Size() < target || fi.Size() > 2*target {
		t.Fatalf("Grow = %d bytes, file %d bytes (%v); want at least %d, not twice that", size, fi.Size(), err, target)
	}
	if got := oracle(t, f.Path, "PRAGMA integrity_check"); got != "ok" {
		t.Errorf("integrity_check = %s", got)
	}
	if got := oracle(t, f.Path, "PRAGMA journal_mode"); got != "wal" {
		t.Errorf("journal_mode = %s, want wal", got)
	}
	db = openDB(t, f.Path)
	if n := count(t, db, `SELECT count(*) FROM dlq_events WHERE resolved_at IS NULL`); n != unresolved {
		t.Errorf("unresolved DLQ rows %d, the fixture had %d", n, unresolved)
	}
	if n := count(t, db, `SELECT count(*) FROM job_completions`); n < 10*f.Counts["job_completions"] {
		t.Errorf("job_completions has %d rows; growing 24x should copy it many times over", n)
	}
}
