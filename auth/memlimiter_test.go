package auth_test

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/auth/limitertest"
)

func reserveOK(t *testing.T, l auth.Limiter, key string, limit int) auth.Reservation {
	t.Helper()
	r, err := l.Reserve(context.Background(), key, limit, 15*time.Minute)
	if err != nil {
		t.Fatalf("Reserve(%s): %v", key, err)
	}
	return r
}

func refused(l auth.Limiter, key string, limit int) bool {
	r, err := l.Reserve(context.Background(), key, limit, 15*time.Minute)
	if err == nil {
		r.Done(false)
		return false
	}
	var rl *auth.RateLimitedError
	return errors.As(err, &rl)
}

// A spray of a million keys (rotating addresses, invented emails), each with a counted attempt
// still in its window, keeps the limiter within its budget, in its own accounting and on the
// heap; the keys in use survive it, the least recently used ones are what it forgets. A small
// budget, where the slab cannot grow in whole pages, behaves alike.
func TestMemoryLimiterSizeBound(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spray  int
		budget int64
	}{
		{"default budget", 1_000_000, auth.DefaultLimiterBytes},
		{"4 MiB", 150_000, 4 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if raceEnabled && tc.spray > 200_000 {
				t.Skip("30 times slower with -race: the smaller spray runs")
			}
			sprayLimiter(t, tc.spray, tc.budget)
		})
	}
}

func sprayLimiter(t *testing.T, spray int, budget int64) {
	clock := limitertest.NewClock() // nothing expires: only the bound can keep memory in check
	before := heapAlloc()
	l := auth.NewMemoryLimiterSize(clock.Now, budget)

	reserveOK(t, l, "login:account:forgotten@example.com", 10).Done(true)
	for range 5 {
		reserveOK(t, l, "login:account:active@example.com", 10).Done(true)
	}
	for i := range spray {
		r, err := l.Reserve(context.Background(), "login:account:sprayed"+strconv.Itoa(i)+"@example.com", 10, 15*time.Minute)
		if err != nil {
			t.Fatalf("spray %d: %v", i, err)
		}
		r.Done(true)
		if i%(spray/20) == 0 { // the active account keeps being used, and so kept
			reserveOK(t, l, "login:account:active@example.com", 10).Done(false)
		}
	}
	after := heapAlloc()
	runtime.KeepAlive(l)

	if b := l.Bytes(); b > budget {
		t.Errorf("accounted %d bytes, over the budget of %d", b, budget)
	}
	n := l.Len()
	if n < int(budget/100) || n >= spray {
		t.Errorf("%d buckets after %d keys: want the budget's worth (about 80 bytes each)", n, spray)
	}
	grown := int64(after) - int64(before)
	t.Logf("%d buckets, %d bytes accounted, heap grew %d bytes (%.0f B/bucket)", n, l.Bytes(), grown, float64(grown)/float64(n))
	// The allocator rounds a shard's last, partial slab page up to its size class: up to 8 KiB.
	if slack := budget/20 + 64*8<<10; !raceEnabled && grown > budget+slack {
		t.Errorf("heap grew %d bytes for a budget of %d", grown, budget)
	}
	if !refused(l, "login:account:active@example.com", 5) {
		t.Error("the account in use lost its 5 counted attempts")
	}
	if refused(l, "login:account:forgotten@example.com", 1) {
		t.Errorf("the least recently used bucket survived a spray of %d keys", spray)
	}
}

// Cleanup is incremental: each Reserve frees a few idle buckets, so buckets whose window has
// passed go away as the limiter is used, without any walk over all of them.
func TestMemoryLimiterSweepsIdleBuckets(t *testing.T) {
	clock := limitertest.NewClock()
	l := auth.NewMemoryLimiter(clock.Now)
	for i := range 10_000 {
		reserveOK(t, l, "k"+strconv.Itoa(i), 10).Done(true)
	}
	clock.Add(15 * time.Minute)
	// Each Reserve sweeps its key's shard (up to 4 buckets); these keys reach every shard and
	// leave nothing themselves.
	for i := range 10_000 {
		reserveOK(t, l, "probe"+strconv.Itoa(i), 1).Done(false)
	}
	if n := l.Len(); n != 0 {
		t.Errorf("%d buckets left after their window passed", n)
	}
}

// A reservation given back with nothing counted leaves no bucket: successful logins cost no
// memory.
func TestMemoryLimiterReleasedLeavesNothing(t *testing.T) {
	l := auth.NewMemoryLimiter(nil)
	for i := range 1000 {
		reserveOK(t, l, "login:account:u"+strconv.Itoa(i)+"@example.com", 10).Done(false)
	}
	if n := l.Len(); n != 0 {
		t.Errorf("%d buckets after released reservations, want 0", n)
	}
}

// Buckets with attempts in flight are never evicted (their attempts must count); when only
// such buckets are left, a new key is refused rather than let through uncounted.
func TestMemoryLimiterNeverEvictsAttemptsInFlight(t *testing.T) {
	l := auth.NewMemoryLimiterSize(nil, 1) // the smallest: a few buckets per shard
	var held []auth.Reservation
	var keys []string
	for i := 0; ; i++ {
		key := "k" + strconv.Itoa(i)
		r, err := l.Reserve(context.Background(), key, 1, 15*time.Minute)
		if err != nil {
			var rl *auth.RateLimitedError
			if !errors.As(err, &rl) {
				t.Fatalf("Reserve: %v", err)
			}
			break
		}
		held, keys = append(held, r), append(keys, key)
		if i > 100_000 {
			t.Fatal("a limiter of one byte took 100,000 keys in flight")
		}
	}
	for _, k := range keys {
		if !refused(l, k, 1) {
			t.Fatalf("%s lost its attempt in flight (%d held)", k, len(keys))
		}
	}
	for _, r := range held {
		r.Done(false)
	}
	reserveOK(t, l, "new", 1)
}
