// Package clitest runs vrwxctl the way an operator does — against a real anvil chain
// with the VRWX test contracts, in-process or as the built binary — and records every
// byte it prints and every file it writes, so Main can prove no private key leaked.
package clitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/cli"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// Env is one operator's environment: variables, config and state directories, and
// optionally a chain.
type Env struct {
	T     testing.TB
	Anvil *devchain.Anvil
	D     *devchain.Deployment
	// Vars is the environment vrwxctl sees (not the test process's).
	Vars map[string]string
	// Dir holds config and state (audit logs, journals); it is scanned for keys.
	Dir string
	// SecretDir holds key stores a test writes on purpose; it is not scanned.
	SecretDir string
	// Stdin is fed to the next runs.
	Stdin string
	// Now is the clock in-process runs see (time.Now when nil).
	Now func() time.Time
	// TestHooks makes Exec and Start run the build with the test hooks
	// (HookBinary) instead of the release build (Binary).
	TestHooks bool
}

// KillAtEnv names a rotation checkpoint at which a HookBinary process SIGKILLs
// itself (pkg/cli/key's killat_testhooks.go); the release build ignores it.
const KillAtEnv = "VRWXCTL_ROTATE_KILL_AT"

// TestHooksTag is the build tag that links the test hooks into vrwxctl.
const TestHooksTag = "vrwxctl_testhooks"

// New returns an environment with no chain: XDG directories in a temp dir.
func New(t testing.TB) *Env {
	t.Helper()
	dir := t.TempDir()
	e := &Env{T: t, Dir: dir, SecretDir: t.TempDir(), Vars: map[string]string{}}
	e.Vars["XDG_CONFIG_HOME"] = filepath.Join(dir, "config")
	e.Vars["XDG_STATE_HOME"] = filepath.Join(dir, "state")
	e.Vars["HOME"] = filepath.Join(dir, "home")
	// Named (and absent), so the local profile never reads the .devchain/deployment.json
	// that `make devchain` may have left in the checkout the tests run in.
	e.Vars["VRWXCTL_DEPLOYMENT"] = filepath.Join(dir, "no-local-deployment.json")
	// vrwxctl reads the environment only through the Factory's LookupEnv, so Vars
	// is all it sees and tests with different Vars can run in parallel.
	for _, k := range []string{"XDG_CONFIG_HOME", "XDG_STATE_HOME"} {
		if err := os.MkdirAll(e.Vars[k], 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Cleanups run last-in first-out: this scan runs before TempDir removes dir.
	t.Cleanup(func() { scanDir(dir) })
	return e
}

// NewChain returns an environment whose local profile points at a fresh anvil with
// the test contracts deployed and seeded (RPC_URL set, addresses deterministic).
func NewChain(t testing.TB) *Env {
	t.Helper()
	return NewChainWith(t, devchain.AnvilOptions{})
}

// NewChainWith is NewChain with anvil options (for example NoMining).
func NewChainWith(t testing.TB, opts devchain.AnvilOptions) *Env {
	t.Helper()
	e := New(t)
	e.Anvil, e.D = devchain.StartTWith(t, opts)
	e.Vars["RPC_URL"] = e.Anvil.URL
	return e
}

// Machine is another operator's machine on the same chain: the same variables
// (keys, RPC URL, profile), its own config and state directories — no audit log,
// send lock or rotation journal in common with e, as on a second laptop or a fresh
// CI runner.
func (e *Env) Machine() *Env {
	e.T.Helper()
	m := New(e.T)
	m.Anvil, m.D, m.Now, m.TestHooks = e.Anvil, e.D, e.Now, e.TestHooks
	for k, v := range e.Vars {
		switch k {
		case "XDG_CONFIG_HOME", "XDG_STATE_HOME", "HOME", "VRWXCTL_DEPLOYMENT":
		default:
			m.Vars[k] = v
		}
	}
	return m
}

// NewOPStackChain is NewChain on an OP-stack anvil that charges Base-like L1 data
// fees (devchain.StartOPStackT), with Base-like fee caps: a 0.001 gwei priority fee.
func NewOPStackChain(t testing.TB) *Env {
	t.Helper()
	e := New(t)
	e.Anvil, e.D = devchain.StartOPStackT(t)
	e.Vars["RPC_URL"] = e.Anvil.URL
	e.Vars["MAX_PRIORITY_FEE_GWEI"] = "0.001"
	return e
}

// Result is what one run printed and how it ended.
type Result struct {
	Args   []string
	Stdout string
	Stderr string
	Code   int
}

func (r Result) String() string {
	return fmt.Sprintf("vrwxctl %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(r.Args, " "), r.Code, r.Stdout, r.Stderr)
}

// JSON decodes stdout into v, failing the test when it is not JSON.
func (r Result) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Stdout), v); err != nil {
		t.Fatalf("stdout is not JSON (%v):\n%s", err, r)
	}
}

