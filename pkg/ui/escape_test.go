package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vrwx/vrwxctl/pkg/report"
)

// hostile is what a value from a log, a database or a flag may hold: a newline that
// would start a forged row, a tab, a carriage return that would overwrite the line,
// a window-title sequence, a clear-screen, a bell, DEL, the 8-bit CSI and a
// right-to-left override.
const hostile = "INC-1\n2026-01-01  mined  wallet fund\tx\r\x1b]0;pwned\a\x1b[2J\x7f\u009b2J\u202eevil"

// rawControl reports whether s holds a control character a terminal acts on,
// other than the newlines and tabs a stream's own lines are made of.
func rawControl(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x202e {
			return true
		}
	}
	return false
}

func TestSafeEscapesEveryControlCharacter(t *testing.T) {
	t.Parallel()
	got := Safe(hostile)
	want := `INC-1\n2026-01-01  mined  wallet fund\tx\r\x1b]0;pwned\x07\x1b[2J\u007f\u009b2J\u202eevil`
	if got != want {
		t.Fatalf("Safe(%q)\n= %q\nwant %q", hostile, got, want)
	}
	for _, s := range []string{"plain", "✓ ok — 0.5 ETH", "é€", ""} {
		if Safe(s) != s {
			t.Errorf("Safe changed %q to %q", s, Safe(s))
		}
	}
}

// A table row stays one row whatever its cells hold, and nothing in a cell reaches
// the terminal as a control character, with colour on or off.
func TestTableCellsCannotForgeRowsOrDriveTheTerminal(t *testing.T) {
	t.Parallel()
	for _, tty := range []bool{false, true} {
		var out bytes.Buffer
		o := &IO{Format: Text, OutTTY: tty, ErrTTY: tty}
		o.wrap(&out, &out)
		tb := NewTable("TIME", "NOTE")
		tb.Row("2026-01-01", hostile)
		tb.Render(o.Out, o.Styles())
		st := NewStreamTable(o.Out, o.Styles(), Column{Header: "NOTE", Width: 10})
		_ = st.Row([]string{hostile}, nil)
		o.Flush()
		lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
		if len(lines) != 4 {
			t.Fatalf("tty=%v: want 2 headers and 2 rows, got %d lines:\n%s", tty, len(lines), out.String())
		}
		if strings.Contains(out.String(), "\x1b]") || strings.Contains(out.String(), "\x1b[2J") || strings.Contains(out.String(), "\a") {
			t.Fatalf("tty=%v: a control sequence reached the output: %q", tty, out.String())
		}
	}
}

// Whatever is printed — a status line, an error, a command's own Fprintf — passes the
// stream filter: only newlines, tabs and (on a colour terminal) vrwxctl's colour
// sequences get through; no title, clear-screen or cursor sequence, with
// --no-color or without.
func TestStreamsLetNoControlSequenceThrough(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		tty, noColor, colours bool
	}{{false, false, false}, {true, true, false}, {true, false, true}} {
		var out, errOut bytes.Buffer
		o := &IO{Format: Text, OutTTY: c.tty, ErrTTY: c.tty, NoColor: c.noColor}
		o.wrap(&out, &errOut)
		o.Warnf("reason %s", hostile)
		o.PrintError(fmt.Errorf("bad: %s", hostile))
		fmt.Fprintf(o.Out, "raw %s\n", hostile)
		// A colour sequence split across two writes is still recognised.
		fmt.Fprint(o.Out, "\x1b[3")
		fmt.Fprint(o.Out, "1mred\x1b[0m\n")
		o.Flush()
		all := out.String() + errOut.String()
		for _, bad := range []string{"\x1b]", "\x1b[2J", "\a", "\r", "\x7f", "\u009b", "\u202e"} {
			if strings.Contains(all, bad) {
				t.Errorf("%+v: %q reached the stream:\n%q", c, bad, all)
			}
		}
		if got := strings.Contains(out.String(), "\x1b[31mred\x1b[0m"); got != c.colours {
			t.Errorf("%+v: colour sequence passed = %v, want %v: %q", c, got, c.colours, out.String())
		}
		if !strings.Contains(errOut.String(), `\x1b]0;pwned\x07\x1b[2J`) {
			t.Errorf("%+v: the escaped sequence is not shown: %q", c, errOut.String())
		}
		// A status line is one line. (An error's own message may run over lines,
		// "no RPC endpoint answered:\n  …"; what it quotes is Quoted where it is made.)
		if first, _, _ := strings.Cut(errOut.String(), "\n"); !strings.Contains(first, `pwned\x07\x1b[2J\u007f\u009b2J\u202eevil`) {
			t.Errorf("%+v: the status line was broken up: %q", c, errOut.String())
		}
	}
}

