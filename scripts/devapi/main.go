// Command devapi is a development stand-in for the VRWX API, for `make demo` and for
// trying vrwxctl's status, health and key rotate on the local chain: it serves GET
// /health exactly as the spec says (spec/VRWX.md "The API": status "ok", relayMode
// "relay", the relayer's checksummed address, the chain id) and nothing else.
//
//	go run ./scripts/devapi --signer env://RELAYER_PRIVATE_KEY [--port 3000 | --addr HOST:PORT]
//	    [--chain-id 31337] [--pid-file PATH]
//
// --signer is any vrwxctl signer reference (file://…, env://VAR, keystore://…,
// aws-sm://…, vault://…), resolved through pkg/secrets as the CLI resolves it. Like
// the real API, devapi loads its key when it starts; SIGHUP loads the reference's
// current key again — its "kubectl rollout restart", so `vrwxctl key rotate
// --deploy-cmd 'kill -HUP PID'` restarts it onto the promoted key. Only the key's
// address is kept, used and printed; never the key. SIGINT or SIGTERM stop it.
//
// The pid file is written once the port listens (so a script can wait for it) and
// removed on exit. Exit codes are vrwxctl's: 0 stopped by a signal, 1 failed (the
// store cannot be read at start, the port is taken), 2 bad flags or a stored value
// that is not a key.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/health/healthsrv"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

// defaultPort is where the local profile's api_url points (http://127.0.0.1:3000).
const defaultPort = 3000

type options struct {
	addr    string
	chainID uint64
	signer  secrets.Ref
	pidFile string
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "devapi: %v\n", err)
		}
		os.Exit(int(errs.Usage))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	opts := secrets.Options{LookupEnv: os.LookupEnv}
	if err := run(ctx, o, opts, hup, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "devapi: %v\n", err)
		if fix := errs.FixOf(err); fix != "" {
			fmt.Fprintf(os.Stderr, "  fix: %s\n", fix)
		}
		os.Exit(int(errs.KindOf(err)))
	}
}

// parseFlags reads the command line. Errors name the bad value and the expected
// form; a --signer that is not a reference is never echoed (it may be a key).
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var (
		o       options
		addr    string
		port    int
		chainID uint64
		signer  string
	)
	fs := flag.NewFlagSet("devapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&addr, "addr", "", "listen address HOST:PORT (default 127.0.0.1:3000, the local profile's api_url)")
	fs.IntVar(&port, "port", 0, "listen on 127.0.0.1:PORT (instead of --addr)")
	fs.Uint64Var(&chainID, "chain-id", 31337, "chainId that /health reports")
	fs.StringVar(&signer, "signer", "", "signer reference of the relayer key, e.g. env://RELAYER_PRIVATE_KEY or file:///path/relayer.hex (only its address is used)")
	fs.StringVar(&o.pidFile, "pid-file", "", "write the process id here once listening; removed on exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (devapi takes flags only)", fs.Arg(0))
	}
	portSet, addrSet := false, false
	fs.Visit(func(f *flag.Flag) {
		portSet = portSet || f.Name == "port"
		addrSet = addrSet || f.Name == "addr"
	})
	switch {
	case portSet && addrSet:
		return o, errors.New("both --port and --addr given (choose one)")
	case portSet:
		if port < 1 || port > 65535 {
			return o, fmt.Errorf("--port %d: expected 1..65535", port)
		}
		o.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	case addrSet:
		if _, p, err := net.SplitHostPort(addr); err != nil || p == "" {
			return o, fmt.Errorf("--addr %q: expected HOST:PORT, e.g. 127.0.0.1:3000", addr)
		}
		o.addr = addr
	default:
		o.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(defaultPort))
	}
	if chainID == 0 {
		return o, errors.New("--chain-id 0: expected a chain id such as 31337 (local) or 8453 (Base)")
	}
	o.chainID = chainID
	if signer == "" {
		return o, errors.New("--signer is required: the relayer key's reference, e.g. env://RELAYER_PRIVATE_KEY or file:///path/relayer.hex")
	}
	r, err := secrets.ParseRef(signer)
	if err != nil {
		return o, fmt.Errorf("--signer: %w", err)
	}
	o.signer = r
	return o, nil
}

// relayer is the address of the key the API loaded last.
type relayer struct {
	mu   sync.Mutex
	addr common.Address
}

func (r *relayer) get() (common.Address, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addr, nil
}

func (r *relayer) set(a common.Address) (old common.Address) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, r.addr = r.addr, a
	return old
}

// run loads the key's address, serves /health until ctx ends, and reloads the
// address on every value from hup. Progress goes to out: addresses and the
// reference, never a key.
func run(ctx context.Context, o options, sopts secrets.Options, hup <-chan os.Signal, out io.Writer) error {
	ref := o.signer.String()
	load := func() (common.Address, error) {
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		k, err := secrets.ReadKey(lctx, ref, sopts)
		if err != nil {
			return common.Address{}, fmt.Errorf("load the relayer key of %s: %w", ref, err)
		}
		return k.Address(), nil
	}
	addr, err := load()
	if err != nil {
		return err
	}
	rel := &relayer{addr: addr}

	l, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	opts := healthsrv.Options{ChainID: o.chainID, Relayer: rel.get}
	srv := &http.Server{
		Handler:           healthsrv.Handler(func() healthsrv.Options { return opts }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	if o.pidFile != "" {
		if err := writePID(o.pidFile); err != nil {
			_ = srv.Close()
			return err
		}
		defer removePID(o.pidFile)
	}
	fmt.Fprintf(out, "devapi: serving http://%s/health (pid %d): chain %d, relaying from %s (%s)\n",
		l.Addr(), os.Getpid(), o.chainID, addr.Hex(), ref)

	for {
		select {
		case <-ctx.Done():
			shutdown(srv)
			fmt.Fprintln(out, "devapi: stopped")
			return nil
		case err := <-served:
			return fmt.Errorf("serve on %s: %w", o.addr, err)
		case <-hup:
			// A restart that cannot load its key keeps the old instance serving, as a
			// rollout whose new pod never gets ready does.
			next, err := load()
			if err != nil {
				fmt.Fprintf(out, "devapi: SIGHUP: %v; still relaying from %s\n", err, rel.addrHex())
				continue
			}
			old := rel.set(next)
			fmt.Fprintf(out, "devapi: SIGHUP: reloaded %s: relaying from %s (was %s)\n", ref, next.Hex(), old.Hex())
		}
	}
}

// shutdown lets requests in flight finish, for at most a few seconds.
func shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
	}
}

func (r *relayer) addrHex() string {
	a, _ := r.get()
	return a.Hex()
}

// writePID writes the process id atomically (a reader never sees half of it).
func writePID(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write pid file %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write pid file %s: %w", path, err)
	}
	return nil
}

// removePID removes the pid file only while it still names this process, so a
// newer devapi's file is left alone.
func removePID(path string) {
	raw, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(raw)) == strconv.Itoa(os.Getpid()) {
		_ = os.Remove(path)
	}
}
