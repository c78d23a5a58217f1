package auth

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBcryptPoolBoundsAndQueues: at most slots jobs run at once; a caller waits for a thread at
// most the queue timeout (ErrBusy) or until its context ends, and a job that started finishes.
func TestBcryptPoolBoundsAndQueues(t *testing.T) {
	p := newBcryptPool(2)
	var running, peak atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.do(context.Background(), time.Minute, nil, func() {
				n := running.Add(1)
				for {
					old := peak.Load()
					if n <= old || peak.CompareAndSwap(old, n) {
						break
					}
				}
				<-release
				running.Add(-1)
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	for running.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	if err := p.do(context.Background(), 20*time.Millisecond, nil, func() {}); !errors.Is(err, ErrBusy) {
		t.Fatalf("a third job with both threads busy: %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.do(ctx, time.Minute, nil, func() {}); !errors.Is(err, context.Canceled) {
		t.Fatalf("a third job with a cancelled context: %v", err)
	}
	close(release)
	wg.Wait()
	if peak.Load() != 2 {
		t.Fatalf("peak concurrency %d, want 2", peak.Load())
	}
	var ran bool
	if err := p.do(context.Background(), time.Second, nil, func() { ran = true }); err != nil || !ran {
		t.Fatalf("after the others finished: ran=%v err=%v", ran, err)
	}
}

// TestBcryptPoolWorkersEndWhenIdle: idle workers end (their threads with them), and the pool
// starts new ones for later work, also for callers that arrive while workers are ending.
func TestBcryptPoolWorkersEndWhenIdle(t *testing.T) {
	p := newBcryptPool(2)
	p.idle = time.Millisecond
	for round := range 50 {
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := p.do(context.Background(), 5*time.Second, nil, func() { time.Sleep(time.Duration(round%3) * time.Millisecond) }); err != nil {
					t.Errorf("round %d: %v", round, err)
				}
			}()
		}
		wg.Wait()
		time.Sleep(time.Duration(round%4) * time.Millisecond)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		live := p.live
		p.mu.Unlock()
		if live == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d workers still live long after the last job", live)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
