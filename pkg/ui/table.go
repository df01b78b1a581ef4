package ui

import (
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// Table prints aligned columns, every cell escaped (Safe) and measured as escaped.
// On a terminal the header is bold; in a pipe it is plain text padded with spaces,
// so `awk '{print $2}'` works. A Table holds its rows to size the columns from
// them; a listing of unbounded length uses a StreamTable.
type Table struct {
	header []string
	rows   [][]cell
	steps  []FitStep
	hidden []string
}

type cell struct {
	text  string
	style *lipgloss.Style
}

// NewTable starts a table with the given column headers.
func NewTable(header ...string) *Table { return &Table{header: header} }

// Row adds a row of plain cells.
func (t *Table) Row(cells ...string) {
	r := make([]cell, len(cells))
	for i, c := range cells {
		r[i] = cell{text: Safe(c)}
	}
	t.rows = append(t.rows, r)
}

// StyledRow adds a row whose cells carry styles (nil = plain).
func (t *Table) StyledRow(cells []string, styles []*lipgloss.Style) {
	r := make([]cell, len(cells))
	for i, c := range cells {
		r[i] = cell{text: Safe(c)}
		if i < len(styles) {
			r[i].style = styles[i]
		}
	}
	t.rows = append(t.rows, r)
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.rows) }

// Fit says how the table gives way on a terminal narrower than its rows: the steps
// are taken in order, least important column first, until it fits (Render with a
// width; a pipe, JSON and --wide render every column in full).
func (t *Table) Fit(steps ...FitStep) { t.steps = steps }

// Hidden names the columns the last Render dropped to fit its width.
func (t *Table) Hidden() []string { return t.hidden }

// Render writes the table to w with styles s, each column as wide as its widest cell.
func (t *Table) Render(w io.Writer, s Styles) { t.RenderWidth(w, s, 0) }

// RenderWidth is Render fitted to width cells (a terminal's; 0: no limit) by the Fit
// steps.
func (t *Table) RenderWidth(w io.Writer, s Styles, width int) {
	cols := make([]Column, len(t.header))
	for i, h := range t.header {
		cols[i] = Column{Header: h}
	}
	for _, r := range t.rows {
		for i, c := range r {
			if i < len(cols) {
				cols[i].Width = max(cols[i].Width, Width(c.text))
			}
		}
	}
	st := NewStreamTable(w, s, cols...)
	st.Fit(width, t.steps...)
	t.hidden = st.Hidden()
	if len(t.rows) == 0 {
		_ = st.header()
	}
	cells := make([]string, len(cols))
	styles := make([]*lipgloss.Style, len(cols))
	for _, r := range t.rows {
		cells, styles = cells[:0], styles[:0]
		for _, c := range r {
			cells, styles = append(cells, c.text), append(styles, c.style)
		}
		_ = st.Row(cells, styles)
	}
}

// Column is a column of a StreamTable: its header and its width in cells. The width
// is fixed before the first row, from what the column's type can hold (a status name,
// a shortened hash, the digits of the last id in a range), never from the rows.
type Column struct {
	Header string
	Width  int
}

// FitStep is one way a table gives way to a narrow terminal: a column shrunk (its
// cells cut with "…") down to a least width, or dropped.
type FitStep struct {
	header string
	min    int
	drop   bool
}

// Shrink cuts the column named header down to as few as min cells, as far as needed.
func Shrink(header string, min int) FitStep { return FitStep{header: header, min: min} }

// Drop leaves the column named header out.
func Drop(header string) FitStep { return FitStep{header: header, drop: true} }

// StreamTable writes each row the moment it is given, aligned to widths fixed up
// front, so a listing of a million rows costs the memory of one. The header is
// written with the first row; a table given no rows writes nothing. A cell wider than
// its column pushes the rest of its row right by what it overflows (two spaces always
// separate cells, so `awk` still splits it), and the next cells take back the room
// they can, so one long value does not shift a whole line.
type StreamTable struct {
	w    io.Writer
	s    Styles
	cols []Column
	n    int
	line strings.Builder
	// Set by Fit: keep says which columns are shown, limit cuts a shrunk column's
	// cells (0: never cut), width is the terminal's.
	keep  []bool
	limit []int
	width int
}

// NewStreamTable starts a table on w; a column is at least as wide as its header.
func NewStreamTable(w io.Writer, s Styles, cols ...Column) *StreamTable {
	t := &StreamTable{w: w, s: s, cols: append([]Column(nil), cols...)}
	t.keep = make([]bool, len(t.cols))
	t.limit = make([]int, len(t.cols))
	for i := range t.cols {
		t.cols[i].Width = max(t.cols[i].Width, Width(t.cols[i].Header))
		t.keep[i] = true
	}
	return t
}

