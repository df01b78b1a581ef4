package ui

import (
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// Table prints aligned columns, every cell escaped (Safe). On a terminal the header is bold; in a pipe it is
// plain text padded with spaces, so `awk '{print $2}'` works. A Table holds its rows
// to size the columns from them; a listing of unbounded length uses a StreamTable.
type Table struct {
	header []string
	rows   [][]cell
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

// Render writes the table to w with styles s, each column as wide as its widest cell.
func (t *Table) Render(w io.Writer, s Styles) {
	cols := make([]Column, len(t.header))
	for i, h := range t.header {
		cols[i] = Column{Header: h}
	}
	for _, r := range t.rows {
		for i, c := range r {
			if i < len(cols) {
				cols[i].Width = max(cols[i].Width, lipgloss.Width(c.text))
			}
		}
	}
	st := NewStreamTable(w, s, cols...)
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
}

// NewStreamTable starts a table on w; a column is at least as wide as its header.
func NewStreamTable(w io.Writer, s Styles, cols ...Column) *StreamTable {
	t := &StreamTable{w: w, s: s, cols: append([]Column(nil), cols...)}
	for i := range t.cols {
		t.cols[i].Width = max(t.cols[i].Width, lipgloss.Width(t.cols[i].Header))
	}
	return t
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
	last := min(len(cells), len(t.cols)) - 1
	for i := 0; i <= last; i++ {
		text := Safe(cells[i])
		width := lipgloss.Width(text)
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

// Rows is the number of rows written.
func (t *StreamTable) Rows() int { return t.n }

func (t *StreamTable) header() error {
	t.line.Reset()
	for i, c := range t.cols {
		t.line.WriteString(t.s.Header.Render(c.Header))
		if i < len(t.cols)-1 {
			t.line.WriteString(strings.Repeat(" ", c.Width-lipgloss.Width(c.Header)+2))
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
