package exportertest

import (
	"sync"
	"time"
)

// Clock is the time as a test moves it, for an exporter's Now and its reader's:
// readings go stale, and the relay ledger's lag passes, when the test says so,
// not when the wall clock does — so a loaded machine changes nothing a test sees.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock d forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
