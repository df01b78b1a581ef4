package devchain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
)

// AnvilOptions configures StartAnvil. The zero value starts an automining anvil with
// chain id 31337 on a free loopback port.
type AnvilOptions struct {
	// Port to listen on; 0 picks a free one.
	Port int
	// ChainID to report; 0 means DefaultChainID.
	ChainID uint64
	// NoMining starts anvil with --no-mining: transactions wait in the mempool until
	// Mine or SetAutomine(true), which is how stuck-transaction tests get a stuck
	// transaction.
	NoMining bool
	// BlockTime switches from automine to interval mining.
	BlockTime time.Duration
	// StartTime is the genesis block's timestamp; zero means now. StartT and
	// `make devchain` start DeployHistory in the past so that Deploy's time travel
	// ends at the wall clock.
	StartTime time.Time
	// Log receives anvil's output. Without it the last few KiB are kept in memory and
	// quoted when anvil fails to start.
	Log io.Writer
	// Detach starts anvil in its own session so it outlives this process (for
	// `make devchain`). Log must then be an *os.File or nil.
	Detach bool
	// Args are extra anvil flags, appended last.
	Args []string
	// History makes StartTWith deploy on a fresh anvil rather than load the shared
	// snapshot: a loaded anvil has no state for the blocks before the load, so tests
	// that read balances at past blocks (spend rates, history) need a chain that
	// mined every block itself.
	History bool
}

// BigChainArgs are the anvil flags (AnvilOptions.Args) for a chain of a million jobs
// or a million blocks, as the scale benchmarks build: keep no state per block
// (--prune-history; the latest state still answers every call) and run the Cancun
// rules the test contracts are compiled for. On anvil 1.7's default hardfork every
// mined block costs more than the last (1,000 blocks take seconds, the 5,000th
// thousand minutes), so a million blocks would never be mined.
var BigChainArgs = []string{"--prune-history", "--hardfork", "cancun"}

// Anvil is a running anvil process.
type Anvil struct {
	URL     string
	ChainID uint64
	Port    int

	cmd     *exec.Cmd
	rpc     *rpc.Client
	logFile *os.File // detached anvil's log, for error reports
	done    chan struct{}
	output  *tailBuffer
	stop    sync.Once
}

// startTimeout bounds how long anvil may take to answer eth_chainId after exec.
const startTimeout = 15 * time.Second

// StartAnvil starts anvil on 127.0.0.1 and returns once it answers eth_chainId with the
// expected chain id. The process runs in its own process group; Stop kills the group.
// ctx bounds the start only: cancelling it later does not stop anvil.
func StartAnvil(ctx context.Context, opts AnvilOptions) (*Anvil, error) {
	bin, err := AnvilPath()
	if err != nil {
		return nil, err
	}
	if opts.ChainID == 0 {
		opts.ChainID = DefaultChainID
	}
	if opts.Detach && opts.Log != nil {
		if _, ok := opts.Log.(*os.File); !ok {
			return nil, fmt.Errorf("start anvil: a detached anvil needs an *os.File log, not %T", opts.Log)
		}
	}
	// A port picked by probing can be taken by someone else before anvil binds it; a
	// fresh pick usually succeeds.
	attempts := 1
	if opts.Port == 0 {
		attempts = 3
	}
	var lastErr error
	for range attempts {
		port := opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		a, err := startOnce(ctx, bin, port, opts)
		if err == nil {
			return a, nil
		}
		lastErr = err
		if ctx.Err() != nil || !(errors.Is(err, errExitedEarly) || errors.Is(err, errPortInUse)) {
			break
		}
	}
	return nil, lastErr
}

var (
	errExitedEarly = errors.New("anvil exited before it answered")
	errPortInUse   = errors.New("already in use")
)

func startOnce(ctx context.Context, bin string, port int, opts AnvilOptions) (*Anvil, error) {
	// Another node already on the port would answer the readiness probe in place of
	// ours, which is about to die with "address in use".
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return nil, fmt.Errorf("start anvil: port %d on 127.0.0.1: %w: %v", port, errPortInUse, err)
	}
	l.Close()
	cmd := exec.Command(bin, anvilArgs(port, opts)...)
	out := &tailBuffer{max: 8 << 10}
	switch {
	case opts.Detach:
		cmd.SysProcAttr = detachedAttrs()
		if opts.Log != nil {
			cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
		}
	default:
		cmd.SysProcAttr = childAttrs()
		var w io.Writer = out
		if opts.Log != nil {
			w = io.MultiWriter(out, opts.Log)
		}
		cmd.Stdout, cmd.Stderr = w, w
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start anvil %s: %w", bin, err)
	}
	a := &Anvil{
		URL:     "http://127.0.0.1:" + strconv.Itoa(port),
		logFile: logFileOf(opts),
		ChainID: opts.ChainID,
		Port:    port,
		cmd:     cmd,
		done:    make(chan struct{}),
		output:  out,
	}
	go func() {
		_ = cmd.Wait()
		close(a.done)
	}()
	if err := a.waitReady(ctx); err != nil {
		_ = a.Stop()
		return nil, err
	}
	return a, nil
}

func logFileOf(opts AnvilOptions) *os.File {
	if f, ok := opts.Log.(*os.File); ok && opts.Detach {
		return f
	}
	return nil
}

