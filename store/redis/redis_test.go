package redisstore

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/auth/limitertest"
	"github.com/example/gqlauth/internal/itest"
	"github.com/redis/go-redis/v9"
)

func newRDB(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// The shared limiter passes the same behaviour suite as auth.MemoryLimiter.
func TestLimiterConformance(t *testing.T) {
	url := itest.RedisURL(t)
	rdb := newRDB(t, url)
	limitertest.Run(t, func(t *testing.T, now func() time.Time) auth.Limiter {
		return NewLimiter(rdb, itest.KeyPrefix(t, url), now, 0)
	})
}

// Two instances (two connections, two Limiters) count against one limit.
func TestLimiterIsShared(t *testing.T) {
	url := itest.RedisURL(t)
	prefix := itest.KeyPrefix(t, url)
	a := NewLimiter(newRDB(t, url), prefix, nil, 0)
	b := NewLimiter(newRDB(t, url), prefix, nil, 0)
	ctx := context.Background()
	for i := range 10 {
		l := a
		if i%2 == 1 {
			l = b
		}
		r, err := l.Reserve(ctx, "login:account:x", 10, time.Minute)
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		r.Done(true)
	}
	for _, l := range []*Limiter{a, b} {
		_, err := l.Reserve(ctx, "login:account:x", 10, time.Minute)
		var rl *auth.RateLimitedError
		if !errors.As(err, &rl) || rl.RetryAfter <= 0 || rl.RetryAfter > time.Minute {
			t.Fatalf("11th attempt: %v, want RATE_LIMITED with a retry within the window", err)
		}
	}
}

// An attempt whose instance died before Done stops counting after the pending TTL, and keys
// never outlive their window.
func TestPendingAttemptsExpire(t *testing.T) {
	url := itest.RedisURL(t)
	rdb := newRDB(t, url)
	prefix := itest.KeyPrefix(t, url)
	clock := limitertest.NewClock()
	l := NewLimiter(rdb, prefix, clock.Now, 10*time.Second)
	ctx := context.Background()

	if _, err := l.Reserve(ctx, "k", 1, time.Minute); err != nil { // never Done: a crash
		t.Fatal(err)
	}
	if _, err := l.Reserve(ctx, "k", 1, time.Minute); err == nil {
		t.Fatal("a pending attempt did not count")
	}
	clock.Add(10 * time.Second)
	r, err := l.Reserve(ctx, "k", 1, time.Minute)
	if err != nil {
		t.Fatalf("the crashed attempt still counts after its TTL: %v", err)
	}
	r.Done(true)

	keys := l.keys("k")
	if ttl := rdb.PTTL(ctx, keys[0]).Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("hits key TTL = %v, want within the window", ttl)
	}
	if ttl := rdb.PTTL(ctx, keys[1]).Val(); ttl > 10*time.Second {
		t.Errorf("pending key TTL = %v, want at most the pending TTL", ttl)
	}
}

// logSink records log lines for the tests that count them.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, string(p))
	return len(p), nil
}

