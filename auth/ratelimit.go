package auth

import (
	"context"
	"sync"
	"time"
)

// Limiter counts attempts per key in a sliding window. Unlike a plain token bucket, an attempt
// is first reserved (so attempts in flight count against the limit) and then either counted or
// released when its outcome is known: a login limit counts failures only, yet fifty concurrent
// guesses cannot all slip through before the first one fails.
//
// The in-memory limiter below serves one instance; store/redis provides one shared by all
// instances. The libraries we looked at (ulule/limiter, redis_rate) count every hit and have no
// release, which is why this small interface exists.
type Limiter interface {
	// Reserve takes one slot under key, or returns a *RateLimitedError when limit attempts are
	// already counted or pending within window.
	Reserve(ctx context.Context, key string, limit int, window time.Duration) (Reservation, error)
}

// Reservation is a pending attempt.
type Reservation interface {
	// Done ends the attempt: counted (true) keeps it in the window, false gives the slot back.
	Done(counted bool)
}

// Limit is one rule: at most N attempts per Window. N <= 0 disables the rule.
type Limit struct {
	N      int
	Window time.Duration
}

// MemoryLimiter is a Limiter for a single instance.
type MemoryLimiter struct {
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
	sweeps  int
}

type bucket struct {
	hits    []time.Time // counted attempts, oldest first
	pending int
	window  time.Duration
}

// NewMemoryLimiter returns an empty in-memory limiter.
func NewMemoryLimiter(now func() time.Time) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	return &MemoryLimiter{now: now, buckets: map[string]*bucket{}}
}

// Reserve implements Limiter.
func (l *MemoryLimiter) Reserve(_ context.Context, key string, limit int, window time.Duration) (Reservation, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maybeSweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{window: window}
		l.buckets[key] = b
	}
	b.prune(now)
	if len(b.hits)+b.pending >= limit {
		retry := time.Second // only pending attempts block: they finish within seconds
		if len(b.hits) > 0 && len(b.hits) >= limit {
			retry = b.hits[len(b.hits)-limit].Add(window).Sub(now)
		}
		return nil, &RateLimitedError{RetryAfter: retry}
	}
	b.pending++
	return &memoryReservation{l: l, b: b}, nil
}

func (b *bucket) prune(now time.Time) {
	cut := 0
	for cut < len(b.hits) && !b.hits[cut].Add(b.window).After(now) {
		cut++
	}
	b.hits = b.hits[cut:]
}

// maybeSweep drops idle buckets now and then so memory stays bounded by active keys.
func (l *MemoryLimiter) maybeSweep(now time.Time) {
	l.sweeps++
	if l.sweeps < 1024 {
		return
	}
	l.sweeps = 0
	for k, b := range l.buckets {
		b.prune(now)
		if len(b.hits) == 0 && b.pending == 0 {
			delete(l.buckets, k)
		}
	}
}

type memoryReservation struct {
	l    *MemoryLimiter
	b    *bucket
	once sync.Once
}

func (r *memoryReservation) Done(counted bool) {
	r.once.Do(func() {
		r.l.mu.Lock()
		defer r.l.mu.Unlock()
		r.b.pending--
		if counted {
			r.b.hits = append(r.b.hits, r.l.now())
		}
	})
}

// noReservation is used when a rule is disabled.
type noReservation struct{}

func (noReservation) Done(bool) {}
