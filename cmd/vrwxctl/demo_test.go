package main_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/cli/clitest"
	"github.com/vrwx/vrwxctl/pkg/devchain"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

// demoStep is one `$ vrwxctl …` of the tour: its command line, what it printed and
// its exit code.
type demoStep struct {
	cmdline string
	output  string
	exit    int
}

var (
	ansi      = regexp.MustCompile("\x1b\\[[0-9;]*m")
	stepHead  = regexp.MustCompile(`(?m)^\$ vrwxctl (.*)$`)
	stepExit  = regexp.MustCompile(`(?m)^\(exit (\d+)\)$`)
	apiOnPort = regexp.MustCompile(`stand-in for the VRWX API on 127\.0\.0\.1:(\d+)`)
)

// demoSteps splits the tour's output into its vrwxctl steps, in order.
func demoSteps(t *testing.T, out string) []demoStep {
	t.Helper()
	var steps []demoStep
	heads := stepHead.FindAllStringSubmatchIndex(out, -1)
	for i, h := range heads {
		end := len(out)
		if i+1 < len(heads) {
			end = heads[i+1][0]
		}
		body := out[h[1]:end]
		m := stepExit.FindStringSubmatchIndex(body)
		if m == nil {
			t.Errorf("demo step %q shows no exit code", out[h[2]:h[3]])
			continue
		}
		code, _ := strconv.Atoi(body[m[2]:m[3]])
		steps = append(steps, demoStep{cmdline: out[h[2]:h[3]], output: body[:m[0]], exit: code})
	}
	return steps
}

