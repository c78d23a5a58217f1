// Package testclock is the manual clock tests hand to whatever takes a `now func() time.Time`
// (auth.Config.Now, auth.TokenConfig.Now, limiters, verify.Options.Clock): one clock for every
// package's tests, safe for the goroutines of the code under test.
package testclock

import (
	"sync"
	"time"
)

// Clock is a manual clock: it stands still until a test moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// At returns a clock standing at t.
func At(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d (backward for a negative d).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Add is Advance, under the name the fixtures' clocks had before this package: branches
// written against them keep compiling.
func (c *Clock) Add(d time.Duration) { c.Advance(d) }
