package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/devchain"
)

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
	root, err := devchain.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// vrwxctl and, beside it, the litestream helper it runs for replicas.
	dir := t.TempDir()
	bin := filepath.Join(dir, "vrwxctl")
	for _, pkg := range []string{"./cmd/vrwxctl", "./cmd/vrwxctl-litestream"} {
		build := exec.Command("go", "build", "-o", dir+"/", pkg)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	t.Setenv("VRWX_BENCH_DB_MB", "2")
	sc := scaleConfig{Jobs: []int{300}, Blocks: []int{300}, Events: 60, Runs: 1}
	if err := mainErr(1, "", bin, sc, true); err != nil {
		t.Fatal(err)
	}
}