// JSON stays JSON: its strings carry the value exactly, and no raw control
// character is written.
func TestJSONKeepsValuesAndStaysJSON(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	o := &IO{Format: JSON}
	o.wrap(&out, &out)
	if err := o.WriteJSON(map[string]string{"reason": hostile}); err != nil {
		t.Fatal(err)
	}
	o.Flush()
	if rawControl(strings.ReplaceAll(out.String(), "\n", "")) {
		t.Fatalf("raw control characters in JSON output: %q", out.String())
	}
	var back map[string]string
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || back["reason"] != hostile {
		t.Fatalf("JSON does not carry the value (%v): %q", err, out.String())
	}
}

// A watch's screen: its own sequences (alternate screen, cursor home, clearing)
// reach the terminal, while the same bytes inside a value are shown escaped, and
// the frame's colours pass; the last frame left on the shell's screen is the
// filtered one.
func TestScreenSequencesPassValuesDoNot(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	o := &IO{Format: Text, OutTTY: true, ErrTTY: true, OutHeight: 40}
	o.wrap(&out, &bytes.Buffer{})
	sc := o.StartScreen()
	frame := sc.Frame(func() {
		fmt.Fprintln(o.Out, o.Styles().Crit.Render("X")+" reason "+hostile)
	})
	if err := sc.Draw(frame); err != nil {
		t.Fatal(err)
	}
	sc.Close()
	got := out.String()
	for _, own := range []string{altScreenOn, cursorHide, cursorHome, clearLineEnd, clearDown, altScreenOff, cursorShow} {
		if !strings.Contains(got, own) {
			t.Errorf("the screen's own %q did not reach the terminal: %q", own, got)
		}
	}
	if rest := strings.NewReplacer(altScreenOn, "", cursorHide, "", cursorHome, "", clearLineEnd, "", clearDown, "", altScreenOff, "", cursorShow, "").Replace(got); strings.Contains(rest, "\x1b]") || strings.Contains(rest, "\x1b[2J") || strings.Contains(rest, "\a") || strings.Contains(rest, "\r") {
		t.Fatalf("a value's control sequence reached the terminal: %q", rest)
	}
	if strings.Count(got, `\x1b]0;pwned\x07\x1b[2J`) != 2 {
		t.Errorf("the value is not shown escaped in the frame and in the last frame: %q", got)
	}
	if !strings.Contains(got, "\x1b[") || !strings.Contains(stripANSI(got), "X reason INC-1") {
		t.Errorf("the frame's colour or text is lost: %q", got)
	}
}

// Output through the pager is still vrwxctl's output on the terminal: filtered the
// same way, its colours kept (less -R shows them), a value's sequences escaped.
func TestPagerOutputIsFiltered(t *testing.T) {
	dir := t.TempDir()
	got := dir + "/paged"
	io, _ := pagedIO(t, "cat > "+got)
	io.NoColor = false
	io.StartPager()
	fmt.Fprintln(io.Out, io.Styles().Crit.Render("critical")+" "+hostile)
	io.StopPager()
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	if rawControl(strings.NewReplacer("\x1b[", "[").Replace(string(b))) || strings.Contains(string(b), "\x1b]") || strings.Contains(string(b), "\x1b[2J") {
		t.Fatalf("a value's control sequence reached the pager: %q", b)
	}
	if !strings.Contains(string(b), `\x1b]0;pwned\x07\x1b[2J`) || !strings.Contains(string(b), "\x1b[") {
		t.Fatalf("want the value escaped and the colour kept: %q", b)
	}
}

