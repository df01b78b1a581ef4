// Command devchain leaves a local VRWX chain running for `make devchain` and `make demo`:
// a detached anvil with the test contracts deployed and seeded, and the deployment
// written to <state dir>/deployment.json — by default .devchain/ in the checkout, where
// vrwxctl's `local` profile finds it from any directory of that checkout (elsewhere,
// VRWXCTL_DEPLOYMENT names it). Each checkout has its own chain, port and deployment.
//
//	go run ./scripts/devchain [--port 8545] [--state-dir .devchain] [--deployment-file PATH]
//	go run ./scripts/devchain --stop
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/vrwx/vrwxctl/pkg/config"
	"github.com/vrwx/vrwxctl/pkg/devchain"
)

type options struct {
	port           int
	stateDir       string
	deploymentFile string
	stop           bool
}

func main() {
	var o options
	flag.IntVar(&o.port, "port", 8545, "loopback port for anvil")
	flag.StringVar(&o.stateDir, "state-dir", ".devchain", "where anvil.pid, anvil.log and deployment.json live")
	flag.StringVar(&o.deploymentFile, "deployment-file", "", "also write the deployment here (the state dir's deployment.json is always written)")
	flag.BoolVar(&o.stop, "stop", false, "stop the anvil started from --state-dir and remove its pid file")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "devchain: unexpected argument %q\n", flag.Arg(0))
		flag.Usage()
		os.Exit(2)
	}
	if o.port <= 0 || o.port > 65535 {
		fmt.Fprintf(os.Stderr, "devchain: --port %d: want 1..65535\n", o.port)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	if o.stop {
		err = stop(o)
	} else {
		err = start(ctx, o, os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "devchain: %v\n", err)
		os.Exit(1)
	}
}

func (o options) pidFile() string  { return filepath.Join(o.stateDir, "anvil.pid") }
func (o options) logFile() string  { return filepath.Join(o.stateDir, "anvil.log") }
func (o options) deployed() string { return filepath.Join(o.stateDir, "deployment.json") }

func start(ctx context.Context, o options, out io.Writer) error {
	if err := os.MkdirAll(o.stateDir, 0o700); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	pid, running, err := runningAnvil(o.pidFile())
	if err != nil {
		return err
	}
	if running {
		return reuse(ctx, o, pid, out)
	}
	url := "http://127.0.0.1:" + strconv.Itoa(o.port)
	if portInUse(o.port) {
		return fmt.Errorf("port %d is in use by a process not started from %s; stop it or pick another --port", o.port, o.stateDir)
	}
	logf, err := os.OpenFile(o.logFile(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("open anvil log: %w", err)
	}
	defer logf.Close()
	a, err := devchain.StartAnvil(ctx, devchain.AnvilOptions{
		Port:      o.port,
		StartTime: time.Now().Add(-devchain.DeployHistory),
		Log:       logf,
		Detach:    true,
	})
	if err != nil {
		return fmt.Errorf("start anvil (log in %s): %w", o.logFile(), err)
	}
	if err := writeFile(o.pidFile(), []byte(strconv.Itoa(a.PID())+"\n")); err != nil {
		_ = a.Stop()
		return err
	}
	d, err := devchain.Deploy(ctx, a.URL)
	if err == nil {
		err = saveDeployment(o, d)
	}
	if err != nil {
		_ = a.Stop()
		_ = os.Remove(o.pidFile())
		return fmt.Errorf("deploy to %s (anvil stopped): %w", url, err)
	}
	a.Release()
	fmt.Fprintf(out, "devchain: started anvil (pid %d) at %s, chain id %d\n", a.PID(), a.URL, d.ChainID)
	summary(out, o, d)
	return nil
}

// reuse keeps an anvil this state dir already runs, but only when its deployment is
// still there: a chain without the contracts would give the local profile dead
// addresses.
func reuse(ctx context.Context, o options, pid int, out io.Writer) error {
	raw, err := os.ReadFile(o.deployed())
	if err != nil {
		return fmt.Errorf("anvil (pid %d) is running but %s is unreadable (%v): run `go run ./scripts/devchain --stop`, then start again", pid, o.deployed(), err)
	}
	var d devchain.Deployment
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("anvil (pid %d) is running but %s does not parse (%v): stop it and start again", pid, o.deployed(), err)
	}
	if want := "http://127.0.0.1:" + strconv.Itoa(o.port); d.RPCURL != want {
		return fmt.Errorf("the devchain in %s already runs at %s (pid %d), not %s: stop it first", o.stateDir, d.RPCURL, pid, want)
	}
	if err := checkDeployed(ctx, &d); err != nil {
		return fmt.Errorf("anvil (pid %d) is running but the deployment in %s is not on it (%v): stop it and start again", pid, o.deployed(), err)
	}
	if err := saveDeployment(o, &d); err != nil {
		return err
	}
	fmt.Fprintf(out, "devchain: anvil already running (pid %d) at %s; re-using its deployment\n", pid, d.RPCURL)
	summary(out, o, &d)
	return nil
}

