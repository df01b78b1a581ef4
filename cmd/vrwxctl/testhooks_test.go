package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
)

// The crash tests' hook (a variable that makes key rotate SIGKILL itself at a
// checkpoint) is linked only into the tests' build: the binary `make build` makes
// does not know the variable's name. The tests' build does, which shows the
// search would find it.
func TestReleaseBuildHasNoTestHooks(t *testing.T) {
	t.Parallel()
	var build string
	for _, line := range strings.Split(makeDryRun(t, "build"), "\n") {
		if strings.Contains(line, " build ") && strings.Contains(line, "-o bin/vrwxctl ./cmd/vrwxctl") {
			build = line
		}
	}
	if build == "" {
		t.Fatalf("make build runs no go build -o bin/vrwxctl ./cmd/vrwxctl:\n%s", makeDryRun(t, "build"))
	}
	out := filepath.Join(t.TempDir(), "vrwxctl")
	cmd := exec.Command("sh", "-c", strings.Replace(build, "-o bin/vrwxctl", "-o '"+out+"'", 1))
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, b)
	}
	for _, c := range []struct {
		path string
		want bool
	}{{out, false}, {clitest.HookBinary(t), true}} {
		b, err := os.ReadFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(b, []byte(clitest.KillAtEnv)); got != c.want {
			t.Errorf("%s holds %s: %v, want %v", c.path, clitest.KillAtEnv, got, c.want)
		}
	}
}
