package ui

import (
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// Table prints aligned columns. On a terminal the header is bold; in a pipe it is
// plain text padded with spaces, so `awk '{print $2}'` works.
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
		r[i] = cell{text: c}
	}
	t.rows = append(t.rows, r)
}

// StyledRow adds a row whose cells carry styles (nil = plain).
func (t *Table) StyledRow(cells []string, styles []*lipgloss.Style) {
	r := make([]cell, len(cells))
	for i, c := range cells {
		r[i] = cell{text: c}
		if i < len(styles) {
			r[i].style = styles[i]
		}
	}
	t.rows = append(t.rows, r)
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.rows) }

// Render writes the table to w with styles s.
func (t *Table) Render(w io.Writer, s Styles) {
	widths := make([]int, len(t.header))
	for i, h := range t.header {
		widths[i] = len(h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			if i < len(widths) && lipgloss.Width(c.text) > widths[i] {
				widths[i] = lipgloss.Width(c.text)
			}
		}
	}
	line := func(cells []cell, header bool) {
		var b strings.Builder
		for i, c := range cells {
			text := c.text
			pad := ""
			if i < len(cells)-1 {
				pad = strings.Repeat(" ", widths[i]-lipgloss.Width(text)+2)
			}
			switch {
			case header:
				text = s.Header.Render(text)
			case c.style != nil:
				text = c.style.Render(text)
			}
			b.WriteString(text + pad)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	hdr := make([]cell, len(t.header))
	for i, h := range t.header {
		hdr[i] = cell{text: h}
	}
	line(hdr, true)
	for _, r := range t.rows {
		line(r, false)
	}
}
