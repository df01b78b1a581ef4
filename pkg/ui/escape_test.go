package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
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