// Run runs vrwxctl in-process with args, as if typed at a non-terminal shell.
func (e *Env) Run(args ...string) Result {
	e.T.Helper()
	return e.RunContext(context.Background(), nil, args...)
}

// SyncBuffer is a buffer one goroutine writes while another reads it: a long-running
// command's stdout watched by its test.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// RunContext is Run until ctx ends (Ctrl-C for a command that runs until
// interrupted), its stdout also copied to live as it is written when live is set.
// With ctx already cancelled, every command stops at its first network request
// (nothing is sent), which is how the whole-tree tests run thousands of cases
// without a chain.
func (e *Env) RunContext(ctx context.Context, live *SyncBuffer, args ...string) Result {
	e.T.Helper()
	var out, errOut bytes.Buffer
	var stdout io.Writer = &out
	if live != nil {
		stdout = io.MultiWriter(&out, live)
	}
	io := ui.Test(strings.NewReader(e.Stdin), stdout, &errOut)
	now := e.Now
	if now == nil {
		now = time.Now
	}
	f := &cmdutil.Factory{IO: io, Globals: &cmdutil.Globals{}, Now: now,
		LookupEnv: func(k string) (string, bool) { v, ok := e.Vars[k]; return v, ok },
		Environ: func() []string {
			env := []string{"PATH=" + os.Getenv("PATH")}
			for k, v := range e.Vars {
				env = append(env, k+"="+v)
			}
			return env
		}}
	code := cli.Run(ctx, f, args)
	r := Result{Args: args, Stdout: out.String(), Stderr: errOut.String(), Code: code}
	record(r)
	return r
}

// MustRun is Run that fails the test unless the exit code is want.
func (e *Env) MustRun(want int, args ...string) Result {
	e.T.Helper()
	r := e.Run(args...)
	if r.Code != want {
		e.T.Fatalf("want exit %d, got:\n%s", want, r)
	}
	return r
}

// build is one vrwxctl build, made once per test process.
type build struct {
	once sync.Once
	path string
	err  error
}

var release, hooks build

// The builds of this test process are in one directory, binDir, named after the
// process (binPrefix and its pid): Main removes it when the tests end, and a later
// test process removes the directory of one that died first (killed, timed out).
const binPrefix = "vrwxctl-bin-"

var (
	binDirOnce sync.Once
	binDir     string
	binDirErr  error
	binMu      sync.Mutex
)

// buildDir is the directory this process's builds go in, made at the first build;
// the directories of test processes that are no longer running are removed then.
func buildDir() (string, error) {
	binDirOnce.Do(func() {
		removeDeadBuilds()
		binMu.Lock()
		defer binMu.Unlock()
		binDir, binDirErr = os.MkdirTemp("", fmt.Sprintf("%s%d-", binPrefix, os.Getpid()))
	})
	return binDir, binDirErr
}

// RemoveBuilds removes the binaries this test process built (Binary, HookBinary).
// Main calls it after the tests; a package whose TestMain is its own calls it too.
func RemoveBuilds() {
	binMu.Lock()
	defer binMu.Unlock()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
}

// removeDeadBuilds removes the build directories (binPrefix, a pid, a random
// suffix) of test processes that are no longer running: a process that was killed
// or timed out never reached Main's clean-up. A directory with no pid in its name
// (an older clitest's) is left alone, since the process using it cannot be told.
func removeDeadBuilds() {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return
	}
	for _, de := range entries {
		rest, ok := strings.CutPrefix(de.Name(), binPrefix)
		if !ok || !de.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(filepath.Join(os.TempDir(), de.Name()))
		}
	}
}

