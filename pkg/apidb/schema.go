// Package apidb knows the VRWX API's SQLite database: where it is, how the API opens
// it, its tables and migrations, a schema check, and the journal that lets an
// interrupted restore be completed or undone by whichever command opens the database
// next. Test fixtures live in apidbtest, so none of them is linked into the binary.
package apidb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vrwx/vrwxctl/pkg/lazy"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// DriverName is the database/sql driver every vrwxctl package uses.
const DriverName = "sqlite"

// BusyTimeoutMillis is the API's busy_timeout; our own writers use the same so they
// wait for the API exactly as long as it waits for them.
const BusyTimeoutMillis = 5000

// DSN returns the connection string that opens path the way the API does
// (journal_mode=WAL, synchronous=NORMAL, busy_timeout=5000, foreign_keys=ON).
func DSN(path string) string {
	return fileURI(path) + "?" + strings.Join([]string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", BusyTimeoutMillis),
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_pragma=foreign_keys(ON)",
	}, "&")
}

// ReadOnlyDSN returns a connection string that opens path without ever creating or
// changing it (mode=ro), with the API's busy timeout so a read waits out a writer's
// checkpoint instead of failing.
func ReadOnlyDSN(path string) string {
	return fileURI(path) + fmt.Sprintf("?mode=ro&_pragma=busy_timeout(%d)", BusyTimeoutMillis)
}

// fileURI turns a path into an SQLite URI filename. The URI form is what lets
// modernc pass query parameters through, and escaping keeps a '?' or '#' inside a
// directory name from being read as the start of the query.
func fileURI(path string) string {
	u := url.URL{Path: filepath.ToSlash(path)}
	return "file:" + u.EscapedPath()
}

