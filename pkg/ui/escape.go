package ui

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// Safe returns s as one line a terminal shows as it is: every control character —
// newline and tab included, escape sequences, DEL, the C1 controls and the
// bidirectional overrides that reorder what is shown — written as a visible escape
// (\n, \t, \x1b, \u009b, \u202e). Every value a table, a check or a status line
// renders passes through it, so a value read from a log, a database or a flag
// (audit list --reason) can neither forge a row nor drive the terminal.
func Safe(s string) string {
	if !needsEscape(s, false) {
		return s
	}
	var b strings.Builder
	writeEscaped(&b, s, false)
	return b.String()
}

// needsEscape reports whether s holds a character Safe (or, with lines, the stream
// filter) escapes.
func needsEscape(s string, lines bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			if lines && (c == '\n' || c == '\t') {
				continue
			}
			return true
		}
		if c >= 0x80 {
			r, _ := utf8.DecodeRuneInString(s[i:])
			if escapedRune(r) {
				return true
			}
		}
	}
	return false
}

// escapedRune reports whether r is a C1 control or a bidirectional control.
func escapedRune(r rune) bool {
	return r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f
}

// writeEscaped writes s with control characters escaped; with lines, newlines and
// tabs are kept (a stream's own line structure).
func writeEscaped(b *strings.Builder, s string, lines bool) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\n' && !lines:
			b.WriteString(`\n`)
		case c == '\t' && !lines:
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 && c != '\n' && c != '\t':
			fmt.Fprintf(b, `\x%02x`, c)
		case c == 0x7f:
			b.WriteString(`\u007f`)
		case c >= 0x80:
			r, n := utf8.DecodeRuneInString(s[i:])
			if escapedRune(r) {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
			continue
		default:
			b.WriteByte(c)
		}
		i++
	}
}

// safeArgs escapes the text among a status line's arguments (strings and errors);
// numbers, addresses and other values that format themselves are left to the verb.
func safeArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = Safe(v)
		case error:
			out[i] = Safe(v.Error())
		default:
			out[i] = a
		}
	}
	return out
}

// termWriter is the last filter before a terminal (or a pipe): it lets newlines and
// tabs through, and the colour sequences (ESC [ digits ; m) vrwxctl's own styles
// write when the stream is styled, and writes every other control character as a
// visible escape. No escape sequence that moves the cursor, clears the screen or
// sets the window title (\e]0;…\a\e[2J) reaches the terminal, whatever a value
// held. JSON stays JSON: its encoder already escapes control characters, and what
// it leaves raw (DEL, C1, bidi) becomes a \u escape, valid inside a JSON string.
type termWriter struct {
	mu     sync.Mutex
	w      io.Writer
	styled func() bool
	// held is the start of a colour sequence a write ended in.
	held []byte
}

func (t *termWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(t.held) + string(p)
	t.held = t.held[:0]
	if !needsEscape(s, true) {
		_, err := io.WriteString(t.w, s)
		return len(p), err
	}
	styled := t.styled != nil && t.styled()
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, 0x1b)
		if i < 0 {
			writeEscaped(&b, s, true)
			break
		}
		writeEscaped(&b, s[:i], true)
		s = s[i:]
		n, complete := sgrLen(s)
		if styled && n > 0 {
			b.WriteString(s[:n])
			s = s[n:]
			continue
		}
		if styled && !complete && len(s) < 32 {
			// A colour sequence cut by the write: wait for its end.
			t.held = append(t.held, s...)
			break
		}
		b.WriteString(`\x1b`)
		s = s[1:]
	}
	_, err := io.WriteString(t.w, b.String())
	return len(p), err
}

// Flush writes what is held back (an unfinished sequence, escaped).
func (t *termWriter) Flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.held) == 0 {
		return nil
	}
	var b strings.Builder
	writeEscaped(&b, string(t.held), true)
	t.held = t.held[:0]
	_, err := io.WriteString(t.w, b.String())
	return err
}

// sgrLen is the length of the colour sequence (ESC [ params m) s starts with, 0
// when it starts with none; complete is false when s ends before the sequence could.
func sgrLen(s string) (n int, complete bool) {
	if len(s) < 2 {
		return 0, false
	}
	if s[1] != '[' {
		return 0, true
	}
	for i := 2; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'm':
			return i + 1, true
		case c >= '0' && c <= '9' || c == ';':
		default:
			return 0, true
		}
	}
	return 0, false
}
