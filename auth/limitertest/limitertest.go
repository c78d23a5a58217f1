// Package limitertest is the behaviour suite every auth.Limiter must pass, so that the
// in-memory limiter and the shared Redis one agree. A limiter's tests call Run:
//
//	func TestLimiterConformance(t *testing.T) {
//		limitertest.Run(t, func(t *testing.T, now func() time.Time) auth.Limiter { return ... })
//	}
package limitertest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/fakeclock"

	"github.com/example/gqlauth/auth"
)

// Factory returns a fresh, empty limiter of its own that reads the time from now.
type Factory func(t *testing.T, now func() time.Time) auth.Limiter

// Clock is the tests' manual clock; limiters count in milliseconds, so NewClock starts it on a
// whole one.
type Clock = fakeclock.Clock

// NewClock returns a clock at a fixed instant.
func NewClock() *Clock { return fakeclock.New(time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)) }

const window = 15 * time.Minute

// Run runs every behaviour test as a parallel subtest, each on a new limiter and clock.
func Run(t *testing.T, newLimiter Factory) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock()
			tc.fn(t, newLimiter(t, clock.Now), clock)
		})
	}
}

var tests = []struct {
	name string
	fn   func(t *testing.T, l auth.Limiter, clock *Clock)
}{
	{"AttemptsInFlightCount", func(t *testing.T, l auth.Limiter, _ *Clock) {
		for range 3 {
			mustReserve(t, l, "k", 3)
		}
		retry := mustRefuse(t, l, "k", 3)
		if retry <= 0 || retry > window {
			t.Errorf("RetryAfter = %v with only attempts in flight; want a short positive wait", retry)
		}
	}},
	{"ReleaseGivesTheSlotBack", func(t *testing.T, l auth.Limiter, _ *Clock) {
		a := mustReserve(t, l, "k", 2)
		mustReserve(t, l, "k", 2)
		mustRefuse(t, l, "k", 2)
		a.Done(false)
		mustReserve(t, l, "k", 2)
		mustRefuse(t, l, "k", 2)
	}},
	{"CountedAttemptsStayForTheWindow", func(t *testing.T, l auth.Limiter, clock *Clock) {
		for range 3 {
			mustReserve(t, l, "k", 3).Done(true)
			clock.Add(time.Minute)
		}
		// Counted at 0, 1 and 2 minutes; now is 3 minutes: the first leaves at 15.
		retry := mustRefuse(t, l, "k", 3)
		checkRetry(t, retry, 12*time.Minute)
		clock.Add(12*time.Minute - time.Millisecond)
		retry = mustRefuse(t, l, "k", 3)
		checkRetry(t, retry, time.Millisecond)
		clock.Add(time.Millisecond)
		mustReserve(t, l, "k", 3).Done(true) // the window slid past the first attempt
		retry = mustRefuse(t, l, "k", 3)
		checkRetry(t, retry, time.Minute) // the attempt at 1 minute leaves at 16
	}},
	{"RetryAfterNamesTheAttemptThatFreesASlot", func(t *testing.T, l auth.Limiter, clock *Clock) {
		for range 5 {
			mustReserve(t, l, "k", 5).Done(true)
			clock.Add(time.Minute)
		}
		// With a lower limit on the same key, the attempt that must leave is the 3rd newest.
		retry := mustRefuse(t, l, "k", 3)
		checkRetry(t, retry, window-3*time.Minute)
	}},
	{"DoneTwiceCountsOnce", func(t *testing.T, l auth.Limiter, _ *Clock) {
		r := mustReserve(t, l, "k", 2)
		r.Done(true)
		r.Done(true)
		r.Done(false)
		mustReserve(t, l, "k", 2).Done(true)
		mustRefuse(t, l, "k", 2)
	}},
	{"PendingAndCountedAddUp", func(t *testing.T, l auth.Limiter, _ *Clock) {
		mustReserve(t, l, "k", 3).Done(true)
		mustReserve(t, l, "k", 3).Done(true)
		p := mustReserve(t, l, "k", 3)
		retry := mustRefuse(t, l, "k", 3)
		if retry <= 0 {
			t.Errorf("RetryAfter = %v, want positive", retry)
		}
		p.Done(false)
		mustReserve(t, l, "k", 3)
	}},
	{"KeysAreIndependent", func(t *testing.T, l auth.Limiter, _ *Clock) {
		mustReserve(t, l, "login:account:a@example.com", 1).Done(true)
		mustRefuse(t, l, "login:account:a@example.com", 1)
		mustReserve(t, l, "login:account:b@example.com", 1)
		mustReserve(t, l, "login:ip:203.0.113.7", 1)
	}},
	{"ConcurrentReservationsNeverExceedTheLimit", func(t *testing.T, l auth.Limiter, _ *Clock) {
		const n, limit = 40, 10
		var (
			wg      sync.WaitGroup
			granted atomic.Int32
			refused atomic.Int32
			start   = make(chan struct{})
		)
		for range n {
			wg.Go(func() {
				<-start
				_, err := l.Reserve(context.Background(), "k", limit, window)
				var rl *auth.RateLimitedError
				switch {
				case err == nil:
					granted.Add(1)
				case errors.As(err, &rl):
					refused.Add(1)
				default:
					t.Errorf("Reserve: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if granted.Load() != limit || refused.Load() != n-limit {
			t.Errorf("granted %d, refused %d; want %d and %d", granted.Load(), refused.Load(), limit, n-limit)
		}
	}},
	{"ConcurrentFailuresAreAllCounted", func(t *testing.T, l auth.Limiter, _ *Clock) {
		const limit = 10
		var wg sync.WaitGroup
		for range limit {
			wg.Go(func() {
				r, err := l.Reserve(context.Background(), "k", limit, window)
				if err != nil {
					t.Errorf("Reserve: %v", err)
					return
				}
				r.Done(true)
			})
		}
		wg.Wait()
		mustRefuse(t, l, "k", limit)
	}},
}

func mustReserve(t *testing.T, l auth.Limiter, key string, limit int) auth.Reservation {
	t.Helper()
	r, err := l.Reserve(context.Background(), key, limit, window)
	if err != nil {
		t.Fatalf("Reserve(%s, %d): %v", key, limit, err)
	}
	return r
}

// mustRefuse returns the refusal's RetryAfter.
func mustRefuse(t *testing.T, l auth.Limiter, key string, limit int) time.Duration {
	t.Helper()
	r, err := l.Reserve(context.Background(), key, limit, window)
	var rl *auth.RateLimitedError
	if !errors.As(err, &rl) {
		if r != nil {
			r.Done(false)
		}
		t.Fatalf("Reserve(%s, %d) = %v, want *auth.RateLimitedError", key, limit, err)
	}
	return rl.RetryAfter
}

func checkRetry(t *testing.T, retry, want time.Duration) {
	t.Helper()
	if d := retry - want; d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("RetryAfter = %v, want %v", retry, want)
	}
}
