package apidb_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

func TestMain(m *testing.M) {
	code := m.Run()
	apidbtest.Cleanup()
	os.Exit(code)
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

func TestOpenAppliesTheAPIsPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dir?with#odd chars", "vrwx.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, path)
	ctx := context.Background()
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "1", "busy_timeout": "5000", "foreign_keys": "1"} {
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	if err := apidb.CreateSchema(ctx, db); err != nil {
		t.Fatal(err)
	}
	// The file landed at the literal path, not at a path cut at '?' or '#'.
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at %s: %v", path, err)
	}
}

func TestCheckSchemaNamesWhatIsMissing(t *testing.T) {
	f := buildFixture(t, apidbtest.FixtureOptions{})
	db := openDB(t, f.Path)
	ctx := context.Background()
	for _, stmt := range []string{
		`DROP TABLE payments`, `DROP TABLE connect_tokens`,
		`DELETE FROM _migrations WHERE name IN ('004_robots.sql', '007_tenant_plans.sql')`,
		// A middle migration the API named differently from our reconstruction still counts.
		`UPDATE _migrations SET name = '003_api_keys_and_tenants.sql' WHERE name = '003_tenants_api_keys.sql'`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	tables, migrations, err := apidb.CheckSchema(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tables, ",") != "connect_tokens,payments" {
		t.Errorf("missing tables = %v", tables)
	}
	if strings.Join(migrations, ",") != "004_*.sql,007_tenant_plans.sql" {
		t.Errorf("missing migrations = %v", migrations)
	}
}

// The fixtures are test support: the binary must not link them.
func TestBinaryDoesNotLinkTestSupport(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/vrwx/vrwxctl/cmd/vrwxctl").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/vrwx/vrwxctl/pkg/apidb/apidbtest") {
			t.Errorf("cmd/vrwxctl links %s", dep)
		}
	}
	if !strings.Contains(string(out), "github.com/vrwx/vrwxctl/pkg/apidb\n") {
		t.Errorf("go list -deps did not list pkg/apidb; the check would pass for the wrong reason:\n%s", out)
	}
}

func TestResolvePathPrefersTheGivenPath(t *testing.T) {
	for _, tc := range []struct{ given, configured, want string }{
		{"/a/vrwx.db", "/b/vrwx.db", "/a/vrwx.db"},
		{"", "/b/vrwx.db", "/b/vrwx.db"},
		{"  ", "/b/vrwx.db", "/b/vrwx.db"},
	} {
		got, err := apidb.ResolvePath(tc.given, tc.configured)
		if err != nil || got != tc.want {
			t.Errorf("ResolvePath(%q, %q) = %q, %v; want %q", tc.given, tc.configured, got, err, tc.want)
		}
	}
	_, err := apidb.ResolvePath("", "")
	if !errors.Is(err, apidb.ErrNoPath) || errs.KindOf(err) != errs.Usage {
		t.Errorf("ResolvePath with nothing = %v; want bad input wrapping ErrNoPath", err)
	}
}

// CheckFile tells the caller which of the three problems a path has, as bad input,
// and accepts a real database.
func TestCheckFileNamesTheProblem(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("not a database ", 10)), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short.db")
	if err := os.WriteFile(short, []byte("SQLite format 3\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want error
		text string
	}{
		{filepath.Join(dir, "missing.db"), apidb.ErrNotExist, "does not exist"},
		{dir, apidb.ErrNotRegular, "is not a regular file"},
		{text, apidb.ErrNotSQLite, "is not an SQLite database"},
		{short, apidb.ErrNotSQLite, "is not an SQLite database"},
	} {
		err := apidb.CheckFile(tc.path, "backup")
		var fe *apidb.FileError
		if !errors.Is(err, tc.want) || errs.KindOf(err) != errs.Usage || !errors.As(err, &fe) || fe.Path != tc.path ||
			!strings.HasPrefix(err.Error(), "backup "+tc.path+" "+tc.text) {
			t.Errorf("CheckFile(%s) = %v; want bad input wrapping %v", tc.path, err, tc.want)
		}
	}
	f := buildFixture(t, apidbtest.FixtureOptions{})
	if err := apidb.CheckFile(f.Path, "database"); err != nil {
		t.Errorf("CheckFile of a real database: %v", err)
	}
}
