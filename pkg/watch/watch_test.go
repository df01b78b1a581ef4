package watch

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeTicker is a ticker the test ticks by hand; like time.Ticker's, its channel
// holds one tick and drops the ones that come while it is full.
type fakeTicker struct {
	c       chan time.Time
	stopped bool
}

func (f *fakeTicker) C() <-chan time.Time { return f.c }
func (f *fakeTicker) Stop()               { f.stopped = true }

func (f *fakeTicker) tick() {
	select {
	case f.c <- time.Time{}:
	default:
	}
}

// harness runs a loop whose reads return values from a script, recording what is
// shown; each Show hands control back to the test through shown.
type harness struct {
	ticker *fakeTicker
	shown  chan [2]*Reading[int]
	clock  time.Time
}

func newHarness() *harness {
	return &harness{ticker: &fakeTicker{c: make(chan time.Time, 1)}, shown: make(chan [2]*Reading[int]), clock: time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)}
}

func (h *harness) loop(read func(ctx context.Context, n int) (int, error)) *Loop[int] {
	n := 0
	return &Loop[int]{
		Interval: 5 * time.Second,
		Read: func(ctx context.Context) (int, error) {
			n++
			return read(ctx, n)
		},
		Show: func(cur Reading[int], prev *Reading[int]) error {
			h.shown <- [2]*Reading[int]{&cur, prev}
			return nil
		},
		Now:       func() time.Time { h.clock = h.clock.Add(time.Second); return h.clock },
		NewTicker: func(time.Duration) Ticker { return h.ticker },
	}
}

func (h *harness) next(t *testing.T) (cur, prev *Reading[int]) {
	t.Helper()
	select {
	case s := <-h.shown:
		return s[0], s[1]
	case <-time.After(time.Minute):
		t.Fatal("nothing was shown")
	}
	return nil, nil
}

// The first reading is shown at once, with nothing before it; each tick brings the
// next, shown with the one before; a failed read is shown (the operator sees the
// outage) and the loop goes on; Ctrl-C ends it with ErrStopped, the ticker stopped.
func TestLoopReadsAtOnceThenEachTickAndSurvivesAFailedRead(t *testing.T) {
	h := newHarness()
	down := errors.New("connection refused")
	l := h.loop(func(ctx context.Context, n int) (int, error) {
		if n == 2 {
			return 0, down
		}
		return n * 10, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()

	cur, prev := h.next(t)
	if cur.N != 1 || cur.Value != 10 || cur.Err != nil || prev != nil || cur.Took != time.Second {
		t.Fatalf("first: %+v prev %+v", cur, prev)
	}
	h.ticker.tick()
	cur, prev = h.next(t)
	if cur.N != 2 || !errors.Is(cur.Err, down) || prev == nil || prev.Value != 10 {
		t.Fatalf("failed read: %+v prev %+v", cur, prev)
	}
	h.ticker.tick()
	cur, prev = h.next(t)
	if cur.N != 3 || cur.Value != 30 || cur.Err != nil || prev.N != 2 || !cur.At.After(prev.At) {
		t.Fatalf("after the outage: %+v prev %+v", cur, prev)
	}
	cancel()
	if err := <-done; !errors.Is(err, ErrStopped) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after Ctrl-C: %v", err)
	}
	if !h.ticker.stopped {
		t.Fatal("the ticker was left running")
	}
}

// A read that outlasts several ticks is followed by one read, not by one per
// missed tick; a read longer than ReadTimeout is cut and shown as failed.
func TestLoopSlowReads(t *testing.T) {
	h := newHarness()
	l := h.loop(func(ctx context.Context, n int) (int, error) {
		if n == 1 {
			// Three ticks arrive while the first read runs.
			for range 3 {
				h.ticker.tick()
			}
		}
		if n == 3 {
			<-ctx.Done()
			return 0, ctx.Err()
		}
		return n, nil
	})
	l.ReadTimeout = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()
	h.next(t)
	cur, _ := h.next(t) // the piled-up ticks: one read
	if cur.N != 2 {
		t.Fatalf("second reading %+v", cur)
	}
	select {
	case s := <-h.shown:
		t.Fatalf("missed ticks were caught up on: reading %d shown without a new tick", s[0].N)
	case <-time.After(100 * time.Millisecond):
	}
	h.ticker.tick()
	cur, _ = h.next(t)
	if cur.N != 3 || !errors.Is(cur.Err, context.DeadlineExceeded) {
		t.Fatalf("a read past ReadTimeout: %+v", cur)
	}
	cancel()
	<-done
}

// Ctrl-C during a read ends the loop without showing the cut-short reading; a Show
// that fails (stdout gone) ends it with that error.
func TestLoopStops(t *testing.T) {
	h := newHarness()
	ctx, cancel := context.WithCancel(context.Background())
	l := h.loop(func(ctx context.Context, n int) (int, error) {
		if n == 2 {
			cancel()
			return 0, ctx.Err()
		}
		return n, nil
	})
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()
	h.next(t)
	h.ticker.tick()
	select {
	case err := <-done:
		if !errors.Is(err, ErrStopped) {
			t.Fatalf("Run: %v", err)
		}
	case s := <-h.shown:
		t.Fatalf("a reading cut short by Ctrl-C was shown: %+v", s[0])
	}

	gone := errors.New("broken pipe")
	l = &Loop[int]{Interval: time.Second, Read: func(context.Context) (int, error) { return 1, nil },
		Show: func(Reading[int], *Reading[int]) error { return gone }, NewTicker: func(time.Duration) Ticker { return &fakeTicker{c: make(chan time.Time)} }}
	if err := l.Run(context.Background()); !errors.Is(err, gone) {
		t.Fatalf("Show's error: %v", err)
	}
}
