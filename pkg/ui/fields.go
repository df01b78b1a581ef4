package ui

import (
	"io"
	"strings"
)

// Fields is a block of "label  value" lines — a transaction's summary before the
// confirmation, a rotation's plan — whose values start in one column, measured in
// cells, so it looks the same on a terminal (styled labels) as in a pipe. On a
// terminal of known width a long value wraps under its own column instead of under
// the labels.
type Fields struct {
	rows []fieldRow
}

type fieldRow struct {
	label, value string
	warn         bool
}

// Row adds a line whose label is drawn faint. The value is escaped (Safe) and
// measured as escaped: it stays one logical line — on the screen where the operator
// confirms a payment, a value (an audit log's command, a typed reference) cannot
// forge a line of the summary — and wraps only by width.
func (f *Fields) Row(label, value string) {
	f.rows = append(f.rows, fieldRow{label: Safe(label), value: Safe(value)})
}

// Warn adds a line whose label and value are drawn as a warning (escaped as Row's).
func (f *Fields) Warn(label, value string) {
	f.rows = append(f.rows, fieldRow{label: Safe(label), value: Safe(value), warn: true})
}

// Render writes the block to w, indented by two spaces, styled with s, wrapped to
// width cells (0: no wrapping, as in a pipe).
func (f *Fields) Render(w io.Writer, s Styles, width int) {
	labelW := 0
	for _, r := range f.rows {
		labelW = max(labelW, Width(r.label))
	}
	const indent = 2
	valueCol := indent + labelW + 1
	avail := 0
	if width > 0 {
		// A terminal too narrow for a value column worth reading wraps at its edge.
		avail = max(width-valueCol, 20)
	}
	var b strings.Builder
	for _, r := range f.rows {
		label, value := s.Faint.Render(r.label), r.value
		lines := Wrap(value, avail)
		if r.warn {
			label = s.Warn.Render(r.label)
			for i := range lines {
				lines[i] = s.Warn.Render(lines[i])
			}
		}
		b.WriteString(strings.Repeat(" ", indent))
		b.WriteString(PadRight(label, labelW))
		for i, l := range lines {
			if i > 0 {
				b.WriteString("\n" + strings.Repeat(" ", valueCol))
			} else {
				b.WriteByte(' ')
			}
			b.WriteString(l)
		}
		b.WriteByte('\n')
	}
	_, _ = io.WriteString(w, b.String())
}