func anvilArgs(port int, opts AnvilOptions) []string {
	args := []string{
		"--host", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--chain-id", strconv.FormatUint(opts.ChainID, 10),
		// --silent also keeps anvil's start-up banner, which lists the dev keys, out
		// of logs.
		"--silent",
	}
	if opts.NoMining {
		args = append(args, "--no-mining")
	}
	if opts.BlockTime > 0 {
		args = append(args, "--block-time", strconv.FormatFloat(opts.BlockTime.Seconds(), 'f', -1, 64))
	}
	if !opts.StartTime.IsZero() {
		args = append(args, "--timestamp", strconv.FormatInt(opts.StartTime.Unix(), 10))
	}
	return append(args, opts.Args...)
}

func (a *Anvil) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client, err := rpc.DialOptions(ctx, a.URL)
	if err != nil {
		return fmt.Errorf("dial anvil at %s: %w", a.URL, err)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var id hexutil.Uint64
		callCtx, cancelCall := context.WithTimeout(ctx, time.Second)
		err := client.CallContext(callCtx, &id, "eth_chainId")
		cancelCall()
		if err == nil {
			select {
			case <-a.done:
				client.Close()
				return fmt.Errorf("anvil on port %d: %w, yet something answers there: %s", a.Port, errExitedEarly, a.earlyOutput())
			default:
			}
			if uint64(id) != a.ChainID {
				client.Close()
				return fmt.Errorf("anvil at %s reports chain id %d, want %d (is another node on port %d?)", a.URL, id, a.ChainID, a.Port)
			}
			a.rpc = client
			return nil
		}
		select {
		case <-a.done:
			client.Close()
			return fmt.Errorf("anvil on port %d: %w: %s", a.Port, errExitedEarly, a.earlyOutput())
		case <-ctx.Done():
			client.Close()
			return fmt.Errorf("anvil at %s did not answer eth_chainId: %w (last error: %v)", a.URL, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// earlyOutput is what anvil said before it died: the in-memory tail, or for a
// detached anvil the end of its log file.
func (a *Anvil) earlyOutput() string {
	if a.logFile == nil {
		return a.output.String()
	}
	b, err := os.ReadFile(a.logFile.Name())
	if err != nil {
		return fmt.Sprintf("(see %s)", a.logFile.Name())
	}
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return "(no output)"
}

// PID is the anvil process id.
func (a *Anvil) PID() int { return a.cmd.Process.Pid }

// Stop kills anvil and its process group and waits for it to exit. It is safe to call
// more than once.
func (a *Anvil) Stop() error {
	var err error
	a.stop.Do(func() {
		if a.rpc != nil {
			a.rpc.Close()
		}
		select {
		case <-a.done:
			return
		default:
		}
		// anvil flushes nothing we need, so there is no reason to wait for a graceful
		// shutdown after SIGTERM for long.
		_ = signalGroup(a.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-a.done:
			return
		case <-time.After(2 * time.Second):
		}
		err = signalGroup(a.cmd.Process.Pid, syscall.SIGKILL)
		<-a.done
	})
	return err
}

// Release forgets a detached anvil without stopping it, so it keeps running after this
// process exits.
func (a *Anvil) Release() {
	a.stop.Do(func() {
		if a.rpc != nil {
			a.rpc.Close()
		}
	})
}

// RPC makes a raw JSON-RPC call, for anvil's own methods (anvil_*, evm_*).
func (a *Anvil) RPC(ctx context.Context, result any, method string, args ...any) error {
	if err := a.rpc.CallContext(ctx, result, method, args...); err != nil {
		return fmt.Errorf("anvil %s: %w", method, err)
	}
	return nil
}

// Mine mines one block.
func (a *Anvil) Mine(ctx context.Context) error { return Mine(ctx, a.URL) }

// IncreaseTime moves the chain clock forward by seconds and mines a block, so the next
// eth_call already sees the new block.timestamp.
func (a *Anvil) IncreaseTime(ctx context.Context, seconds int64) error {
	return IncreaseTime(ctx, a.URL, seconds)
}

// SetAutomine turns mining on every transaction on or off; off leaves transactions
// pending until Mine.
func (a *Anvil) SetAutomine(ctx context.Context, on bool) error {
	return a.RPC(ctx, nil, "evm_setAutomine", on)
}

// Mine mines one block on the anvil at rpcURL.
func Mine(ctx context.Context, rpcURL string) error {
	return rawCall(ctx, rpcURL, nil, "evm_mine")
}

// IncreaseTime moves the clock of the anvil at rpcURL forward and mines a block.
func IncreaseTime(ctx context.Context, rpcURL string, seconds int64) error {
	if seconds < 0 {
		return fmt.Errorf("increase anvil time by %d s: time only moves forward", seconds)
	}
	if err := rawCall(ctx, rpcURL, nil, "evm_increaseTime", seconds); err != nil {
		return err
	}
	return rawCall(ctx, rpcURL, nil, "evm_mine")
}

func rawCall(ctx context.Context, rpcURL string, result any, method string, args ...any) error {
	c, err := rpc.DialContext(ctx, rpcURL)
	if err != nil {
		return fmt.Errorf("dial %s: %w", rpcURL, err)
	}
	defer c.Close()
	if err := c.CallContext(ctx, result, method, args...); err != nil {
		return fmt.Errorf("%s on %s: %w", method, rpcURL, err)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return "(no output)"
	}
	return s
}
