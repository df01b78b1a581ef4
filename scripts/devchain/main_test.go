package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

// The vrwxctl this package builds (clitest.Binary) is removed when its tests end.
func TestMain(m *testing.M) {
	code := m.Run()
	clitest.RemoveBuilds()
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// vrwxctl runs the built binary in dir with a clean environment: no
// VRWXCTL_DEPLOYMENT, its own config and state directories.
func vrwxctl(t *testing.T, dir, home string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(clitest.Binary(t), args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"), "XDG_STATE_HOME=" + filepath.Join(home, "state")}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// `make devchain PORT=…` in a checkout: the chain listens on that port, its
// deployment lands in the checkout's .devchain/, vrwxctl's local profile finds it
// from a subdirectory of the checkout (no per-user file, no variable), and after the
// stop the same command says the local chain is not running and how to start it.
func TestDevchainInTheCheckoutOnTheChosenPort(t *testing.T) {
	t.Parallel()
	devchain.RequireAnvil(t)
	checkout := t.TempDir()
	sub := filepath.Join(checkout, "pkg", "cli")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	o := options{port: freePort(t), stateDir: filepath.Join(checkout, ".devchain")}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := start(ctx, o, &out); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(o) })
	url := "http://127.0.0.1:" + strconv.Itoa(o.port)
	if !strings.Contains(out.String(), url) || !strings.Contains(out.String(), "export VRWXCTL_DEPLOYMENT="+filepath.Join(checkout, ".devchain", "deployment.json")) ||
		!strings.Contains(out.String(), "from any directory under "+checkout) {
		t.Errorf("start output:\n%s", out.String())
	}
	raw, err := os.ReadFile(filepath.Join(checkout, ".devchain", "deployment.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d devchain.Deployment
	if err := json.Unmarshal(raw, &d); err != nil || d.RPCURL != url {
		t.Fatalf("deployment %s: %v", raw, err)
	}
	if _, err := os.Stat(filepath.Join(home, "state", "vrwxctl", "deployments")); !os.IsNotExist(err) {
		t.Errorf("a per-user deployment file was written (%v)", err)
	}

	stdout, stderr, code := vrwxctl(t, sub, home, "job", "get", "9", "-o", "json")
	var got struct {
		ChainID uint64 `json:"chainId"`
		Escrow  string `json:"escrow"`
		Job     struct {
			Status string `json:"status"`
		} `json:"job"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &got) != nil || got.Escrow != d.Escrow.Hex() || got.Job.Status == "" {
		t.Fatalf("job get from inside the checkout (exit %d):\n%s\n%s", code, stdout, stderr)
	}
	stdout, _, _ = vrwxctl(t, sub, home, "config", "view")
	if !strings.Contains(stdout, url) || !strings.Contains(stdout, filepath.Join(checkout, ".devchain", "deployment.json")) {
		t.Errorf("config view does not show the checkout's deployment:\n%s", stdout)
	}

	if err := stop(o); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = vrwxctl(t, sub, home, "job", "get", "9")
	if code != 1 || !strings.Contains(stderr, "the local chain is not running: nothing listens at "+url) || !strings.Contains(stderr, "make devchain") {
		t.Fatalf("after the stop (exit %d):\n%s", code, stderr)
	}
	// Another network's dead endpoint is not "the local chain".
	_, stderr, code = vrwxctl(t, sub, home, "wallet", "balance", d.Treasury.Hex(), "--profile", "base-sepolia", "--rpc-url", url)
	if code != 1 || strings.Contains(stderr, "local chain") || !strings.Contains(stderr, "no RPC endpoint answered") {
		t.Errorf("base-sepolia with a dead RPC (exit %d):\n%s", code, stderr)
	}
}
