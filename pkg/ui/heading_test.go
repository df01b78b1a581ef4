package ui

import (
	"bytes"
	"strings"
	"testing"
)

// A report's first line ("STATUS 0x3C44…  profile local · chain 31337 · URL · read in …")
// was longer than a 100-column terminal, which broke it inside the RPC URL. On a
// terminal it now fits: the details move below the title, wrapped at spaces; in a
// pipe (width 0) and where it fits, it stays one line.
func TestHeadingFitsTheTerminal(t *testing.T) {
	const title = "STATUS 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
	const details = "profile local · chain 31337 · http://127.0.0.1:8545 · read in 2.8ms (2 RPC round trip(s))"
	var out bytes.Buffer
	tty := &IO{Out: &out, ErrOut: &out, OutTTY: true, ErrTTY: true, Format: Text, OutWidth: 100}
	tty.Heading(tty.Styles().Bold.Render(title), details)
	got := stripANSI(out.String())
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if len(lines) < 2 || lines[0] != title {
		t.Fatalf("on a 100-column terminal, want the title alone on its line, got:\n%s", got)
	}
	var rest []string
	for _, l := range lines[1:] {
		if Width(l) > 100 || !strings.HasPrefix(l, "  ") {
			t.Errorf("detail line not indented or over 100 cells: %q", l)
		}
		rest = append(rest, strings.TrimSpace(l))
	}
	if strings.Join(rest, " ") != details {
		t.Errorf("details changed on the way: %q", strings.Join(rest, " "))
	}
	if !strings.Contains(got, "http://127.0.0.1:8545") {
		t.Errorf("the URL was broken: %s", got)
	}

	for _, width := range []int{0, 200} {
		var b bytes.Buffer
		io := &IO{Out: &b, ErrOut: &b, OutTTY: width > 0, Format: Text, OutWidth: width}
		io.Heading(title, details)
		if got, want := stripANSI(b.String()), title+"  "+details+"\n"; got != want {
			t.Errorf("width %d: got %q, want one line %q", width, got, want)
		}
	}
}
