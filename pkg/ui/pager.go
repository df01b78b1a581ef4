package ui

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/vrwx/vrwxctl/pkg/redact"
)

// DefaultPager is the pager a long listing goes through on a terminal when neither
// VRWXCTL_PAGER nor PAGER names one: less, quitting at once when the listing fits
// one screen (-F), passing colours through (-R), leaving the listing on the screen
// when it quits (-X) — git's and gh's choice.
const DefaultPager = "less -FRX"

// ErrPagerClosed is what a write to stdout returns once the pager has quit (the
// reader pressed q before the end): the listing stops, and the command ends as a
// success, without a "broken pipe" message.
var ErrPagerClosed = errors.New("the pager quit before the end of the output")

// PagerCommand is the pager the environment asks for: VRWXCTL_PAGER, then PAGER,
// then DefaultPager. An empty value or "cat" means no pager.
func PagerCommand(lookupEnv func(string) (string, bool)) string {
	for _, k := range []string{"VRWXCTL_PAGER", "PAGER"} {
		if v, ok := lookupEnv(k); ok {
			v = strings.TrimSpace(v)
			if v == "cat" {
				return ""
			}
			return v
		}
	}
	return DefaultPager
}

type pager struct {
	cmd  *exec.Cmd
	pipe io.WriteCloser
	// The streams and filters to go back to.
	out, errOut      io.Writer
	outTerm, errTerm *termWriter
}

// StartPager sends stdout — and stderr, when it is the same terminal, as git does —
// through the pager until StopPager, when stdout is a terminal and neither
// --no-pager nor an empty pager setting says otherwise. A pager that cannot start
// is reported and the listing printed directly: it never fails the command.
func (o *IO) StartPager() {
	if o.pager != nil || o.NoPager || !o.OutTTY || o.Pager == "" || o.stdout == nil {
		return
	}
	o.Flush()
	// The shell reads the setting as git does (quotes, options); a pager that is not
	// installed is caught first, since the shell's "not found" would leave a listing
	// with nowhere to go.
	if _, err := exec.LookPath(strings.Fields(o.Pager)[0]); err != nil {
		o.Warnf("the pager %s is not installed (%s): printing directly (set VRWXCTL_PAGER, or --no-pager)", redact.Quote(o.Pager), redact.MaskText(err.Error()))
		return
	}
	cmd := exec.Command("sh", "-c", o.Pager)
	cmd.Stdout, cmd.Stderr = o.stdout, o.stderr
	cmd.Env = os.Environ()
	if _, ok := os.LookupEnv("LESS"); !ok {
		// A plain PAGER=less behaves as the default does.
		cmd.Env = append(cmd.Env, "LESS=FRX")
	}
	if _, ok := os.LookupEnv("LV"); !ok {
		cmd.Env = append(cmd.Env, "LV=-c")
	}
	if _, ok := os.LookupEnv("LESSCHARSET"); !ok {
		// What vrwxctl writes is UTF-8 ("…", "✓") whatever the locale says; without
		// a UTF-8 locale less would draw each such character as <E2><80><A6>.
		cmd.Env = append(cmd.Env, "LESSCHARSET=utf-8")
	}
	pipe, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		o.Warnf("the pager %s did not start (%s): printing directly (--no-pager, or VRWXCTL_PAGER=cat, stops trying)", redact.Quote(o.Pager), redact.MaskText(err.Error()))
		return
	}
	o.pager = &pager{cmd: cmd, pipe: pipe, out: o.Out, errOut: o.ErrOut, outTerm: o.outTerm, errTerm: o.errTerm}
	// What goes to the pager is still vrwxctl's output on the terminal: it passes
	// the same filters (the pager's -R lets through the colours they keep, and
	// nothing else reaches it to pass).
	w := &pagerWriter{w: pipe}
	o.outTerm = &termWriter{w: w, styled: func() bool { return o.OutTTY && !o.NoColor }}
	o.Out = redact.NewWriter(o.outTerm, true)
	if o.ErrTTY {
		o.errTerm = &termWriter{w: w, styled: func() bool { return o.ErrTTY && !o.NoColor }}
		o.ErrOut = redact.NewWriter(o.errTerm, true)
	}
}

// Paging reports whether output goes through a pager now (progress lines, which
// rewrite a terminal line in place, are left out then).
func (o *IO) Paging() bool { return o.pager != nil }

// StopPager ends the listing: what the streams hold goes to the pager, which is
// then waited for (the reader may still be scrolling), and stdout and stderr are the
// terminal again. It does nothing when no pager runs.
func (o *IO) StopPager() {
	p := o.pager
	if p == nil {
		return
	}
	o.Flush()
	_ = p.pipe.Close()
	_ = p.cmd.Wait()
	o.Out, o.ErrOut, o.outTerm, o.errTerm, o.pager = p.out, p.errOut, p.outTerm, p.errTerm, nil
}

// pagerWriter turns the broken pipe of a pager that quit into ErrPagerClosed.
type pagerWriter struct{ w io.Writer }

func (p *pagerWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if err != nil && (errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed)) {
		return n, fmt.Errorf("%w: %w", ErrPagerClosed, err)
	}
	return n, err
}
