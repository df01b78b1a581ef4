package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb"
	"github.com/vrwx/vrwxctl/pkg/apidb/apidbtest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// replicaDB is a benchmark database that the real litestream (tools/bin, the
// version vrwxctl-litestream links) has replicated to a file replica: its first
// snapshot and a few syncs after it, then litestream stopped, as before a restore.
type replicaDB struct {
	dir, db, replica string
}

func (r *replicaDB) setup(ctx context.Context, mb int) error {
	ls, err := litestreamBin()
	if err != nil {
		return err
	}
	if r.dir, err = os.MkdirTemp("", "vrwxctl-bench-litestream-"); err != nil {
		return err
	}
	r.db, r.replica = filepath.Join(r.dir, "vrwx.db"), filepath.Join(r.dir, "replica")
	if _, err := apidbtest.BuildFixture(ctx, r.db, apidbtest.FixtureOptions{}); err != nil {
		return err
	}
	if _, err := apidbtest.Grow(ctx, r.db, int64(mb)<<20); err != nil {
		return err
	}
	cfg := filepath.Join(r.dir, "litestream.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("dbs:\n  - path: %s\n    replica:\n      url: file://%s\n      sync-interval: 100ms\n", r.db, r.replica)), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(ls, "replicate", "-config", cfg)
	log, err := os.Create(filepath.Join(r.dir, "litestream.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	stop := func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		return cmd.Wait()
	}
	deadline := time.Now().Add(30 * time.Minute)
	for {
		snaps, _ := filepath.Glob(filepath.Join(r.replica, "ltx", "9", "*.ltx"))
		if len(snaps) > 0 {
			break
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("litestream made no snapshot of %s in 30 minutes", r.db)
		}
		time.Sleep(time.Second)
	}
	// Some writes after the snapshot, so a restore applies level-0 files too.
	conn, err := apidb.Open(r.db)
	if err != nil {
		stop()
		return err
	}
	for i := 0; i < 20; i++ {
		if _, err := conn.ExecContext(ctx, `UPDATE dlq_events SET retry_count = retry_count WHERE id % 53 = ?`, i); err != nil {
			conn.Close()
			stop()
			return err
		}
		time.Sleep(150 * time.Millisecond)
	}
	conn.Close()
	time.Sleep(time.Second)
	return stop()
}

func (r *replicaDB) teardown() {
	if r.dir != "" {
		os.RemoveAll(r.dir)
	}
}

// litestreamScenarios compare `db restore --from file://replica` (litestream's own
// restore through vrwxctl-litestream, then vrwxctl's rails: quick_check, tables,
// migrations, journal, atomic swap) with `litestream restore -integrity-check quick`
// of the same replica, and `db drill` of it (restore into scratch, verify, newest
// rows, RTO/RPO, remove) with that restore alone.
func litestreamScenarios(bin, ls string) []Scenario {
	var out []Scenario
	for _, mb := range dbSizesMB() {
		r := &replicaDB{}
		target := func(kind string, i int) string {
			p := filepath.Join(r.dir, fmt.Sprintf("%s-%d", kind, i), "vrwx.db")
			_ = os.MkdirAll(filepath.Dir(p), 0o700)
			// The previous run's output goes, so the disk holds one of each.
			_ = os.RemoveAll(filepath.Join(r.dir, fmt.Sprintf("%s-%d", kind, i-1)))
			return p
		}
		out = append(out,
			Scenario{
				Name: fmt.Sprintf("db restore from a litestream replica, %d MB, vs litestream restore", mb), Goal: "ratio <= 1.3, RSS <= 64 MiB", Runs: 3,
				Setup: func(ctx context.Context) error { return r.setup(ctx, mb) },
				Next: func(i int) ([]string, []string) {
					return []string{"db", "restore", "--from", "file://" + r.replica, "--db", target("vrwxctl", i), "--quick", "--yes"},
						[]string{ls, "restore",
							"-integrity-check", "quick", "-o", target("litestream", i), "file://" + r.replica}
				},
			},
			Scenario{
				Name: fmt.Sprintf("db drill of a litestream replica, %d MB, vs db restore alone", mb), Goal: "ratio <= 1.5", Runs: 3,
				Next: func(i int) ([]string, []string) {
					scratch := filepath.Join(r.dir, "scratch")
					_ = os.MkdirAll(scratch, 0o700)
					return []string{"db", "drill", "--from", "file://" + r.replica, "--scratch", scratch, "--quick", "-o", "json"},
						[]string{bin, "db", "restore", "--from", "file://" + r.replica, "--db", target("restore", i), "--quick", "--yes"}
				},
				Teardown: r.teardown,
			},
		)
	}
	return out
}

// litestreamBin is tools/bin/litestream, which scripts/tools.sh builds.
func litestreamBin() (string, error) {
	root, err := devchain.RepoRoot()
	if err != nil {
		return "", err
	}
	ls := filepath.Join(root, "tools", "bin", "litestream")
	if _, err := os.Stat(ls); err != nil {
		return "", fmt.Errorf("%s missing: run scripts/tools.sh", ls)
	}
	return ls, nil
}