// Escaped text is wider than the value: tables, checks and summaries measure what
// they print, so columns stay aligned and a fitted table stays within the terminal.
func TestWidthsAreThoseOfTheEscapedText(t *testing.T) {
	t.Parallel()
	tb := NewTable("NAME", "NOTE", "AT")
	tb.Row("a\x1b[2Jb", "x", "1")
	tb.Row("plain", "\x1b]0;t\a"+strings.Repeat("n", 60), "2")
	tb.Fit(Shrink("NOTE", 8))
	var out bytes.Buffer
	tb.RenderWidth(&out, Styles{}, 40)
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and 2 rows:\n%s", out.String())
	}
	col := strings.Index(lines[0], "NOTE")
	for _, l := range lines {
		if Width(l) > 40 {
			t.Errorf("wider than the 40-cell terminal: %q", l)
		}
		if l != lines[0] && strings.Index(l, `a\x1b[2Jb`) != 0 && strings.Index(l, "plain") != 0 {
			t.Errorf("a row does not start with its name: %q", l)
		}
	}
	if strings.Index(lines[1], "  x ")+2 != col || strings.Index(lines[2], `\x1b]0;`) != col {
		t.Errorf("the NOTE column moved (header at %d):\n%s", col, out.String())
	}

	var checks bytes.Buffer
	Test(nil, &checks, &bytes.Buffer{}).RenderChecks([]report.Check{
		{Name: "reason\x1b[2J", Level: report.Warn, Value: "v", Detail: "first\nsecond\x1b]0;t\a"},
		{Name: "nonce", Level: report.OK, Value: "5", Detail: "d"},
	})
	cl := strings.Split(strings.TrimRight(checks.String(), "\n"), "\n")
	at := func(l, sub string) int { return Width(l[:max(strings.Index(l, sub), 0)]) }
	if len(cl) != 3 || at(cl[0], "first") != at(cl[2], " d")+1 || at(cl[1], `second\x1b]0;t\x07`) != at(cl[0], "first") {
		t.Errorf("checks not aligned on their escaped text, or a detail's second line not under its column:\n%s", checks.String())
	}

	var f Fields
	f.Row("to", "0x12\n  value  1000 ETH")
	f.Row("value", "1 ETH")
	var fo bytes.Buffer
	f.Render(&fo, Styles{}, 0)
	if want := "  to    0x12\\n  value  1000 ETH\n  value 1 ETH\n"; fo.String() != want {
		t.Errorf("a summary value forged a line or lost its column:\n%q\nwant\n%q", fo.String(), want)
	}
}

// An error on a terminal wraps at its width as printed: what it quotes is escaped
// before the lines are measured, so no line the filter lets out is wider.
func TestErrorWrapsItsEscapedText(t *testing.T) {
	t.Parallel()
	var errOut bytes.Buffer
	o := &IO{Format: Text, ErrTTY: true, NoColor: true, ErrWidth: 40}
	o.wrap(&bytes.Buffer{}, &errOut)
	o.PrintError(fmt.Errorf("reading %s failed: %s", strings.Repeat("\x1b[2J", 8), "the store said no"))
	o.Flush()
	lines := strings.Split(strings.TrimRight(errOut.String(), "\n"), "\n")
	for _, l := range lines {
		if Width(l) > 40 {
			t.Errorf("line of %d cells on a 40-cell terminal: %q", Width(l), l)
		}
	}
	if strings.Contains(errOut.String(), "\x1b") || !strings.Contains(strings.Join(lines, ""), `\x1b[2J`) {
		t.Fatalf("want the sequences shown escaped: %q", errOut.String())
	}
}
