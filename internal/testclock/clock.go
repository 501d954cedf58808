// Package testclock is a settable clock for tests: packages take a
// func() time.Time, and tests pass (*Clock).Now.
package testclock

import (
	"sync"
	"time"
)

// Start is the instant a Clock made by New shows first.
var Start = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// Clock is a clock that moves only when told. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock at Start.
func New() *Clock { return &Clock{t: Start} }

// At returns a clock at t.
func At(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
