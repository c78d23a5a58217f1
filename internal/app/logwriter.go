package app

import (
	"io"
	"sync"
	"time"
)

// asyncWriter batches log output: Write appends to a buffer and returns; a goroutine writes
// the buffer every interval, a full buffer (64 KiB) is written at once, and Close writes the
// rest. The access log keeps one line per request without one write(2) per request. A crash
// can lose at most the last interval's lines; a clean exit (Close) loses none.
type asyncWriter struct {
	w io.Writer

	wmu sync.Mutex // serialises writes to w, so lines keep their order
	mu  sync.Mutex // guards buf
	buf []byte

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

const asyncWriterLimit = 64 << 10

func newAsyncWriter(w io.Writer, interval time.Duration) *asyncWriter {
	a := &asyncWriter{w: w, buf: make([]byte, 0, asyncWriterLimit), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-a.stop:
				a.Flush()
				return
			case <-t.C:
				a.Flush()
			}
		}
	}()
	return a
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	a.mu.Lock()
	a.buf = append(a.buf, p...)
	full := len(a.buf) >= asyncWriterLimit
	a.mu.Unlock()
	if full {
		a.Flush()
	}
	return len(p), nil
}

// Flush writes what is buffered.
func (a *asyncWriter) Flush() {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	a.mu.Lock()
	if len(a.buf) == 0 {
		a.mu.Unlock()
		return
	}
	out := a.buf
	a.buf = make([]byte, 0, asyncWriterLimit)
	a.mu.Unlock()
	_, _ = a.w.Write(out)
}

// Close writes the rest and stops the flusher; later writes are still buffered and need a Flush.
func (a *asyncWriter) Close() {
	a.once.Do(func() { close(a.stop) })
	<-a.done
	a.Flush()
}