// Fit makes the table fit width cells (a terminal's; 0 changes nothing), taking
// steps in order while it is too wide. A shrunk last column takes whatever room its
// row leaves. Call it before the first row.
func (t *StreamTable) Fit(width int, steps ...FitStep) {
	if width <= 0 {
		return
	}
	t.width = width
	index := map[string]int{}
	for i, c := range t.cols {
		index[c.Header] = i
	}
	total := -2
	for i, c := range t.cols {
		if t.keep[i] {
			total += c.Width + 2
		}
	}
	natural := make([]int, len(t.cols))
	for i, c := range t.cols {
		natural[i] = c.Width
	}
	var shrunk []int
	for _, st := range steps {
		i, ok := index[st.header]
		if !ok || !t.keep[i] {
			continue
		}
		if !st.drop {
			// Mark the column as one whose cells may be cut, even when it fits now:
			// a streamed last column learns its length only row by row.
			t.limit[i] = t.cols[i].Width
		}
		if total <= width {
			continue
		}
		if st.drop {
			t.keep[i] = false
			total -= t.cols[i].Width + 2
			continue
		}
		cut := min(max(t.cols[i].Width-st.min, 0), total-width)
		t.cols[i].Width -= cut
		t.limit[i] = t.cols[i].Width
		total -= cut
		if cut > 0 {
			shrunk = append(shrunk, i)
		}
	}
	// A column dropped after another was cut may leave room: the cut columns get it
	// back, the last cut first (it is the more important one).
	for k := len(shrunk) - 1; k >= 0 && total < width; k-- {
		i := shrunk[k]
		if !t.keep[i] {
			continue
		}
		grow := min(natural[i]-t.cols[i].Width, width-total)
		t.cols[i].Width += grow
		t.limit[i] = t.cols[i].Width
		total += grow
	}
}

// Hidden names the columns Fit dropped.
func (t *StreamTable) Hidden() []string {
	var out []string
	for i, c := range t.cols {
		if !t.keep[i] {
			out = append(out, c.Header)
		}
	}
	return out
}

// Row writes one row of cells with their styles (nil = plain), after the header when
// it is the first. Control characters in a cell are escaped (Safe): a value can
// neither break the row in two nor drive the terminal.
func (t *StreamTable) Row(cells []string, styles []*lipgloss.Style) error {
	if t.n == 0 {
		if err := t.header(); err != nil {
			return err
		}
	}
	t.line.Reset()
	pos, want := 0, 0
	last := t.lastKept(len(cells))
	for i := 0; i <= last; i++ {
		if !t.keep[i] {
			continue
		}
		// Escaped first, then measured and cut: the width is what is printed.
		text := Safe(cells[i])
		if t.limit[i] > 0 {
			room := t.limit[i]
			if i == last && t.width > 0 {
				room = max(t.width-pos, t.limit[i])
			}
			text = Truncate(text, room)
		}
		width := Width(text)
		if i < len(styles) && styles[i] != nil {
			text = styles[i].Render(text)
		}
		t.line.WriteString(text)
		pos += width
		want += t.cols[i].Width + 2
		if i < last {
			pad := max(2, want-pos)
			t.line.WriteString(strings.Repeat(" ", pad))
			pos += pad
		}
	}
	t.line.WriteByte('\n')
	t.n++
	_, err := io.WriteString(t.w, trimLine(t.line.String()))
	return err
}

// lastKept is the index of the last shown column among the first n.
func (t *StreamTable) lastKept(n int) int {
	last := min(n, len(t.cols)) - 1
	for last >= 0 && !t.keep[last] {
		last--
	}
	return last
}

// Rows is the number of rows written.
func (t *StreamTable) Rows() int { return t.n }

func (t *StreamTable) header() error {
	t.line.Reset()
	last := t.lastKept(len(t.cols))
	for i, c := range t.cols {
		if !t.keep[i] {
			continue
		}
		h := c.Header
		if t.limit[i] > 0 && i != last {
			h = Truncate(h, c.Width)
		}
		t.line.WriteString(t.s.Header.Render(h))
		if i < last {
			t.line.WriteString(strings.Repeat(" ", max(c.Width-Width(h), 0)+2))
		}
	}
	t.line.WriteByte('\n')
	_, err := io.WriteString(t.w, trimLine(t.line.String()))
	return err
}

// trimLine drops the padding before the newline an empty last cell leaves.
func trimLine(s string) string {
	return strings.TrimRight(s[:len(s)-1], " ") + "\n"
}