func (s *logSink) count(substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.lines {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

func openClient(t *testing.T, url, prefix string, sink *logSink) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if sink == nil {
		sink = &logSink{}
	}
	c, err := Open(ctx, url, Options{KeyPrefix: prefix, Logger: slog.New(slog.NewTextHandler(sink, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// start runs c's background work until the test ends and counts wake calls.
func start(t *testing.T, c *Client) *atomic.Int32 {
	t.Helper()
	var wakes atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	c.Start(ctx, func() { wakes.Add(1) })
	t.Cleanup(func() { cancel(); c.Close() })
	return &wakes
}

// failures records n failed attempts at key on l, whose limit is limit a minute.
func failures(t *testing.T, l auth.Limiter, key string, limit, n int) {
	t.Helper()
	for range n {
		r, err := l.Reserve(context.Background(), key, limit, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		r.Done(true)
	}
}

// An announcement on one instance wakes the others (not itself, not another deployment's).
func TestWakeFanOut(t *testing.T) {
	url := itest.RedisURL(t)
	prefix := itest.KeyPrefix(t, url)
	a, b := openClient(t, url, prefix, nil), openClient(t, url, prefix, nil)
	other := openClient(t, url, itest.KeyPrefix(t, url), nil)
	wa, wb, wo := start(t, a), start(t, b), start(t, other)
	// Each wakes once when its subscription is confirmed (catch-up).
	t0 := time.Now()
	itest.Eventually(t, 5*time.Second, "subscriptions", func() bool { return wa.Load() == 1 && wb.Load() == 1 && wo.Load() == 1 })
	t.Logf("subscribed after %v", time.Since(t0))
	t0 = time.Now()

	for i := range 20 {
		before := wb.Load()
		sent := time.Now()
		a.Notify()
		itest.Eventually(t, time.Second, "B woken by A", func() bool { return wb.Load() > before })
		if i == 0 {
			t.Logf("first wake after %v", time.Since(sent))
		}
	}
	t.Logf("20 wakes in %v", time.Since(t0))
	before := wb.Load()
	if err := a.Publish(context.Background()); err != nil { // the synchronous form
		t.Fatal(err)
	}
	itest.Eventually(t, time.Second, "B woken by A's Publish", func() bool { return wb.Load() > before })
	time.Sleep(100 * time.Millisecond)
	if wa.Load() != 1 {
		t.Errorf("A was woken %d times by its own announcements", wa.Load()-1)
	}
	if wo.Load() != 1 {
		t.Errorf("another prefix's instance was woken %d times", wo.Load()-1)
	}
}

// Unreachable at start: the Client still opens, limits per instance, and reports it.
func TestUnreachableAtStart(t *testing.T) {
	sink := &logSink{}
	c := openClient(t, "redis://127.0.0.1:1/0", "x:", sink)
	t.Cleanup(func() { c.Close() })
	if c.Available() || c.Status() != "unavailable" {
		t.Fatalf("status %q with nothing listening", c.Status())
	}
	l := c.Limiter()
	for range 3 {
		r, err := l.Reserve(context.Background(), "k", 3, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		r.Done(true)
	}
	if _, err := l.Reserve(context.Background(), "k", 3, time.Minute); err == nil {
		t.Fatal("the fallback limiter does not limit")
	}
	if n := sink.count("Redis unavailable"); n != 1 {
		t.Errorf("logged the outage %d times, want once", n)
	}
}

func TestOpenRefusesBadURL(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:6379", "redis://127.0.0.1:6379/notanumber"} {
		if _, err := Open(context.Background(), u, Options{}); err == nil {
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}

// Losing Redis: the Client falls back to per-instance limits, logs it once, reports it, and
// returns to shared mode (and wakes, to catch up) when Redis is back.
func TestOutageAndRecovery(t *testing.T) {
	defer func(d time.Duration) { maxBackoff = d }(maxBackoff)
	maxBackoff = 500 * time.Millisecond
	srv := itest.StartRedisServer(t)
	sink := &logSink{}
	a := openClient(t, srv.URL, "p:", sink)
	b := openClient(t, srv.URL, "p:", nil)
	wa, wb := start(t, a), start(t, b)
	itest.Eventually(t, 5*time.Second, "subscriptions", func() bool { return wa.Load() >= 1 && wb.Load() >= 1 })
	ctx := context.Background()

	// Shared: 2 failures on A, then B is limited.
	failures(t, a.Limiter(), "k", 2, 2)
	if _, err := b.Limiter().Reserve(ctx, "k", 2, time.Minute); err == nil {
		t.Fatal("shared mode: B did not see A's failures")
	}

	srv.Stop()
	itest.Eventually(t, 5*time.Second, "A to notice the outage", func() bool { return !a.Available() })
	// Per instance now: B starts from nothing, limits still apply.
	for i := range 3 {
		r, err := b.Limiter().Reserve(ctx, "k", 2, time.Minute)
		if i == 2 {
			if err == nil {
				t.Fatal("fallback mode: B is not limited")
			}
			break
		}
		if err != nil {
			t.Fatalf("fallback attempt %d: %v", i, err)
		}
		r.Done(true)
	}
	a.Notify() // dropped while unavailable; must not block
	time.Sleep(300 * time.Millisecond)

	wakesBefore := wa.Load()
	srv.Start()
	itest.Eventually(t, 10*time.Second, "shared mode to resume", func() bool { return a.Available() && b.Available() })
	itest.Eventually(t, 2*time.Second, "a catch-up wake", func() bool { return wa.Load() > wakesBefore })
	failures(t, a.Limiter(), "fresh", 1, 1)
	if _, err := b.Limiter().Reserve(ctx, "fresh", 1, time.Minute); err == nil {
		t.Fatal("after recovery: B did not see A's failure")
	}
	before := wb.Load()
	a.Notify()
	itest.Eventually(t, 2*time.Second, "fan-out after recovery", func() bool { return wb.Load() > before })

	if n := sink.count("Redis unavailable"); n != 1 {
		t.Errorf("logged the outage %d times, want once", n)
	}
	if n := sink.count("Redis available again"); n != 1 {
		t.Errorf("logged the recovery %d times, want once", n)
	}
}
