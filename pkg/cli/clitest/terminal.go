package clitest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// Term is the built binary running on a real pseudo-terminal of a given size, as in
// an operator's terminal window: stdin, stdout and stderr are the terminal, so
// vrwxctl sees a TTY (colour, width, prompts, the pager) exactly as it would there.
// What it draws is read back from the terminal's other end.
type Term struct {
	t    testing.TB
	cmd  *exec.Cmd
	pty  *os.File
	args []string

	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	code int
}

// termWait bounds how long a test waits for text to appear on the terminal. It is a
// guard against a hang, not a speed test: generous, so a loaded machine passes.
const termWait = 2 * time.Minute

// Terminal starts the built binary with args on a cols×rows pseudo-terminal, with
// e.Vars as its environment plus TERM (and PATH, for the pager).
func (e *Env) Terminal(cols, rows int, args ...string) *Term {
	e.T.Helper()
	cmd := exec.Command(Binary(e.T), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TERM=xterm-256color"}
	for k, v := range e.Vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if err != nil {
		e.T.Fatalf("start vrwxctl on a pseudo-terminal: %v", err)
	}
	tm := &Term{t: e.T, cmd: cmd, pty: f, args: args, done: make(chan struct{})}
	go tm.read()
	e.T.Cleanup(func() {
		select {
		case <-tm.done:
		default:
			_ = cmd.Process.Kill()
			<-tm.done
		}
		_ = f.Close()
	})
	return tm
}

func (tm *Term) read() {
	buf := make([]byte, 32<<10)
	for {
		n, err := tm.pty.Read(buf)
		tm.mu.Lock()
		tm.out.Write(buf[:n])
		tm.mu.Unlock()
		if err != nil {
			break // EIO once the process (and the pager) closed the terminal
		}
	}
	err := tm.cmd.Wait()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		tm.code = ee.ExitCode()
	case err != nil:
		tm.code = -1
	}
	close(tm.done)
}

// Raw is everything drawn so far, escape codes and carriage returns included.
func (tm *Term) Raw() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

// Text is what was drawn without colours and other escape codes, lines ending in
// "\n" as the terminal's "\r\n" does.
func (tm *Term) Text() string { return Plain(tm.Raw()) }

// Expect waits until the plain text holds want and returns it; the test fails if it
// never does (the process ended, or termWait passed).
func (tm *Term) Expect(want string) string {
	tm.t.Helper()
	deadline := time.Now().Add(termWait)
	for {
		if s := tm.Text(); strings.Contains(s, want) {
			return s
		}
		select {
		case <-tm.done:
			if s := tm.Text(); strings.Contains(s, want) {
				return s
			}
			tm.t.Fatalf("vrwxctl %s ended (exit %d) without printing %q:\n%s", strings.Join(tm.args, " "), tm.code, want, tm.Text())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("vrwxctl %s: %q did not appear within %s:\n%s", strings.Join(tm.args, " "), want, termWait, tm.Text())
		}
	}
}

// Type writes keys to the terminal, as a person typing them.
func (tm *Term) Type(keys string) {
	tm.t.Helper()
	if _, err := tm.pty.Write([]byte(keys)); err != nil {
		tm.t.Fatalf("type %q: %v", keys, err)
	}
}

// Interrupt sends Ctrl-C's signal to the process, as the terminal does.
func (tm *Term) Interrupt() {
	tm.t.Helper()
	if err := tm.cmd.Process.Signal(syscall.SIGINT); err != nil {
		tm.t.Fatalf("interrupt: %v", err)
	}
}

// Wait waits for the process to end and returns its exit code.
func (tm *Term) Wait() int {
	tm.t.Helper()
	select {
	case <-tm.done:
	case <-time.After(termWait):
		tm.t.Fatalf("vrwxctl %s did not end within %s:\n%s", strings.Join(tm.args, " "), termWait, tm.Text())
	}
	record(Result{Args: tm.args, Stdout: tm.Raw(), Code: tm.code})
	return tm.code
}

var escapes = regexp.MustCompile(`\x1b\[[0-9;?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]|\x1b[=>78]`)

// Plain is s without escape codes and with "\r\n" as "\n".
func Plain(s string) string {
	s = escapes.ReplaceAllString(s, "")
	return strings.ReplaceAll(s, "\r\n", "\n")
}
