package ui

import (
	"bytes"
	"strings"
	"testing"
)

// The bug this guards: a label padded with fmt's %-9s after it was styled counts
// the escape codes as width, so on a terminal (and only there) the value column
// collapsed — "call fund(…)" instead of "call      fund(…)". Fields measures cells:
// with and without colour every value starts at the same column.
func TestFieldsAlignTheSameStyledAndPlain(t *testing.T) {
	fill := func(f *Fields) {
		f.Row("call", "fund(0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC, 0.5 ETH)")
		f.Row("from", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8 (balance 10000 ETH)")
		f.Row("L1 fee", "0 ETH")
		f.Warn("warning", "the recipient is all lowercase: no checksum was checked")
	}
	var plain, styled bytes.Buffer
	var a, b Fields
	fill(&a)
	fill(&b)
	a.Render(&plain, Test(nil, nil, nil).Styles(), 0)
	tty := &IO{Out: &styled, ErrOut: &styled, OutTTY: true, ErrTTY: true, Format: Text}
	b.Render(&styled, tty.ErrStyles(), 0)
	if !strings.Contains(styled.String(), "\x1b[") {
		t.Fatalf("no styling on a terminal: %q", styled.String())
	}
	if got := stripANSI(styled.String()); got != plain.String() {
		t.Fatalf("styled, without its escape codes:\n%s\nplain:\n%s", got, plain.String())
	}
	for _, l := range strings.Split(strings.TrimRight(plain.String(), "\n"), "\n") {
		if len(l) < 11 || l[9] != ' ' || l[10] == ' ' {
			t.Errorf("value not at column 10: %q", l)
		}
	}
}

// On a terminal of known width a long value wraps under its own column, never under
// the labels; in a pipe (width 0) nothing wraps.
func TestFieldsWrapUnderTheValueColumn(t *testing.T) {
	var f Fields
	f.Row("call", "sweep the whole balance of 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 to the treasury")
	f.Row("to", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")
	var out bytes.Buffer
	f.Render(&out, Styles{}, 50)
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("nothing wrapped at 50 cells:\n%s", out.String())
	}
	for _, l := range lines {
		if Width(l) > 50 {
			t.Errorf("line of %d cells on a 50-cell terminal: %q", Width(l), l)
		}
	}
	if !strings.HasPrefix(lines[1], strings.Repeat(" ", 7)) || lines[1][7] == ' ' {
		t.Errorf("continuation not under the value column (7): %q", lines[1])
	}
	out.Reset()
	f.Render(&out, Styles{}, 0)
	if strings.Count(out.String(), "\n") != 2 {
		t.Errorf("a pipe wraps nothing:\n%s", out.String())
	}
}
