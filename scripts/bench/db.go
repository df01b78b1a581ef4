package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
)

// dbSizesMB are the database sizes the db scenarios run at (VRWX_BENCH_DB_MB, a
// comma-separated list; default 100 MB and 1 GB), so the table shows at a glance
// whether wall time and peak RSS grow with the database.
func dbSizesMB() []int {
	sizes := []int{100, 1024}
	if v := os.Getenv("VRWX_BENCH_DB_MB"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
				sizes = append(sizes, n)
			}
		}
	}
	return sizes
}

// backupRuns is how many backups of each tool a size's goal row takes: five below
// a gigabyte, where one run is a fraction of a second and the page cache's state
// (the fixture just written, still being flushed) moved a median of three from
// 0.8x to 3.8x between two runs of the same build; three at a gigabyte.
func backupRuns(mb int) int {
	if mb < 1024 {
		return 5
	}
	return 3
}

// liveDB is a benchmark database playing the running API: a WAL database whose log
// holds commits the main file does not have yet, with a connection left open (as
// the API keeps one) so no one checkpoints them away between runs.
type liveDB struct {
	dir, path string
	api       *sql.DB
}

func (l *liveDB) setup(ctx context.Context, mb int) error {
	var err error
	if l.dir, err = os.MkdirTemp("", "vrwxctl-bench-db-"); err != nil {
		return err
	}
	l.path = filepath.Join(l.dir, "vrwx.db")
	if _, err := apidbtest.BuildFixture(ctx, l.path, apidbtest.FixtureOptions{}); err != nil {
		return err
	}
	if _, err := apidbtest.Grow(ctx, l.path, int64(mb)<<20); err != nil {
		return err
	}
	if l.api, err = apidb.Open(l.path); err != nil {
		return err
	}
	l.api.SetMaxOpenConns(1)
	for _, stmt := range []string{
		`PRAGMA wal_autocheckpoint = 0`,
		`UPDATE dlq_events SET retry_count = retry_count WHERE id % 97 = 0`,
	} {
		if _, err := l.api.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

func (l *liveDB) teardown() {
	if l.api != nil {
		l.api.Close()
	}
	if l.dir != "" {
		os.RemoveAll(l.dir)
	}
}

// dbScenarios compare db backup, verify and restore at each size with what the
// runbook does (sqlite3 .backup, cp) or what gives the same guarantees with standard
// tools (sha256sum and sqlite3's quick_check). vrwxctl's backup time includes its
// quick_check, its sha256 and the manifest; sqlite3 only copies.
func dbScenarios() []Scenario {
	var out []Scenario
	for _, mb := range dbSizesMB() {
		l := &liveDB{}
		backupDir := func() string { return filepath.Join(l.dir, "backups") }
		out = append(out,
			Scenario{
				Name: fmt.Sprintf("db backup --quick, %d MB WAL db, vs sqlite3 .backup", mb), Goal: "ratio <= 1.3, RSS <= 64 MiB, flat", Runs: backupRuns(mb),
				Setup: func(ctx context.Context) error { return l.setup(ctx, mb) },
				Next: func(i int) ([]string, []string) {
					return []string{"db", "backup", "--db", l.path, "--out", backupDir(), "--quick"},
						[]string{"sqlite3", l.path, ".backup " + filepath.Join(l.dir, fmt.Sprintf("sqlite3-%d.db", i))}
				},
			},
			Scenario{
				Name: fmt.Sprintf("db backup (integrity_check), %d MB, vs sqlite3 .backup", mb), Goal: "informational; RSS <= 64 MiB", Runs: 1,
				Next: func(i int) ([]string, []string) {
					return []string{"db", "backup", "--db", l.path, "--out", backupDir()},
						[]string{"sqlite3", l.path, ".backup " + filepath.Join(l.dir, fmt.Sprintf("sqlite3-full-%d.db", i))}
				},
			},
			Scenario{
				Name: fmt.Sprintf("db verify --quick, %d MB, vs sha256sum + sqlite3 quick_check", mb), Goal: "RSS <= 64 MiB, flat", Runs: 3,
				Next: func(int) ([]string, []string) {
					b := newestBackup(backupDir())
					return []string{"db", "verify", b, "--quick"},
						[]string{"sh", "-c", fmt.Sprintf("sha256sum %s >/dev/null && sqlite3 %s 'PRAGMA quick_check'", b, b)}
				},
			},
			Scenario{
				Name: fmt.Sprintf("db restore --quick, %d MB, vs sha256sum + quick_check + cp", mb), Goal: "RSS <= 64 MiB, flat", Runs: 3,
				Next: func(i int) ([]string, []string) {
					b := newestBackup(backupDir())
					target := filepath.Join(l.dir, "restored", "vrwx.db")
					_ = os.MkdirAll(filepath.Dir(target), 0o700)
					return []string{"db", "restore", "--from", b, "--db", target, "--quick", "--yes"},
						[]string{"sh", "-c", fmt.Sprintf("sha256sum %s >/dev/null && sqlite3 %s 'PRAGMA quick_check' >/dev/null && cp %s %s",
							b, b, b, filepath.Join(l.dir, fmt.Sprintf("cp-%d.db", i)))}
				},
				Teardown: l.teardown,
			},
		)
	}
	return out
}

// newestBackup is the last vrwx-*.db the backup scenarios left in dir.
func newestBackup(dir string) string {
	m, _ := filepath.Glob(filepath.Join(dir, "vrwx-*.db"))
	if len(m) == 0 {
		return filepath.Join(dir, "missing.db")
	}
	return m[len(m)-1]
}
