package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/devchain"
)

var (
	buildOnce sync.Once
	builtDir  string
	builtBin  string
	buildErr  error
)

// binary builds vrwxctl once for this package's tests: static like the release
// (CGO_ENABLED=0), with its symbol table (no -s), so its init and its linked
// symbols are the release's and can be read.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := devchain.RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		if builtDir, buildErr = os.MkdirTemp("", "vrwxctl-bench-test-"); buildErr != nil {
			return
		}
		builtBin = filepath.Join(builtDir, "vrwxctl")
		// vrwxctl and, beside it, the litestream helper it runs for replicas.
		for _, pkg := range []string{"./cmd/vrwxctl", "./cmd/vrwxctl-litestream"} {
			build := exec.Command("go", "build", "-trimpath", "-o", builtDir+"/", pkg)
			build.Dir = root
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// Every command `make bench` drives still works: each scenario's vrwxctl command runs
// once against the bench's own chain, databases and API (small sizes), and the scale
// section once at a few hundred jobs and blocks. Nothing is timed here; when a change
// makes a benchmarked command fail (status judging an API the bench did not start,
// say), this fails instead of the next `make bench`.
func TestEveryScenarioRuns(t *testing.T) {
	devchain.RequireAnvil(t)
	devchain.RequireCast(t)
	if _, err := litestreamBin(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	bin := binary(t)
	t.Setenv("VRWX_BENCH_DB_MB", "2")
	sc := scaleConfig{Jobs: []int{300}, Blocks: []int{300}, Events: 60, Runs: 1}
	if err := mainErr(1, "", bin, "", sc, true); err != nil {
		t.Fatal(err)
	}
}