// The tour `make demo` runs (scripts/demo.sh) passes from start to end with the
// binary under test: a local chain and the API stand-in (scripts/devapi), status
// green because the API relays from the profile's relayer, and one `key rotate` of a
// 0600 key file whose end state is checked here from the files the tour leaves: the
// store's current key is a new one, the API reported it after its SIGHUP restart,
// the old relayer ended at exactly 0 wei and the new one holds the local profile's
// rotation_fund_eth (0.5 ETH). The chain and the API are stopped afterwards, and no
// key — anvil's, or the two the tour generated — appears in anything printed.
func TestDemoScript(t *testing.T) {
	t.Parallel()
	devchain.RequireAnvil(t)
	bin := clitest.Binary(t)
	root, err := devchain.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "demo.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "VRWXCTL_DEMO_BIN="+bin, "VRWXCTL_DEMO_STATE="+state)
	// One stream, as a terminal shows it: vrwxctl's progress (stderr) in between
	// its results (stdout).
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	runErr := cmd.Run()
	out := ansi.ReplaceAllString(output.String(), "")
	clitest.Record("bash scripts/demo.sh", out, cmd.ProcessState.ExitCode())
	if runErr != nil {
		t.Fatalf("scripts/demo.sh: %v\n%s", runErr, out)
	}
	for _, problem := range []string{"demo: expected exit", "demo: end state", "did not exit as expected"} {
		if strings.Contains(out, problem) {
			t.Errorf("the demo reported %q:\n%s", problem, out)
		}
	}

	// The keys the tour's rotation left in its store: the new one current, the
	// old one its previous version. They are secrets like anvil's.
	keys := filepath.Join(state, "keys", "relayer.hex")
	newAddr := keyAddress(t, "file://"+keys)
	oldAddr := keyAddress(t, "file://"+keys+"?stage=previous")
	if newAddr == oldAddr {
		t.Fatalf("the store's current and previous keys are both %s", newAddr)
	}
	for _, p := range []string{keys, keys + ".previous"} {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		clitest.Secret(strings.TrimSpace(string(raw)))
	}
	recordFiles(t, filepath.Join(state, "state"), filepath.Join(state, "config"), filepath.Join(state, "devapi.log"))

	steps := demoSteps(t, out)
	wantExit := map[string]int{
		"status": 0,
		"health --expect-signer env://RELAYER_PRIVATE_KEY":                                                     0,
		"key rotate --store file://" + keys + " --treasury-signer env://TREASURY_KEY --deploy-cmd 'kill -HUP ": 0,
		"health --expect-signer file://" + keys:                                                                0,
		"wallet balance " + oldAddr.Hex():                                                                      0,
		"wallet balance " + newAddr.Hex():                                                                      0,
		"status --signer file://" + keys:                                                                       0,
		"wallet balance 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293Bc":                                            2,
	}
	got := map[string]demoStep{}
	for want, code := range wantExit {
		s, ok := findStep(steps, want)
		if !ok {
			t.Errorf("the demo has no step `vrwxctl %s…`", want)
			continue
		}
		if s.exit != code {
			t.Errorf("`vrwxctl %s…` exited %d, want %d:\n%s", want, s.exit, code, s.output)
		}
		got[want] = s
	}
	var statuses []demoStep
	for _, s := range steps {
		want := 0
		switch {
		case strings.HasPrefix(s.cmdline, "wallet balance 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293Bc"):
			want = 2
		case s.cmdline == "status":
			statuses = append(statuses, s)
			if len(statuses) == 2 {
				want = 5
			}
		}
		if s.exit != want {
			t.Errorf("`vrwxctl %s` exited %d, want %d:\n%s", s.cmdline, s.exit, want, s.output)
		}
	}
	// After the tour a plain status (the profile names the relayer the rotation
	// retired) checks the store's current key and says which setting is stale; with
	// that setting it is green.
	if len(statuses) != 3 {
		t.Errorf("the demo runs a plain status %d times, want 3 (before the rotation, after it, with VRWX_SIGNER)", len(statuses))
	} else {
		after := statuses[1].output
		for _, want := range []string{"STATUS " + newAddr.Hex(), "profile relayer", "signer: file://" + keys, "VRWX_SIGNER=file://" + keys, "relayerAddress  " + newAddr.Hex()} {
			if !strings.Contains(after, want) {
				t.Errorf("the plain status after the rotation does not show %q:\n%s", want, after)
			}
		}
		if strings.Contains(after, "rollout restart") || strings.Contains(after, "CRITICAL") {
			t.Errorf("the plain status after the rotation blames the API:\n%s", after)
		}
	}
	if len(steps) < 20 {
		t.Errorf("the demo ran %d vrwxctl steps; the tour has more than 20", len(steps))
	}

	expect := func(step, text string) {
		t.Helper()
		if s, ok := got[step]; ok && !strings.Contains(s.output, text) {
			t.Errorf("`vrwxctl %s…` does not show %q:\n%s", step, text, s.output)
		}
	}
	if len(statuses) > 0 && !strings.Contains(statuses[0].output, "relayerAddress  0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC") {
		t.Errorf("the first status does not show the API relaying from the profile's relayer:\n%s", statuses[0].output)
	}
	rotate := "key rotate --store file://" + keys + " --treasury-signer env://TREASURY_KEY --deploy-cmd 'kill -HUP "
	expect(rotate, "reports relayerAddress "+newAddr.Hex())
	expect(rotate, "sent 0.5 ETH to "+newAddr.Hex())
	expect(rotate, "0 wei left (expected 0)")
	expect("health --expect-signer file://"+keys, "relayerAddress   "+newAddr.Hex())
	expect("wallet balance "+oldAddr.Hex(), oldAddr.Hex()+"  0 ETH  (0 wei)")
	expect("wallet balance "+newAddr.Hex(), newAddr.Hex()+"  0.5 ETH  (500000000000000000 wei)")
	expect("status --signer file://"+keys, "current key  "+newAddr.Hex())
	if !strings.Contains(out, "demo: rotated: the store's current key is "+newAddr.Hex()) {
		t.Errorf("the demo does not state the rotation's end state:\n%s", out)
	}

	// The API stand-in restarted onto the new key on the deploy command's SIGHUP.
	apiLog, err := os.ReadFile(filepath.Join(state, "devapi.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(apiLog), "SIGHUP: reloaded file://"+keys+": relaying from "+newAddr.Hex()+" (was "+oldAddr.Hex()+")") {
		t.Errorf("devapi.log shows no reload onto the new key:\n%s", apiLog)
	}

	// Everything the tour started is stopped.
	for _, pidFile := range []string{"anvil.pid", "devapi.pid"} {
		if _, err := os.Stat(filepath.Join(state, pidFile)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left behind after the demo (%v)", pidFile, err)
		}
	}
	if m := apiOnPort.FindStringSubmatch(out); m == nil {
		t.Error("the demo does not say where the API stand-in listens")
	} else if c, err := net.DialTimeout("tcp", "127.0.0.1:"+m[1], time.Second); err == nil {
		c.Close()
		t.Errorf("the API stand-in still listens on port %s after the demo", m[1])
	}
}

// findStep finds the last step whose command line is prefix, or starts with it
// when it ends in a space.
func findStep(steps []demoStep, prefix string) (demoStep, bool) {
	for i := len(steps) - 1; i >= 0; i-- {
		s := steps[i]
		if s.cmdline == prefix || strings.HasPrefix(s.cmdline, prefix) && strings.HasSuffix(prefix, " ") {
			return s, true
		}
	}
	return demoStep{}, false
}

func keyAddress(t *testing.T, ref string) common.Address {
	t.Helper()
	k, err := secrets.ReadKey(context.Background(), ref, secrets.Options{})
	if err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	return k.Address()
}

// recordFiles hands every file under paths to clitest's key scan.
func recordFiles(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			clitest.Record(path, string(b), 0)
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
}
