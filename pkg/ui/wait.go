package ui

import (
	"context"
	"fmt"
	"time"
)

// Waiter shows that a command is waiting, on stderr: on a terminal one line
// rewritten in place with the time elapsed and, when the wait has a deadline, the
// time left ("waiting for X… 12s elapsed, 1m48s left"); elsewhere (a pipe, a log)
// a plain line every Every, so a CI log shows the wait without a flood.
type Waiter struct {
	io    *IO
	what  string
	start time.Time
	// deadline is the wait's end (zero: none).
	deadline time.Time
	// Every is how often a plain line is written off a terminal (default 5s).
	Every time.Duration
	last  time.Duration
	shown bool
	now   func() time.Time
}

// Waiting starts showing a wait for what (e.g. "0xabc… to be mined"); ctx's
// deadline, when it has one, is what "left" counts down to.
func (o *IO) Waiting(ctx context.Context, what string) *Waiter {
	w := &Waiter{io: o, what: what, start: time.Now(), Every: 5 * time.Second, now: time.Now, last: -time.Hour}
	if d, ok := ctx.Deadline(); ok {
		w.deadline = d
	}
	return w
}

// Line is the progress line at elapsed.
func (w *Waiter) Line(elapsed time.Duration) string {
	s := fmt.Sprintf("  waiting for %s… %s elapsed", w.what, Duration(elapsed))
	if !w.deadline.IsZero() {
		left := max(w.deadline.Sub(w.start.Add(elapsed)), 0)
		s += fmt.Sprintf(", %s left", Duration(left))
	}
	return s
}

// Tick shows the progress now: the terminal's line is redrawn (at most every
// second), a plain line is written every Every.
func (w *Waiter) Tick() {
	elapsed := w.now().Sub(w.start)
	if w.io.ErrTTY {
		if w.shown && elapsed-w.last < time.Second && elapsed >= w.last {
			return
		}
		w.last, w.shown = elapsed, true
		fmt.Fprint(w.io.ErrOut, "\r\033[K"+w.Line(elapsed))
		return
	}
	if elapsed-w.last >= w.Every {
		w.last = elapsed
		fmt.Fprintln(w.io.ErrOut, w.Line(elapsed))
	}
}

// Printf writes a line of its own during the wait, below nothing: the terminal's
// progress line is cleared first and redrawn on the next Tick.
func (w *Waiter) Printf(format string, args ...any) {
	w.Clear()
	fmt.Fprintln(w.io.ErrOut, fmt.Sprintf(format, args...))
}

// Clear removes the terminal's progress line (nothing elsewhere).
func (w *Waiter) Clear() {
	if w.shown {
		fmt.Fprint(w.io.ErrOut, "\r\033[K")
		w.shown = false
	}
}
