package ui

import (
	"bytes"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
)

// A streamed table hands every row to its writer before the next row exists: what
// the writer holds after each Row is the header and exactly the rows given so far.
func TestStreamTableWritesEachRowAtOnce(t *testing.T) {
	var out bytes.Buffer
	st := NewStreamTable(&out, Styles{}, Column{"ID", 3}, Column{"STATUS", 9}, Column{"NOTE", 0})
	if out.Len() != 0 {
		t.Fatalf("header written before any row: %q", out.String())
	}
	want := []string{"ID   STATUS     NOTE"}
	rows := [][]string{{"1", "FUNDED", "overdue"}, {"22", "COMPLETED", ""}, {"333", "SETTLED", "x"}}
	for _, r := range rows {
		if err := st.Row(r, nil); err != nil {
			t.Fatal(err)
		}
		want = append(want, map[string]string{
			"1":   "1    FUNDED     overdue",
			"22":  "22   COMPLETED",
			"333": "333  SETTLED    x",
		}[r[0]])
		if got := out.String(); got != strings.Join(want, "\n")+"\n" {
			t.Fatalf("after row %s the writer holds\n%q\nwant\n%q", r[0], got, strings.Join(want, "\n")+"\n")
		}
	}
	if st.Rows() != 3 {
		t.Errorf("Rows() = %d, want 3", st.Rows())
	}
}

// Widths come from the columns, not the rows: a cell wider than its column pushes
// only the rest of its own row, keeps two spaces before the next cell, and the row
// realigns as soon as a shorter cell gives the room back.
func TestStreamTableOverflowRealigns(t *testing.T) {
	var out bytes.Buffer
	st := NewStreamTable(&out, Styles{}, Column{"A", 4}, Column{"B", 4}, Column{"C", 4}, Column{"D", 0})
	for _, r := range [][]string{{"a", "b", "c", "d"}, {"aaaaaa", "b", "c", "d"}, {"aaaaaaaaaaaa", "b", "c", "d"}} {
		if err := st.Row(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := "A     B     C     D\n" +
		"a     b     c     d\n" +
		"aaaaaa  b   c     d\n" + // 2 over: B gives back 2, C is in place
		"aaaaaaaaaaaa  b  c  d\n" // 8 over: every later cell keeps two spaces
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if len(strings.Fields(line)) != 4 {
			t.Errorf("%q does not split into 4 fields", line)
		}
	}
}

// Styles colour a cell without changing where the next one starts; Table (sized from
// its rows) lays out the same bytes a StreamTable given those widths would.
func TestStreamTableStylesAndTable(t *testing.T) {
	var styled bytes.Buffer
	tty := &IO{Out: &styled, ErrOut: &bytes.Buffer{}, OutTTY: true, Format: Text}
	s := tty.Styles()
	crit := s.Crit
	st := NewStreamTable(&styled, s, Column{"NAME", 0}, Column{"LEVEL", 0}, Column{"X", 0})
	_ = st.Row([]string{"balance", "critical", "y"}, []*lipgloss.Style{nil, &crit})
	line := strings.Split(styled.String(), "\n")[1]
	if !strings.Contains(line, "\x1b[") || !strings.HasSuffix(line, "  y") {
		t.Fatalf("styled row %q", line)
	}
	if plain := stripANSI(line); plain != "balance  critical  y" {
		t.Fatalf("styled row without its colours %q", plain)
	}

	var a, b bytes.Buffer
	tbl := NewTable("ID", "NAME")
	tbl.Row("7", "seven")
	tbl.Row("1000", "k")
	tbl.Render(&a, Styles{})
	st = NewStreamTable(&b, Styles{}, Column{"ID", 4}, Column{"NAME", 5})
	_ = st.Row([]string{"7", "seven"}, nil)
	_ = st.Row([]string{"1000", "k"}, nil)
	if a.String() != b.String() || a.String() != "ID    NAME\n7     seven\n1000  k\n" {
		t.Fatalf("Table\n%s\nStreamTable\n%s", a.String(), b.String())
	}
	var empty bytes.Buffer
	NewTable("ID", "NAME").Render(&empty, Styles{})
	if empty.String() != "ID  NAME\n" {
		t.Fatalf("empty Table %q, want its header", empty.String())
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