func checkDeployed(ctx context.Context, d *devchain.Deployment) error {
	c, err := ethclient.DialContext(ctx, d.RPCURL)
	if err != nil {
		return err
	}
	defer c.Close()
	id, err := c.ChainID(ctx)
	if err != nil {
		return err
	}
	if id.Uint64() != d.ChainID {
		return fmt.Errorf("chain id %s, deployment says %d", id, d.ChainID)
	}
	code, err := c.CodeAt(ctx, d.Escrow, nil)
	if err != nil {
		return err
	}
	if len(code) == 0 {
		return fmt.Errorf("no code at escrow %s", d.Escrow.Hex())
	}
	return nil
}

func saveDeployment(o options, d *devchain.Deployment) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("encode deployment: %w", err)
	}
	b = append(b, '\n')
	if err := writeFile(o.deployed(), b); err != nil {
		return err
	}
	if o.deploymentFile == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(o.deploymentFile), 0o700); err != nil {
		return fmt.Errorf("create directory of deployment file: %w", err)
	}
	return writeFile(o.deploymentFile, b)
}

// writeFile replaces path atomically with a 0600 file, so a reader never sees half a
// deployment.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func stop(o options) error {
	pid, running, err := runningAnvil(o.pidFile())
	if err != nil {
		return err
	}
	if pid == 0 {
		fmt.Fprintf(os.Stderr, "devchain: no pid file in %s; nothing to stop\n", o.stateDir)
		return nil
	}
	if running {
		// The devchain runs in its own session and process group (pid = group id).
		if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("stop anvil (pid %d): %w", pid, err)
		}
		deadline := time.Now().Add(3 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(pid) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		fmt.Fprintf(os.Stderr, "devchain: stopped anvil (pid %d)\n", pid)
	} else {
		fmt.Fprintf(os.Stderr, "devchain: anvil (pid %d) was not running; removing its pid file\n", pid)
	}
	if err := os.Remove(o.pidFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove pid file: %w", err)
	}
	return nil
}

// runningAnvil reads the pid file. A pid whose process is gone, or now belongs to
// something other than anvil, counts as not running, so a stale file never gets an
// unrelated process killed.
func runningAnvil(pidFile string) (pid int, running bool, err error) {
	raw, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read pid file: %w", err)
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 1 {
		return 0, false, fmt.Errorf("pid file %s holds %q, not a process id: delete it", pidFile, strings.TrimSpace(string(raw)))
	}
	if !alive(pid) {
		return pid, false, nil
	}
	comm, err := exec.Command("ps", "-o", "comm=", "-p", strconv.Itoa(pid)).Output()
	if err != nil || filepath.Base(strings.TrimSpace(string(comm))) != "anvil" {
		return pid, false, nil
	}
	return pid, true, nil
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func portInUse(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// summary prints what a developer needs to point vrwxctl or cast at the chain. No keys:
// the accounts are anvil's dev accounts, whose keys anvil documents.
func summary(out io.Writer, o options, d *devchain.Deployment) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("  rpc url\t%s", d.RPCURL)
	p("  log\t%s", o.logFile())
	if o.deploymentFile != "" {
		p("  deployment\t%s, %s", o.deployed(), o.deploymentFile)
	} else {
		p("  deployment\t%s", o.deployed())
	}
	p("contracts")
	p("  escrow\t%s", d.Escrow.Hex())
	p("  identity\t%s", d.Identity.Hex())
	p("  token (USDC)\t%s", d.Token.Hex())
	p("  pausable escrow\t%s", d.PausableEscrow.Hex())
	p("accounts (anvil dev accounts)")
	p("  admin\t%s\t#%d", d.Admin.Hex(), devchain.AccountAdmin)
	p("  treasury\t%s\t#%d", d.Treasury.Hex(), devchain.AccountTreasury)
	p("  relayer\t%s\t#%d", d.Relayer.Hex(), devchain.AccountRelayer)
	p("  buyer\t%s\t#%d", d.Buyer.Hex(), devchain.AccountBuyer)
	p("robots (%s)", devchain.Tenant)
	for _, name := range sortedKeys(d.Robots) {
		r := d.Robots[name]
		ctl := "not registered"
		if r.Controller != ([20]byte{}) {
			ctl = "controller " + r.Controller.Hex()
		}
		p("  %s\t%s\t%s", name, r.ID.Hex(), ctl)
	}
	p("jobs")
	names := sortedKeys(d.Jobs)
	sort.Slice(names, func(i, j int) bool { return d.Jobs[names[i]] < d.Jobs[names[j]] })
	for _, name := range names {
		p("  %d\t%s", d.Jobs[name], name)
	}
	p("stop with: go run ./scripts/devchain --stop --state-dir %s", o.stateDir)
	w.Flush()
	abs, err := filepath.Abs(o.deployed())
	if err != nil {
		abs = o.deployed()
	}
	if root, ok := strings.CutSuffix(filepath.ToSlash(abs), "/"+config.DevchainDeployment); ok {
		fmt.Fprintf(out, "vrwxctl's local profile finds this chain from any directory under %s; elsewhere:\n", filepath.FromSlash(root))
	} else {
		fmt.Fprintln(out, "vrwxctl's local profile reads this chain with:")
	}
	fmt.Fprintf(out, "  export VRWXCTL_DEPLOYMENT=%s\n", abs)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
