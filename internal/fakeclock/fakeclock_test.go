package fakeclock

import (
	"sync"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	start := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	c := New(start)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { c.Add(time.Second); _ = c.Now() })
	}
	wg.Wait()
	if got := c.Now(); !got.Equal(start.Add(10 * time.Second)) {
		t.Fatalf("after 10 × 1s: %v", got)
	}
	c.Add(-10 * time.Second)
	if !c.Now().Equal(start) {
		t.Fatalf("back: %v", c.Now())
	}
}
