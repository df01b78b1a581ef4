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

// A wide table on a narrow terminal takes its Fit steps in order until it fits:
// the least important column shrinks (its cells cut with "…"), then whole columns
// go; what is dropped is named. Without a width (a pipe, --wide) nothing changes.
func TestTableFitsTheTerminal(t *testing.T) {
	build := func() *Table {
		tbl := NewTable("TIME", "OUTCOME", "PROFILE", "TX", "NOTE")
		tbl.Row("2026-03-01 12:00:00", "mined", "base-mainnet", "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060", "a long note about why this was sent")
		tbl.Row("2026-03-01 12:01:00", "not-sent", "local", "-", "")
		tbl.Fit(Shrink("NOTE", 8), Drop("PROFILE"), Shrink("TX", 12))
		return tbl
	}
	var full bytes.Buffer
	tbl := build()
	tbl.Render(&full, Styles{})
	natural := 0
	for _, l := range strings.Split(strings.TrimRight(full.String(), "\n"), "\n") {
		natural = max(natural, Width(l))
	}
	var wide bytes.Buffer
	tbl.RenderWidth(&wide, Styles{}, natural)
	if wide.String() != full.String() || len(tbl.Hidden()) != 0 {
		t.Fatalf("a table that fits changed:\n%s\nwant\n%s", wide.String(), full.String())
	}
	for _, width := range []int{natural - 10, 120, 100, 80, 60} {
		var out bytes.Buffer
		tbl := build()
		tbl.RenderWidth(&out, Styles{}, width)
		lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
		for _, l := range lines {
			if Width(l) > width {
				t.Errorf("width %d: line of %d cells: %q", width, Width(l), l)
			}
		}
		if !strings.HasPrefix(lines[1], "2026-03-01 12:00:00  mined") {
			t.Errorf("width %d: the first columns are not whole: %q", width, lines[1])
		}
		dropped := strings.Contains(strings.Join(tbl.Hidden(), ","), "PROFILE")
		if dropped == strings.Contains(lines[0], "PROFILE") {
			t.Errorf("width %d: Hidden %v but header %q", width, tbl.Hidden(), lines[0])
		}
		if width < natural && !strings.Contains(out.String(), "…") {
			t.Errorf("width %d: nothing shrunk:\n%s", width, out.String())
		}
	}
}

// A streamed table fits the same way before its first row; a shrunk last column,
// whose cells' length nobody knows in advance, takes the room its row leaves.
func TestStreamTableFitsWithUnknownLastColumn(t *testing.T) {
	var out bytes.Buffer
	st := NewStreamTable(&out, Styles{}, Column{"ID", 5}, Column{"STATUS", 9}, Column{"ROBOT", 13}, Column{"NOTE", 0})
	st.Fit(40, Shrink("NOTE", 4), Drop("ROBOT"))
	_ = st.Row([]string{"1", "FUNDED", "0x5c8d…4b5c6d", "overdue by three days and more words"}, nil)
	_ = st.Row([]string{"22", "COMPLETED", "0x5c8d…4b5c6d", "x"}, nil)
	want := "ID     STATUS     ROBOT          NOTE\n" +
		"1      FUNDED     0x5c8d…4b5c6d  overdu…\n" +
		"22     COMPLETED  0x5c8d…4b5c6d  x\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	st = NewStreamTable(&out, Styles{}, Column{"ID", 5}, Column{"STATUS", 9}, Column{"ROBOT", 13}, Column{"NOTE", 0})
	st.Fit(30, Shrink("NOTE", 4), Drop("ROBOT"))
	_ = st.Row([]string{"1", "FUNDED", "0x5c8d…4b5c6d", "overdue by three days"}, nil)
	if want := "ID     STATUS     NOTE\n1      FUNDED     overdue by…\n"; out.String() != want || strings.Join(st.Hidden(), ",") != "ROBOT" {
		t.Fatalf("got\n%s\nwant\n%s(hidden %v)", out.String(), want, st.Hidden())
	}
}