// Binary builds vrwxctl once per test process, as a release is built (no test
// hooks), and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	return release.get(t)
}

// HookBinary is Binary built with the test hooks (the TestHooksTag build tag):
// KillAtEnv works in it.
func HookBinary(t testing.TB) string {
	t.Helper()
	return hooks.get(t, "-tags", TestHooksTag)
}

// get builds through `go run -exec cp`, not `go build`: go run keeps the
// executables it links in the build cache, so the packages that run the binary (and
// every later test run with unchanged sources) share one link instead of each
// linking their own. -exec hands the cached executable to cp, which copies it here.
func (b *build) get(t testing.TB, flags ...string) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := buildDir()
		if err != nil {
			b.err = err
			return
		}
		if len(flags) > 0 {
			// Each build is named vrwxctl, as a release is; a tagged one in its
			// own subdirectory.
			dir = filepath.Join(dir, "tagged")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				b.err = err
				return
			}
		}
		b.path = filepath.Join(dir, "vrwxctl")
		root, err := devchain.RepoRoot()
		if err != nil {
			b.err = err
			return
		}
		args := append(append([]string{"run"}, flags...), "-exec", "cp", "./cmd/vrwxctl", b.path)
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("build vrwxctl (go %s): %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		if _, err := os.Stat(b.path); err != nil {
			b.err = fmt.Errorf("build vrwxctl: no binary at %s after go run -exec cp: %w", b.path, err)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Exec runs the built binary as a separate process with e.Vars as its whole
// environment (plus PATH), so argv, exit codes and stdio are the real ones.
func (e *Env) Exec(args ...string) Result {
	e.T.Helper()
	p := e.Start(args...)
	return p.Wait()
}

// Proc is the built binary running as a separate process.
type Proc struct {
	Cmd         *exec.Cmd
	args        []string
	t           testing.TB
	out, errOut SyncBuffer
}

// WaitStderr waits until the process has written want on stderr (a test signals it
// once it is inside a wait), failing the test after timeout.
func (p *Proc) WaitStderr(want string, timeout time.Duration) {
	p.t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(p.errOut.String(), want) {
			return
		}
	}
	p.t.Fatalf("vrwxctl %s did not print %q within %s; stderr so far:\n%s", strings.Join(p.args, " "), want, timeout, p.errOut.String())
}

// Start starts the built binary like Exec and returns without waiting, so a test
// can run several at once or signal one.
func (e *Env) Start(args ...string) *Proc {
	e.T.Helper()
	bin := Binary(e.T)
	if e.TestHooks {
		bin = HookBinary(e.T)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range e.Vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(e.Stdin)
	p := &Proc{Cmd: cmd, args: args, t: e.T}
	cmd.Stdout, cmd.Stderr = &p.out, &p.errOut
	if err := cmd.Start(); err != nil {
		e.T.Fatalf("start vrwxctl: %v", err)
	}
	return p
}

// Wait waits for the process and records what it printed (a killed process exits
// with code -1).
func (p *Proc) Wait() Result {
	p.t.Helper()
	err := p.Cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("run vrwxctl: %v", err)
	}
	r := Result{Args: p.args, Stdout: p.out.String(), Stderr: p.errOut.String(), Code: code}
	record(r)
	return r
}

// WriteConfig writes the config file the environment's vrwxctl reads by default.
func (e *Env) WriteConfig(body string) string {
	e.T.Helper()
	p := filepath.Join(e.Vars["XDG_CONFIG_HOME"], "vrwxctl", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		e.T.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		e.T.Fatal(err)
	}
	return p
}

// KeyFile writes hex key material to a file in SecretDir with the given mode and
// returns a file:// reference to it.
func (e *Env) KeyFile(name, content string, mode os.FileMode) string {
	e.T.Helper()
	p := filepath.Join(e.SecretDir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		e.T.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		e.T.Fatal(err)
	}
	return "file://" + p
}
