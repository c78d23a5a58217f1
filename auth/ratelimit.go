package auth

import (
	"context"
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

// noReservation is used when a rule is disabled.
type noReservation struct{}

func (noReservation) Done(bool) {}
