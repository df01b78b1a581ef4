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
	return "", errs.Usagef("--output %s is not a format (expected text or json)", redact.Quote(s))
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
	// OutWidth and ErrWidth are the widths in cells of the terminals stdout and
	// stderr are on, 0 when they are not terminals: tables and summaries fit them.
	// OutHeight is stdout's terminal's height in lines (a watch's frame fits it).
	OutWidth, ErrWidth, OutHeight int
	// NoColor is set by --no-color or NO_COLOR.
	NoColor bool
	Format  Format
	Verbose bool
	// Wide (--wide) shows every column of a table in full, whatever the terminal.
	Wide bool
	// Pager is the command long listings go through on a terminal (PagerCommand);
	// NoPager (--no-pager) turns it off.
	Pager   string
	NoPager bool

	// stdout and stderr are the process's files, for a pager to write to.
	stdout, stderr *os.File
	pager          *pager

	out, errOut *lipgloss.Renderer
	// outTerm and errTerm are the control-character filters behind Out and ErrOut;
	// outRaw and errRaw are stdout and stderr themselves, for vrwxctl's own control
	// sequences (a watch's screen, the progress line), which the filters stop.
	outTerm, errTerm *termWriter
	outRaw, errRaw   io.Writer
	// jsonStarted is set once a JSON document went to stdout: PrintError then adds
	// none, so stdout always holds exactly one.
	jsonStarted bool
}

