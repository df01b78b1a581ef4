// Package watch runs a reading again and again at an interval — `status --watch`
// during an incident — and hands each one to whoever shows it, with the reading
// before it to compare with. It knows nothing of what is read or how it is drawn: a
// clock and a ticker are injected, so its decisions (when to read, what a failed
// read does, how it stops) are tested without a chain or a terminal.
package watch

import (
	"context"
	"errors"
	"time"
)

// Reading is one read's outcome.
type Reading[T any] struct {
	// N counts the reads, from 1.
	N int
	// At is when the read started; Took how long it took.
	At   time.Time
	Took time.Duration
	// Value is what was read; Err why it could not be (Value is then the zero T).
	Value T
	Err   error
}

// Ticker delivers a time on C every interval until Stop.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Loop reads at once, then once per Interval, and shows each reading with the one
// before it (nil for the first). A read that fails is shown too — the operator
// sees the outage — and the loop goes on; a read that takes longer than the
// interval delays the next one instead of piling reads up. It ends when ctx does.
type Loop[T any] struct {
	Interval time.Duration
	// Read reads once; ReadTimeout, when set, bounds each read.
	Read        func(ctx context.Context) (T, error)
	ReadTimeout time.Duration
	// Show shows a reading; its error (stdout gone) ends the loop.
	Show func(cur Reading[T], prev *Reading[T]) error
	// Now and NewTicker are the clock (time.Now and time.NewTicker when nil).
	Now       func() time.Time
	NewTicker func(time.Duration) Ticker
}

// ErrStopped is what Run returns when ctx ended the watch (Ctrl-C).
var ErrStopped = errors.New("watch stopped")

// Run runs the loop until ctx ends (ErrStopped, wrapping ctx's error) or Show fails.
func (l *Loop[T]) Run(ctx context.Context) error {
	now := l.Now
	if now == nil {
		now = time.Now
	}
	newTicker := l.NewTicker
	if newTicker == nil {
		newTicker = func(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }
	}
	var prev *Reading[T]
	t := newTicker(l.Interval)
	defer t.Stop()
	for n := 1; ; n++ {
		if ctx.Err() != nil {
			return errors.Join(ErrStopped, ctx.Err())
		}
		cur := l.readOnce(ctx, n, now)
		if ctx.Err() != nil {
			// A read cut short by Ctrl-C is no reading to show.
			return errors.Join(ErrStopped, ctx.Err())
		}
		if err := l.Show(cur, prev); err != nil {
			return err
		}
		prev = &cur
		// A ticker holds one tick: the ticks missed while a slow read ran are
		// dropped, so the next read starts at once and none are caught up on.
		select {
		case <-ctx.Done():
			return errors.Join(ErrStopped, ctx.Err())
		case <-t.C():
		}
	}
}

func (l *Loop[T]) readOnce(ctx context.Context, n int, now func() time.Time) Reading[T] {
	rctx, cancel := ctx, context.CancelFunc(func() {})
	if l.ReadTimeout > 0 {
		rctx, cancel = context.WithTimeout(ctx, l.ReadTimeout)
	}
	defer cancel()
	start := now()
	v, err := l.Read(rctx)
	return Reading[T]{N: n, At: start, Took: now().Sub(start), Value: v, Err: err}
}

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }
