package ui

import (
	"os"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"golang.org/x/term"
)

// Text is laid out in terminal cells, never in bytes: a styled string carries escape
// codes that take no room on screen (fmt's %-9s counts them, which is why a label
// column padded that way collapses on a terminal and only there), and "—" or "✓"
// take one cell for three bytes.

// Width is how many terminal cells s takes, escape codes not counted.
func Width(s string) int { return ansi.StringWidth(s) }

// PadRight pads s with spaces to width cells (s may be styled); a wider s is
// returned as it is.
func PadRight(s string, width int) string {
	if w := Width(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

// Truncate shortens s (which may be styled) to width cells, ending it with "…"
// when something was cut.
func Truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if Width(s) <= width {
		return s
	}
	return strings.TrimRight(ansi.Truncate(s, width-1, ""), " ") + "…"
}

// Wrap breaks s into lines of at most width cells, at spaces where it can and inside
// a word only when the word alone is longer: a hyphen is not a place to break
// (base-mainnet, a key's stage name, a URL stay whole). width <= 0 keeps s's own
// lines.
func Wrap(s string, width int) []string {
	var out []string
	for _, para := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if width <= 0 || Width(para) <= width {
			out = append(out, para)
			continue
		}
		line := ""
		for _, word := range strings.Fields(para) {
			if Width(word) > width {
				// Longer than a line: cut into lines of its own, the last piece going
				// on as the word.
				if line != "" {
					out = append(out, line)
					line = ""
				}
				pieces := strings.Split(ansi.Hardwrap(word, width, false), "\n")
				out = append(out, pieces[:len(pieces)-1]...)
				word = pieces[len(pieces)-1]
			}
			switch {
			case line == "":
				line = word
			case Width(line)+1+Width(word) <= width:
				line += " " + word
			default:
				out = append(out, line)
				line = word
			}
		}
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

// terminalSize is the width and height of the terminal f is attached to, 0 when
// it is none.
func terminalSize(f *os.File) (int, int) {
	w, h, err := term.GetSize(int(f.Fd()))
	if err != nil || w <= 0 || h <= 0 {
		return 0, 0
	}
	return w, h
}

// Heading lays out a report's first line: title (styled by the caller), then the
// faint details after two spaces. When the line is wider than width (> 0), the
// details go below the title instead, indented two cells and wrapped at spaces, so
// a terminal never breaks them inside a URL or a number.
func Heading(s Styles, width int, title, details string) string {
	if details == "" {
		return title
	}
	one := title + "  " + s.Faint.Render(details)
	if width <= 0 || Width(one) <= width {
		return one
	}
	var b strings.Builder
	b.WriteString(title)
	for _, l := range Wrap(details, max(width-2, 20)) {
		b.WriteString("\n  " + s.Faint.Render(l))
	}
	return b.String()
}
