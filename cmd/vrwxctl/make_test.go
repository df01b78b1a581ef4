package main_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeDryRun prints the commands `make target` would run in the checkout, without
// running them.
func makeDryRun(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-n"}, args...)...)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// make release-check runs the pinned goreleaser through `go run`, the way the
// project runs its Go tools, never whatever goreleaser is on PATH.
func TestReleaseCheckRunsThePinnedGoreleaser(t *testing.T) {
	t.Parallel()
	out := makeDryRun(t, "release-check")
	if !strings.Contains(out, "go run github.com/goreleaser/goreleaser/v2@v2.15.1 check") {
		t.Errorf("make release-check runs:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "goreleaser ") {
			t.Errorf("make release-check runs a goreleaser from PATH: %q", line)
		}
	}
}

// make devchain PORT=… starts the chain on that port; without PORT, on 8545.
func TestMakeDevchainTakesThePort(t *testing.T) {
	t.Parallel()
	if out := makeDryRun(t, "devchain", "PORT=18599"); !strings.Contains(out, "go run ./scripts/devchain --port 18599") {
		t.Errorf("make devchain PORT=18599 runs:\n%s", out)
	}
	if out := makeDryRun(t, "devchain"); !strings.Contains(out, "go run ./scripts/devchain --port 8545") {
		t.Errorf("make devchain runs:\n%s", out)
	}
}

// make devapi SIGNER=… API_PORT=… (re)starts the API stand-in on that port with that
// key reference; without them, on the local profile's port 3000 with the local relayer.
func TestMakeDevapiTakesTheSignerAndPort(t *testing.T) {
	t.Parallel()
	if out := makeDryRun(t, "devapi", "SIGNER=file:///k/relayer.hex", "API_PORT=3005"); !strings.Contains(out, "scripts/devapi.sh start 'file:///k/relayer.hex' 3005") {
		t.Errorf("make devapi SIGNER=file:///k/relayer.hex API_PORT=3005 runs:\n%s", out)
	}
	if out := makeDryRun(t, "devapi"); !strings.Contains(out, "scripts/devapi.sh start 'env://RELAYER_PRIVATE_KEY' 3000") {
		t.Errorf("make devapi runs:\n%s", out)
	}
}

// make demo installs only what the demo uses (anvil: scripts/tools.sh chain), not
// the tests' tools (staticcheck, litestream, sqlite3, prometheus: scripts/tools.sh);
// make test installs them all.
func TestMakeDemoInstallsOnlyTheChain(t *testing.T) {
	t.Parallel()
	demo := makeDryRun(t, "demo")
	if !strings.Contains(demo, "scripts/tools.sh chain") {
		t.Errorf("make demo does not install the chain:\n%s", demo)
	}
	for _, line := range strings.Split(demo, "\n") {
		if strings.TrimSpace(line) == "scripts/tools.sh" || strings.Contains(line, "staticcheck") {
			t.Errorf("make demo installs the tests' tools: %q", line)
		}
	}
	if test := makeDryRun(t, "test"); !strings.Contains(test, "scripts/tools.sh\n") {
		t.Errorf("make test does not install the tests' tools:\n%s", test)
	}
}
