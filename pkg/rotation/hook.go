package rotation

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"sync"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

// HookRunner runs the deployment command argv (already split, see SplitCommand)
// with the environment env, streaming what it prints to out, and returns an error
// unless it exits 0.
type HookRunner func(ctx context.Context, argv, env []string, out io.Writer) error

// ExecHook runs argv as a child process without a shell: argv[0] is looked up on
// PATH, its output (stdout and stderr) is streamed to out line by line with a
// "  | " prefix as it arrives, and its exit status is checked. It runs with env
// and nothing else (the rotation passes DeployEnv of vrwxctl's environment:
// kubectl still finds KUBECONFIG, no key is there) and gets no stdin.
func ExecHook(ctx context.Context, argv, env []string, out io.Writer) error {
	if len(argv) == 0 {
		return errs.Usagef("no deploy command to run")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append([]string{}, env...) // never nil: nil would inherit everything
	w := &prefixWriter{w: out, prefix: []byte("  | "), bol: true}
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	w.flush()
	if err == nil {
		return nil
	}
	shown := QuoteCommand(argv)
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return errs.Timeoutf("deploy command `%s` did not finish in time and was stopped", shown)
	case errors.As(err, &ee):
		return errs.Failedf("deploy command `%s` failed with exit status %d", shown, ee.ExitCode())
	}
	return errs.Failedf("deploy command `%s` could not be started", shown).Wrap(err)
}

// prefixWriter writes each line with a prefix; stdout and stderr of one child
// share it, so writes are serialised.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix []byte
	bol    bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var buf bytes.Buffer
	for _, c := range b {
		if p.bol {
			buf.Write(p.prefix)
			p.bol = false
		}
		buf.WriteByte(c)
		if c == '\n' {
			p.bol = true
		}
	}
	if _, err := p.w.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// flush ends a last line that had no newline.
func (p *prefixWriter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.bol {
		_, _ = p.w.Write([]byte("\n"))
		p.bol = true
	}
}
