package itest

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer that a logger on other goroutines (a server's, a handler's) and the
// test reading it may share.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Eventually polls cond every 10 ms until it holds, failing the test (naming what) after within;
// it returns how long that took.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	return EventuallyEvery(t, within, 10*time.Millisecond, what, cond)
}

// EventuallyEvery is Eventually polling every `every` (a race test waits for a metric at 2 ms).
func EventuallyEvery(t testing.TB, within, every time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(every)
	}
	return time.Since(start)
}
