// Package replicatest runs the real litestream for tests: the litestream binary
// scripts/tools.sh builds from the Go module proxy at the pinned version
// (tools/bin/litestream), replicating a database to a file or S3 replica, and the
// vrwxctl-litestream helper built from this module, as vrwxctl runs it. Nothing
// here is linked into vrwxctl.
package replicatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

// Version is the litestream scripts/tools.sh builds, and go.mod pins for the helper.
const Version = "v0.5.18"

// Litestream returns the litestream binary: $VRWX_LITESTREAM, else tools/bin's, else
// one on PATH. Without one the test fails under CI and is skipped elsewhere.
func Litestream(t testing.TB) string {
	t.Helper()
	p, err := litestreamPath()
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "" {
		t.Skipf("litestream not installed (%v): run scripts/tools.sh", err)
	}
	t.Fatalf("litestream is required under CI: %v", err)
	return ""
}

func litestreamPath() (string, error) {
	if p := os.Getenv("VRWX_LITESTREAM"); p != "" {
		return p, nil
	}
	var tried []string
	if root, err := repoRoot(); err == nil {
		p := filepath.Join(root, "tools", "bin", "litestream")
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
		tried = append(tried, p)
	}
	if p, err := exec.LookPath("litestream"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("no litestream in %s or on PATH", strings.Join(tried, ", "))
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

var (
	helperMu    sync.Mutex
	helperPath  string
	helperUsers int
)

// Helper builds cmd/vrwxctl-litestream (from the build cache after the first
// time, as apidbtest builds its writer) and returns its path. Tests running at the
// same time share one build; it is removed when the last of them ends.
func Helper(t testing.TB) string {
	t.Helper()
	helperMu.Lock()
	defer helperMu.Unlock()
	if helperPath == "" {
		dir, err := os.MkdirTemp("", "vrwx-litestream-helper-")
		if err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, sqlitebackup.HelperName)
		out, err := exec.Command("go", "run", "-exec", "cp", "github.com/vrwx/vrwxctl/cmd/vrwxctl-litestream", bin).CombinedOutput()
		if err != nil {
			os.RemoveAll(dir)
			t.Fatalf("build %s: %v\n%s", sqlitebackup.HelperName, err, out)
		}
		helperPath = bin
	}
	helperUsers++
	path := helperPath
	t.Cleanup(func() {
		helperMu.Lock()
		defer helperMu.Unlock()
		if helperUsers--; helperUsers == 0 {
			os.RemoveAll(filepath.Dir(helperPath))
			helperPath = ""
		}
	})
	return path
}

// Engine is the helper as vrwxctl runs it.
func Engine(t testing.TB) *sqlitebackup.ExecEngine {
	return &sqlitebackup.ExecEngine{Path: Helper(t)}
}

// Replicator is a running `litestream replicate`.
type Replicator struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan error
}

// Replicate starts litestream replicating db (a WAL database) to the replica URL
// (file:///dir, or s3://bucket/path?endpoint=…) with a sync every 100 ms, with env
// added to the test process's environment. It is stopped when the test ends.
func Replicate(t testing.TB, db, url string, env ...string) *Replicator {
	t.Helper()
	bin := Litestream(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "litestream.yml")
	body := fmt.Sprintf("dbs:\n  - path: %s\n    monitor-interval: 100ms\n    replica:\n      url: %q\n      sync-interval: 100ms\n", db, url)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "litestream.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "replicate", "-config", cfg)
	// litestream's S3 client cannot load an AWS configuration with AWS_CA_BUNDLE
	// set (it gives the SDK its own HTTP client); the test servers are plain HTTP.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_CA_BUNDLE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start litestream: %v", err)
	}
	r := &Replicator{cmd: cmd, log: log, done: make(chan error, 1)}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() { r.Stop(t) })
	return r
}

// Pid is the litestream process's id.
func (r *Replicator) Pid() int { return r.cmd.Process.Pid }

// Stop ends litestream as a pod's shutdown does (SIGTERM: it syncs what it has
// and exits) and waits for it; a second call does nothing.
func (r *Replicator) Stop(t testing.TB) {
	t.Helper()
	if r.cmd.ProcessState != nil || r.done == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(time.Minute):
		_ = r.cmd.Process.Kill()
		<-r.done
		t.Errorf("litestream did not stop within a minute of SIGTERM:\n%s", r.Log())
	}
	r.done = nil
	r.log.Close()
}

// Log is what litestream printed.
func (r *Replicator) Log() string {
	b, _ := os.ReadFile(r.log.Name())
	return string(b)
}

// WaitFor polls the replica (through the engine) until ok says its description is
// what the test waits for, or ctx ends.
func WaitFor(ctx context.Context, t testing.TB, e sqlitebackup.ReplicaEngine, loc sqlitebackup.Location, s3 sqlitebackup.S3Config, ok func(*sqlitebackup.ReplicaInfo) bool) *sqlitebackup.ReplicaInfo {
	t.Helper()
	var last error
	for {
		info, err := e.Describe(ctx, loc, s3)
		if err == nil && ok(info) {
			return info
		}
		last = err
		select {
		case <-ctx.Done():
			t.Fatalf("the replica %s never got there: %v (last: %+v, %v)", loc, ctx.Err(), info, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