// System returns IO on the process's stdin, stdout and stderr; lookupEnv (the
// process environment in the binary) says whether NO_COLOR is set and which pager
// to use.
func System(lookupEnv func(string) (string, bool)) *IO {
	io := &IO{In: os.Stdin, Format: Text, stdout: os.Stdout, stderr: os.Stderr, Pager: PagerCommand(lookupEnv)}
	io.InTTY = isTerminal(os.Stdin)
	io.OutTTY = isTerminal(os.Stdout)
	io.ErrTTY = isTerminal(os.Stderr)
	if io.OutTTY {
		io.OutWidth, io.OutHeight = terminalSize(os.Stdout)
	}
	if io.ErrTTY {
		io.ErrWidth, _ = terminalSize(os.Stderr)
	}
	if _, ok := lookupEnv("NO_COLOR"); ok {
		io.NoColor = true
	}
	io.wrap(os.Stdout, os.Stderr)
	return io
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Test returns IO on buffers (no terminal, no colour), for tests.
func Test(in io.Reader, out, errOut io.Writer) *IO {
	o := &IO{In: in, Format: Text, NoColor: true}
	o.wrap(out, errOut)
	return o
}

// wrap puts out and errOut behind the two filters every byte passes: redact.Writer
// (registered keys and secrets, URL credentials) and termWriter (control characters).
func (o *IO) wrap(out, errOut io.Writer) {
	o.outTerm = &termWriter{w: out, styled: func() bool { return o.OutTTY && !o.NoColor }}
	o.errTerm = &termWriter{w: errOut, styled: func() bool { return o.ErrTTY && !o.NoColor }}
	o.Out = redact.NewWriter(o.outTerm, true)
	o.ErrOut = redact.NewWriter(o.errTerm, true)
	o.outRaw, o.errRaw = out, errOut
}

// filterOut is s as the filters behind stdout would write it (registered keys and
// URL credentials removed, control characters escaped, vrwxctl's colours kept on a
// colour terminal), for text that is then written past them (writeOwn) between
// vrwxctl's own control sequences.
func (o *IO) filterOut(s string) string {
	var b strings.Builder
	t := &termWriter{w: &b, styled: func() bool { return o.OutTTY && !o.NoColor }}
	r := redact.NewWriter(t, true)
	_, _ = io.WriteString(r, s)
	_ = r.Flush()
	_ = t.Flush()
	return b.String()
}

// writeOwn writes s to stdout past the filters, after what they hold: s is made of
// vrwxctl's own control sequences (the alternate screen, the cursor, clearing) and
// text that has passed filterOut. Nothing else may reach it.
func (o *IO) writeOwn(s string) error {
	o.Flush()
	w := o.outRaw
	if w == nil {
		// An IO put together by hand (a test's) has no filters to write past.
		w = o.Out
	}
	_, err := io.WriteString(w, s)
	return err
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
	// The filters behind them, after what they held went in (none in an IO put
	// together by hand).
	for _, t := range []*termWriter{o.outTerm, o.errTerm} {
		if t != nil {
			_ = t.Flush()
		}
	}
}

// Progress redraws the terminal's progress line on stderr ("\r" and the text, which
// is escaped like any value); ClearProgress erases it. They write past the control
// character filter, which lets no carriage return or erase sequence through, so
// only they can move the cursor.
func (o *IO) Progress(format string, args ...any) {
	o.Flush()
	if o.errRaw != nil {
		fmt.Fprint(o.errRaw, "\r"+redact.Text(Safe(fmt.Sprintf(format, args...))))
	}
}

// ClearProgress erases the line Progress drew.
func (o *IO) ClearProgress() {
	o.Flush()
	if o.errRaw != nil {
		fmt.Fprint(o.errRaw, "\r\x1b[K")
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

// TableWidth is the width a table on stdout fits: the terminal's, or 0 — every
// column in full — in a pipe, under -o json, or with --wide.
func (o *IO) TableWidth() int {
	if o.Wide || o.JSONOutput() || !o.OutTTY {
		return 0
	}
	return o.OutWidth
}

// RenderTable writes t to stdout fitted to TableWidth, and says on stderr which
// columns it left out and how to see them.
func (o *IO) RenderTable(t *Table) {
	t.RenderWidth(o.Out, o.Styles(), o.TableWidth())
	o.SayHidden(t.Hidden())
}

// Heading writes a report's first line to stdout, fitted to TableWidth (see Heading).
func (o *IO) Heading(title, details string) {
	fmt.Fprintln(o.Out, Heading(o.Styles(), o.TableWidth(), title, details))
}

// SayHidden tells, on stderr, which columns a table left out to fit the terminal.
func (o *IO) SayHidden(columns []string) {
	if len(columns) > 0 {
		// Written whole, not through Infof: its arguments are escaped, and the faint
		// style's own sequences would be shown as text.
		fmt.Fprintln(o.ErrOut, o.ErrStyles().Faint.Render(fmt.Sprintf("(%s left out to fit the terminal: --wide shows every column)", Safe(strings.Join(columns, ", ")))))
	}
}

// RenderFields writes a summary block to stderr, where summaries and prompts go,
// fitted to its terminal.
func (o *IO) RenderFields(f *Fields) { f.Render(o.ErrOut, o.ErrStyles(), o.ErrWidth) }

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

// Successf writes a "✓ ..." status line to stderr. Text among the arguments is
// escaped (Safe): a status line stays one line.
func (o *IO) Successf(format string, args ...any) {
	s := o.ErrStyles()
	fmt.Fprintln(o.ErrOut, s.OK.Render("✓")+" "+fmt.Sprintf(format, safeArgs(args)...))
}

// Warnf writes a "! ..." status line to stderr.
func (o *IO) Warnf(format string, args ...any) {
	s := o.ErrStyles()
	fmt.Fprintln(o.ErrOut, s.Warn.Render("!")+" "+fmt.Sprintf(format, safeArgs(args)...))
}

// Infof writes a plain status line to stderr.
func (o *IO) Infof(format string, args ...any) {
	fmt.Fprintln(o.ErrOut, fmt.Sprintf(format, safeArgs(args)...))
}

// Debugf writes to stderr only with -v.
func (o *IO) Debugf(format string, args ...any) {
	if o.Verbose {
		s := o.ErrStyles()
		fmt.Fprintln(o.ErrOut, s.Faint.Render("· "+fmt.Sprintf(format, safeArgs(args)...)))
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

// ErrorBodyOf is err as the "error" object of a JSON document.
func ErrorBodyOf(err error) ErrorBody { return errorBody(err) }

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
	width := 0
	if o.ErrTTY {
		width = o.ErrWidth
	}
	// Escaped before it is wrapped, line by line (an error may quote another on
	// its own lines): the width measured is that of what the filter lets out.
	msg, fix = safeLines(msg), safeLines(fix)
	var b strings.Builder
	writeHanging(&b, s.Crit.Render("X")+" ", 2, msg, width, nil)
	if fix != "" {
		writeHanging(&b, "  "+s.Bold.Render("fix:")+" ", len("  fix: "), fix, width, nil)
	}
	_, _ = io.WriteString(o.ErrOut, b.String())
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
