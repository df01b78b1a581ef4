package exportertest

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a running `vrwxctl exporter` binary.
type Process struct {
	// URL is the /metrics URL, as the exporter printed it.
	URL string
	// Base is the server's root (http://host:port).
	Base string

	t    testing.TB
	cmd  *exec.Cmd
	mu   sync.Mutex
	errb bytes.Buffer
	done chan struct{}
	err  error
}

var listening = regexp.MustCompile(`listening on (http://[^ ]+)/metrics`)

// Start runs bin (the vrwxctl binary) with args and exactly env (plus PATH), waits
// until it prints the address it listens on, and kills it when the test ends if it
// is still running. Use "--listen 127.0.0.1:0" in args: the printed address is the
// real one.
func Start(t testing.TB, bin string, env map[string]string, args ...string) *Process {
	t.Helper()
	p := &Process{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.errb.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case base := <-found:
		p.Base, p.URL = base, base+"/metrics"
	case <-p.done:
		t.Fatalf("exporter exited before listening: %v\n%s", p.err, p.Stderr())
	case <-time.After(30 * time.Second):
		t.Fatalf("exporter did not print its address within 30s:\n%s", p.Stderr())
	}
	return p
}

// Stderr is everything the exporter has printed on stderr so far.
func (p *Process) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errb.String()
}

// Signal sends sig to the process.
func (p *Process) Signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal exporter: %v", err)
	}
}

// Wait waits up to d for the process to exit and returns its exit code, failing
// the test when it is still running.
func (p *Process) Wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("exporter still running %s after the signal:\n%s", d, p.Stderr())
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatalf("exporter: %v", p.err)
	}
	return 0
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// WaitStderr waits up to d for the exporter to have printed want on stderr (its
// lines arrive through a pipe, a little after the scrape that caused them).
func (p *Process) WaitStderr(want string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if strings.Contains(p.Stderr(), want) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