// Open opens the database at path with the API's pragmas.
func Open(path string) (*sql.DB, error) {
	db, err := sql.Open(DriverName, DSN(path))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// OpenReadOnly opens the database at path read-only.
func OpenReadOnly(path string) (*sql.DB, error) {
	db, err := sql.Open(DriverName, ReadOnlyDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open database %s read-only: %w", path, err)
	}
	return db, nil
}

// DLQ event types and resolution types, as the API writes them (spec/VRWX.md).
var (
	DLQTypes = []string{
		"HASH_MISMATCH", "UPLOAD_FAIL", "SCHEMA_FAIL", "TX_FAIL",
		"DISPUTE_FAIL", "VALIDATION_FAIL", "IDEMPOTENCY_CONFLICT",
	}
	ResolutionTypes = []string{"RETRIED", "MANUAL", "EXPIRED", "SKIPPED"}
)

// Querier is what the schema functions read through: a *sql.DB, or a *sql.Conn or
// *sql.Tx to read inside one transaction's snapshot.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// migration is one row of _migrations as the API records it.
type migration struct {
	ID   int
	Name string
}

// migrations are the seven the API applies. The spec names only the first and the
// last (001_idempotency.sql, 007_tenant_plans.sql); the five in between are our
// reconstruction from the tables each step plausibly introduced, which is why
// CheckSchema matches those by their number rather than their name.
var migrations = []migration{
	{1, "001_idempotency.sql"},
	{2, "002_dlq_events.sql"},
	{3, "003_tenants_api_keys.sql"},
	{4, "004_robots.sql"},
	{5, "005_connect_tokens.sql"},
	{6, "006_job_completions_payments.sql"},
	{7, "007_tenant_plans.sql"},
}

// ExpectedMigrations returns the seven migration names, in order.
func ExpectedMigrations() []string {
	out := make([]string, len(migrations))
	for i, m := range migrations {
		out[i] = m.Name
	}
	return out
}

// tables lists every table of the API's schema, in creation order.
var tables = []string{
	"_migrations",
	"idempotency_keys",
	"dlq_events",
	"tenants",
	"api_keys",
	"robots",
	"connect_tokens",
	"job_completions",
	"payments",
}

// ExpectedTables returns the API's tables, including _migrations.
func ExpectedTables() []string { return append([]string(nil), tables...) }

// schemaDDL creates the API's schema. Column names and meanings follow the spec;
// types, defaults and indexes are what the API's queries need (every timestamp is
// integer milliseconds since the epoch, job ids are decimal text because they are
// uint256 on chain).
var schemaDDL = []string{
	`CREATE TABLE _migrations (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		name TEXT NOT NULL UNIQUE,
		applied_at INTEGER NOT NULL
	)`,
	`CREATE TABLE idempotency_keys (
		key TEXT PRIMARY KEY,
		status TEXT NOT NULL,
		request_hash TEXT NOT NULL,
		manifest_hash TEXT,
		response_json TEXT,
		error_code TEXT,
		error_message TEXT,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		ttl_expires_at INTEGER NOT NULL
	)`,
	`CREATE INDEX idx_idempotency_keys_ttl ON idempotency_keys(ttl_expires_at)`,
	`CREATE TABLE dlq_events (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		type TEXT NOT NULL,
		payload TEXT NOT NULL,
		reason TEXT NOT NULL,
		error_code TEXT,
		error_stack TEXT,
		retry_count INTEGER NOT NULL DEFAULT 0,
		next_retry_at INTEGER,
		last_retry_at INTEGER,
		resolved_at INTEGER,
		resolution_type TEXT,
		resolution_notes TEXT,
		connector_type TEXT NOT NULL DEFAULT 'webhook',
		service_type TEXT,
		job_id TEXT,
		manifest_hash TEXT,
		created_at INTEGER NOT NULL
	)`,
	`CREATE INDEX idx_dlq_events_unresolved ON dlq_events(resolved_at, type)`,
	`CREATE INDEX idx_dlq_events_job ON dlq_events(job_id)`,
	`CREATE TABLE tenants (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	)`,
	`CREATE TABLE api_keys (
		id TEXT PRIMARY KEY,
		tenant_id TEXT NOT NULL REFERENCES tenants(id),
		key_hash TEXT NOT NULL UNIQUE,
		prefix TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		last_used_at INTEGER,
		revoked_at INTEGER
	)`,
	`CREATE TABLE robots (
		id TEXT PRIMARY KEY,
		tenant_id TEXT NOT NULL REFERENCES tenants(id),
		robot_id TEXT NOT NULL UNIQUE,
		controller_address TEXT NOT NULL,
		registered_tx TEXT,
		registered_at INTEGER,
		status TEXT NOT NULL DEFAULT 'pending',
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	)`,
	`CREATE TABLE connect_tokens (
		id TEXT PRIMARY KEY,
		tenant_id TEXT NOT NULL REFERENCES tenants(id),
		robot_id TEXT NOT NULL,
		token TEXT NOT NULL UNIQUE,
		secrets_json TEXT NOT NULL,
		expires_at INTEGER NOT NULL,
		downloaded_at INTEGER,
		created_at INTEGER NOT NULL
	)`,
	`CREATE TABLE job_completions (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		tenant_id TEXT NOT NULL REFERENCES tenants(id),
		robot_id TEXT NOT NULL,
		job_id TEXT NOT NULL,
		service_type TEXT NOT NULL,
		manifest_hash TEXT NOT NULL,
		tx_hash TEXT,
		status TEXT NOT NULL,
		hash_match INTEGER,
		payload_json TEXT,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		UNIQUE (tenant_id, job_id)
	)`,
	`CREATE TABLE payments (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		stripe_session_id TEXT NOT NULL UNIQUE,
		service_type TEXT NOT NULL,
		units INTEGER NOT NULL,
		quality_tier TEXT,
		amount_cents INTEGER NOT NULL,
		status TEXT NOT NULL,
		email TEXT,
		location TEXT,
		created_at INTEGER NOT NULL,
		completed_at INTEGER
	)`,
	// 007_tenant_plans.sql: plans came after tenants, so they arrive as ALTERs the way
	// the API's last migration adds them.
	`ALTER TABLE tenants ADD COLUMN plan TEXT NOT NULL DEFAULT 'free'`,
	`ALTER TABLE tenants ADD COLUMN stripe_customer_id TEXT`,
	`ALTER TABLE tenants ADD COLUMN stripe_subscription_id TEXT`,
	`ALTER TABLE tenants ADD COLUMN plan_robots_limit INTEGER`,
	`ALTER TABLE tenants ADD COLUMN plan_completions_limit INTEGER`,
	`ALTER TABLE tenants ADD COLUMN completions_this_month INTEGER NOT NULL DEFAULT 0`,
	`ALTER TABLE tenants ADD COLUMN plan_updated_at INTEGER`,
}

// CreateSchema creates the API's tables and records the seven migrations as applied
// now, in one transaction. The database must be empty; open it with Open so it gets
// the API's pragmas.
func CreateSchema(ctx context.Context, db *sql.DB) error {
	return createSchema(ctx, db, time.Now().UnixMilli())
}

func createSchema(ctx context.Context, db *sql.DB, appliedAtMillis int64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create schema: begin: %w", err)
	}
	defer tx.Rollback()
	for _, stmt := range schemaDDL {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create schema: %s: %w", firstLine(stmt), err)
		}
	}
	for i, m := range migrations {
		// Migrations were applied a minute apart, as a deploy running them in order would.
		at := appliedAtMillis - int64(len(migrations)-1-i)*60_000
		if _, err := tx.ExecContext(ctx, `INSERT INTO _migrations(id, name, applied_at) VALUES (?, ?, ?)`, m.ID, m.Name, at); err != nil {
			return fmt.Errorf("create schema: record migration %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create schema: commit: %w", err)
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(strings.TrimSpace(s), "(")
}

var migrationNumber = &lazy.Regexp{Expr: `^(\d{3})_.+\.sql$`}

// CheckSchema reports which of the API's tables and migrations db lacks. The first
// and last migrations are matched by their spec names; the middle five by their
// number (002_…sql … 006_…sql), because the spec does not name them and an API
// whose middle names differ from our reconstruction is still complete. A missing
// middle migration is reported as e.g. "003_*.sql".
func CheckSchema(ctx context.Context, db Querier) (missingTables []string, missingMigrations []string, err error) {
	present := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table'`)
	if err != nil {
		return nil, nil, fmt.Errorf("check schema: list tables: %w", err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("check schema: list tables: %w", err)
		}
		present[name] = true
	}
	if err := rows.Close(); err != nil {
		return nil, nil, fmt.Errorf("check schema: list tables: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("check schema: list tables: %w", err)
	}
	for _, t := range tables {
		if !present[t] {
			missingTables = append(missingTables, t)
		}
	}
	if !present["_migrations"] {
		return missingTables, ExpectedMigrations(), nil
	}
	names, err := AppliedMigrations(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	return missingTables, missingFrom(names), nil
}

// AppliedMigrations returns the names recorded in _migrations, in id order.
func AppliedMigrations(ctx context.Context, db Querier) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM _migrations ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read _migrations: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("read _migrations: %w", err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read _migrations: %w", err)
	}
	return names, nil
}

func missingFrom(applied []string) []string {
	exact := map[string]bool{}
	numbers := map[string]bool{}
	for _, n := range applied {
		exact[n] = true
		if m := migrationNumber.FindStringSubmatch(n); m != nil {
			numbers[m[1]] = true
		}
	}
	var missing []string
	for i, m := range migrations {
		first, last := i == 0, i == len(migrations)-1
		switch {
		case first || last:
			if !exact[m.Name] {
				missing = append(missing, m.Name)
			}
		case !numbers[m.Name[:3]]:
			missing = append(missing, m.Name[:3]+"_*.sql")
		}
	}
	return missing
}

// RowCounts returns the number of rows in each of the API's tables that db has.
func RowCounts(ctx context.Context, db Querier) (map[string]int64, error) {
	counts := map[string]int64{}
	missing, _, err := CheckSchema(ctx, db)
	if err != nil {
		return nil, err
	}
	skip := map[string]bool{}
	for _, t := range missing {
		skip[t] = true
	}
	for _, t := range tables {
		if skip[t] {
			continue
		}
		var n int64
		// The table name comes from our own fixed list, never from input.
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "`+t+`"`).Scan(&n); err != nil {
			return nil, fmt.Errorf("count rows of %s: %w", t, err)
		}
		counts[t] = n
	}
	return counts, nil
}

// SortedTables returns the keys of a RowCounts map in schema order, for printing.
func SortedTables(counts map[string]int64) []string {
	order := map[string]int{}
	for i, t := range tables {
		order[t] = i
	}
	out := make([]string, 0, len(counts))
	for t := range counts {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		oi, iok := order[out[i]]
		oj, jok := order[out[j]]
		if iok && jok {
			return oi < oj
		}
		if iok != jok {
			return iok
		}
		return out[i] < out[j]
	})
	return out
}

// OpenExisting opens the API's existing database at path for a command: it first
// finishes a restore that was interrupted there (Recover; the *Recovery says what
// it did, nil when nothing), then refuses a path that is not an SQLite file
// (CheckFile), then opens it read-only or, with write, the way the API does.
func OpenExisting(ctx context.Context, path string, write bool) (*sql.DB, *Recovery, error) {
	rec, err := Recover(ctx, path, false)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckFile(path, "database"); err != nil {
		return nil, rec, err
	}
	open := OpenReadOnly
	if write {
		open = Open
	}
	db, err := open(path)
	return db, rec, err
}
