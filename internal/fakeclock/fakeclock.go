// Package fakeclock is the one manual clock of the tests: a time that moves only when a test
// says so, safe to read from the goroutines of the code under test. Stdlib only, so the tests of
// every package (auth, the limiters, passkey, verify, the adapters) may use it.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a manual clock. Its zero value stands at the zero time; New starts it elsewhere.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock standing at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time (pass the method value where code takes a `func() time.Time`).
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d (backwards when d < 0).
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set puts the clock at t (a test of time windows that jumps to each instant it checks).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
