package ui

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Terminal control sequences a Screen uses (xterm's, which every terminal vrwxctl
// meets understands).
const (
	altScreenOn  = "\x1b[?1049h"
	altScreenOff = "\x1b[?1049l"
	cursorHide   = "\x1b[?25l"
	cursorShow   = "\x1b[?25h"
	cursorHome   = "\x1b[H"
	clearLineEnd = "\x1b[K"
	clearDown    = "\x1b[J"
)

// Screen shows a frame that is redrawn in place — `status --watch` — on the
// terminal's alternate screen, as top and watch do: the shell's screen comes back
// untouched when it ends, and the last frame is then printed on it so the final
// reading stays in the scrollback. Without a terminal each frame is simply written
// after the one before.
type Screen struct {
	io   *IO
	on   bool
	last string
}

// StartScreen takes the terminal's alternate screen when stdout is a terminal.
func (o *IO) StartScreen() *Screen {
	sc := &Screen{io: o, on: o.OutTTY}
	if sc.on {
		_ = o.writeOwn(altScreenOn + cursorHide)
	}
	return sc
}

// Frame renders fn's output (what it writes to the IO's stdout) as one frame.
func (sc *Screen) Frame(fn func()) string {
	var b bytes.Buffer
	out := sc.io.Out
	sc.io.Out = &b
	defer func() { sc.io.Out = out }()
	fn()
	return b.String()
}

// Draw shows frame: on the alternate screen in place of the one before (each line
// cleared to its end, everything below it cleared, so nothing of a longer frame
// stays), elsewhere after it. On the screen the frame's text passes the filters
// stdout's text passes (IO.filterOut) and the screen's sequences are written around
// it past them: a value's escape sequence is shown escaped, the screen's own move
// the cursor.
func (sc *Screen) Draw(frame string) error {
	if !sc.on {
		sc.last = frame
		_, err := io.WriteString(sc.io.Out, frame)
		sc.io.Flush()
		return err
	}
	frame = sc.io.filterOut(frame)
	sc.last = frame
	lines := strings.SplitAfter(frame, "\n")
	if h := sc.io.OutHeight; h > 1 && len(lines) > h {
		// A frame taller than the terminal would scroll it, and the next redraw from
		// the top would land on the wrong lines: what does not fit is counted instead.
		more := len(lines) - (h - 1)
		if lines[len(lines)-1] == "" {
			more--
		}
		lines = append(lines[:h-1], fmt.Sprintf("… %d more line(s): a taller window shows them", more))
	}
	var b strings.Builder
	b.WriteString(cursorHome)
	for _, l := range lines {
		if l == "" {
			continue
		}
		b.WriteString(strings.TrimSuffix(l, "\n") + clearLineEnd)
		if strings.HasSuffix(l, "\n") {
			b.WriteString("\n")
		}
	}
	b.WriteString(clearDown)
	return sc.io.writeOwn(b.String())
}

// Close gives the terminal its own screen back and prints the last frame there.
func (sc *Screen) Close() {
	if !sc.on {
		return
	}
	sc.on = false
	// sc.last has passed the filters (Draw).
	_ = sc.io.writeOwn(altScreenOff + cursorShow + sc.last)
}
