// Package ui renders vrwxctl's output: data on stdout (text tables or one stable JSON
// shape per command), status lines and progress on stderr, colour only on a terminal
// and never when NO_COLOR or --no-color says so, and confirmation prompts.
package ui

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"golang.org/x/term"
)

// Format is the output format of data on stdout.
type Format string

const (
	Text Format = "text"
	JSON Format = "json"
)

// ParseFormat validates -o/--output.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case Text, JSON:
		return Format(s), nil
	}
	return "", errs.Usagef("--output %q is not a format (expected text or json)", s)
}

// IO carries the streams a command reads and writes, and what they are attached to.
// System and Test put Out and ErrOut behind redact.Writer, so nothing a command
// prints can carry a registered key or a URL's credentials; Flush writes what such a
// writer holds back at the end.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	InTTY, OutTTY, ErrTTY bool
	// NoColor is set by --no-color or NO_COLOR.
	NoColor bool
	Format  Format
	Verbose bool

	out, errOut *lipgloss.Renderer
	// jsonStarted is set once a JSON document went to stdout: PrintError then adds
	// none, so stdout always holds exactly one.
	jsonStarted bool
}

// System returns IO on the process's stdin, stdout and stderr; lookupEnv (the
// process environment in the binary) says whether NO_COLOR is set.
func System(lookupEnv func(string) (string, bool)) *IO {
	io := &IO{In: os.Stdin, Out: redact.NewWriter(os.Stdout, true), ErrOut: redact.NewWriter(os.Stderr, true), Format: Text}
	io.InTTY = isTerminal(os.Stdin)
	io.OutTTY = isTerminal(os.Stdout)
	io.ErrTTY = isTerminal(os.Stderr)
	if _, ok := lookupEnv("NO_COLOR"); ok {
		io.NoColor = true
	}
	return io
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Test returns IO on buffers (no terminal, no colour), for tests.
func Test(in io.Reader, out, errOut io.Writer) *IO {
	return &IO{In: in, Out: redact.NewWriter(out, true), ErrOut: redact.NewWriter(errOut, true), Format: Text, NoColor: true}
}

// Flush writes out what the streams hold back (the end of a line that could still
// have been a key or a URL). cli.Run calls it before returning; anything that waits
// for the operator calls it before waiting.
func (o *IO) Flush() {
	for _, w := range []io.Writer{o.Out, o.ErrOut} {
		if f, ok := w.(interface{ Flush() error }); ok {
			_ = f.Flush()
		}
	}
}

// RevealURLs lets URLs through stdout in full, for a command the operator asked to
// show them (`config view --reveal`). Keys are still removed, and stderr is unchanged.
func (o *IO) RevealURLs() {
	if w, ok := o.Out.(*redact.Writer); ok {
		w.SetURLs(false)
	}
}

func (o *IO) renderer(w io.Writer, tty bool, r **lipgloss.Renderer) *lipgloss.Renderer {
	if *r == nil {
		*r = lipgloss.NewRenderer(w)
		// Setting the profile explicitly avoids termenv querying the terminal, which
		// costs start-up time and can hang on some terminals.
		if tty && !o.NoColor {
			(*r).SetColorProfile(termenv.ANSI256)
		} else {
			(*r).SetColorProfile(termenv.Ascii)
		}
		(*r).SetHasDarkBackground(true)
	}
	return *r
}

// Styles for stdout.
func (o *IO) Styles() Styles { return newStyles(o.renderer(o.Out, o.OutTTY, &o.out)) }

// ErrStyles for stderr.
func (o *IO) ErrStyles() Styles { return newStyles(o.renderer(o.ErrOut, o.ErrTTY, &o.errOut)) }

// Styles are the few styles vrwxctl uses.
type Styles struct {
	OK, Warn, Crit, Bold, Faint, Header lipgloss.Style
}

func newStyles(r *lipgloss.Renderer) Styles {
	return Styles{
		OK:     r.NewStyle().Foreground(lipgloss.Color("2")),
		Warn:   r.NewStyle().Foreground(lipgloss.Color("3")),
		Crit:   r.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		Bold:   r.NewStyle().Bold(true),
		Faint:  r.NewStyle().Faint(true),
		Header: r.NewStyle().Bold(true).Underline(false),
	}
}

// JSONOutput reports whether stdout takes JSON.
func (o *IO) JSONOutput() bool { return o.Format == JSON }

// WriteJSON writes v to stdout as indented JSON. A command writes one document;
// an error after it (a transaction found "unknown") is reported on stderr only.
func (o *IO) WriteJSON(v any) error {
	o.jsonStarted = true
	enc := json.NewEncoder(o.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Successf writes a "✓ ..." status line to stderr.
func (o *IO) Successf(format string, args ...any) {
	s := o.ErrStyles()
	fmt.Fprintln(o.ErrOut, s.OK.Render("✓")+" "+fmt.Sprintf(format, args...))
}

// Warnf writes a "! ..." status line to stderr.
func (o *IO) Warnf(format string, args ...any) {
	s := o.ErrStyles()
	fmt.Fprintln(o.ErrOut, s.Warn.Render("!")+" "+fmt.Sprintf(format, args...))
}

// Infof writes a plain status line to stderr.
func (o *IO) Infof(format string, args ...any) {
	fmt.Fprintln(o.ErrOut, fmt.Sprintf(format, args...))
}

// Debugf writes to stderr only with -v.
func (o *IO) Debugf(format string, args ...any) {
	if o.Verbose {
		s := o.ErrStyles()
		fmt.Fprintln(o.ErrOut, s.Faint.Render("· "+fmt.Sprintf(format, args...)))
	}
}

// ErrorJSON is the shape of stdout under -o json when a command fails.
type ErrorJSON struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody describes a failure.
type ErrorBody struct {
	Code    int    `json:"code"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// KindName is the JSON name of an error kind.
func KindName(k errs.Kind) string {
	switch k {
	case errs.Usage:
		return "usage"
	case errs.Refused:
		return "refused"
	case errs.Timeout:
		return "timeout"
	case errs.Warnings:
		return "warnings"
	case errs.Interrupted, errs.Terminated:
		return "interrupted"
	}
	return "failed"
}

// errorBody is err as ErrorBody.
func errorBody(err error) ErrorBody {
	kind := errs.KindOf(err)
	// Error text quotes what libraries saw: a URL with its API key, a store's answer
	// echoing a request. It is redacted here whatever the streams do.
	return ErrorBody{Code: int(kind), Kind: KindName(kind), Message: redact.Text(err.Error()), Fix: redact.Text(errs.FixOf(err))}
}

// PrintError reports err: "X message" and "  fix: ..." on stderr, and under -o json
// also an error object on stdout so a script always gets JSON — unless a JSON
// document already went there (a streamed listing that failed ends its own document
// with the error: JSONList.Fail), so stdout always holds exactly one.
func (o *IO) PrintError(err error) {
	body := errorBody(err)
	msg, fix := body.Message, body.Fix
	if o.JSONOutput() && !o.jsonStarted {
		_ = o.WriteJSON(ErrorJSON{Error: body})
	}
	s := o.ErrStyles()
	fmt.Fprintln(o.ErrOut, s.Crit.Render("X")+" "+msg)
	if fix != "" {
		fmt.Fprintln(o.ErrOut, "  "+s.Bold.Render("fix:")+" "+fix)
	}
}

// Confirm asks a yes/no question on the terminal. Without a terminal it refuses:
// a script must say --yes.
func (o *IO) Confirm(question string) error {
	if !o.InTTY {
		return errs.Refusedf("not confirmed: no terminal to ask on").WithFix("re-run with --yes to confirm non-interactively")
	}
	fmt.Fprintf(o.ErrOut, "%s [y/N]: ", question)
	o.Flush()
	line, _ := bufio.NewReader(o.In).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errs.Refusedf("not confirmed")
}
