package ui

import (
	"strings"

	"github.com/vrwx/vrwxctl/pkg/report"
)

// alignMax is the widest name or value the columns align to; a longer one pushes
// only its own line's detail right, so one long value does not push every line.
const alignMax = 24

// RenderChecks prints checks as "icon name value detail" lines on stdout, with the
// fix under each line that has one. Every text is escaped (Safe) before it is
// measured, so a value can neither drive the terminal nor push a column. Columns
// are measured in cells; on a terminal a long detail or fix wraps under its own
// column, and a detail of several lines (an error quoting another) keeps its column
// in a pipe too — each of its lines escaped, so a newline in a value starts an
// indented continuation, never a line of its own.
func (o *IO) RenderChecks(checks []report.Check) { o.renderChecks(checks, nil) }

// changedMark starts a line whose check changed since the last reading (a watch).
const changedMark = "▸"

func (o *IO) renderChecks(checks []report.Check, changed func(report.Check) bool) {
	s := o.Styles()
	width := o.TableWidth()
	nameW, valueW := 0, 0
	shown := safeChecks(checks)
	for _, c := range shown {
		if w := Width(c.Name); w <= alignMax {
			nameW = max(nameW, w)
		}
		if w := Width(c.Value); w <= alignMax {
			valueW = max(valueW, w)
		}
	}
	var b strings.Builder
	for i, c := range shown {
		icon := s.OK.Render("✓")
		switch c.Level {
		case report.Warn:
			icon = s.Warn.Render("!")
		case report.Crit:
			icon = s.Crit.Render("✗")
		case report.Info:
			icon = s.Faint.Render("·")
		}
		lead, name, value := "  ", PadRight(c.Name, nameW), PadRight(c.Value, valueW)
		if changed != nil && changed(checks[i]) {
			// Changed since the last read: marked in the margin and drawn bold, so
			// the eye finds it without the columns moving.
			lead = s.Warn.Render(changedMark) + " "
			name, value = s.Bold.Render(name), s.Bold.Render(value)
		}
		line := lead + icon + " " + name + "  " + value
		if c.Detail == "" {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
		} else {
			col := Width(line) + 2
			writeHanging(&b, line+"  ", col, c.Detail, width, s.Faint.Render)
		}
		if c.Fix != "" {
			writeHanging(&b, "    "+s.Bold.Render("fix:")+" ", len("    fix: "), c.Fix, width, nil)
		}
	}
	_, _ = o.Out.Write([]byte(b.String()))
}

// writeHanging writes prefix and then text from column col, its further lines
// indented to col; on a terminal of width cells text wraps there, or — when that
// leaves too little room — starts on the next line at column 6.
func writeHanging(b *strings.Builder, prefix string, col int, text string, width int, style func(...string) string) {
	if style == nil {
		style = func(s ...string) string { return strings.Join(s, "") }
	}
	avail := 0
	if width > 0 {
		avail = width - col
		if avail < 30 && Width(text) > avail {
			b.WriteString(strings.TrimRight(prefix, " ") + "\n")
			prefix, col, avail = strings.Repeat(" ", 6), 6, max(width-6, 20)
		}
	}
	for i, l := range Wrap(text, avail) {
		if i == 0 {
			b.WriteString(prefix)
		} else {
			b.WriteString(strings.Repeat(" ", col))
		}
		b.WriteString(style(strings.TrimLeft(l, " ")) + "\n")
	}
}

// safeChecks is checks with every text escaped: a check's value or detail may quote
// what a node, a log or the operator gave. The section, name and value are one line
// each (Safe); a detail and a fix keep their lines (safeLines), which writeHanging
// indents under their column.
func safeChecks(checks []report.Check) []report.Check {
	out := make([]report.Check, len(checks))
	for i, c := range checks {
		c.Section, c.Name, c.Value, c.Detail, c.Fix = Safe(c.Section), Safe(c.Name), Safe(c.Value), safeLines(c.Detail), safeLines(c.Fix)
		out[i] = c
	}
	return out
}

// safeLines is s with every line escaped (Safe): its newlines are kept, every
// other control character (a carriage return, a tab, an escape) is shown.
func safeLines(s string) string {
	if !needsEscape(s, false) {
		return s
	}
	parts := strings.Split(s, "\n")
	for i, l := range parts {
		parts[i] = Safe(l)
	}
	return strings.Join(parts, "\n")
}
