package txflowtest

import (
	"sync"
	"time"
)

// Barrier returns a function that holds each of n callers until all n have called
// it (or 10 s have passed): n machines that act at the same instant — read the
// same snapshot (as Chain.AfterRead), or claim the same store.
func Barrier(n int) func() {
	var mu sync.Mutex
	arrived := 0
	open := make(chan struct{})
	return func() {
		mu.Lock()
		arrived++
		if arrived == n {
			close(open)
		}
		mu.Unlock()
		select {
		case <-open:
		case <-time.After(10 * time.Second):
		}
	}
}
