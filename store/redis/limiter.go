package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/redis/go-redis/v9"
)

var _ auth.Limiter = (*Limiter)(nil)

// DefaultPendingTTL is how long a reserved attempt counts when its Done never arrives (the
// instance holding it crashed). A login finishes well within it: the bcrypt queue wait (15 s)
// plus a bounded store call (5 s).
const DefaultPendingTTL = 30 * time.Second

// Limiter is an auth.Limiter whose counts live in Redis, so every instance sees every attempt.
// It has auth.MemoryLimiter's semantics: a reserved attempt counts while it is in flight, and
// Done counts it in the window or gives the slot back.
//
// Each key has two sorted sets in one hash slot: "{key}:h" holds counted attempts scored by the
// time they were counted, "{key}:p" the attempts in flight scored by the time they stop counting
// (reserve time + PendingTTL), so a crashed instance's slots come back by themselves. Reserve
// and Done are Lua scripts, atomic on the server. Times are the instances' clocks in
// milliseconds; keys expire with their window.
type Limiter struct {
	rdb        redis.Scripter
	prefix     string
	now        func() time.Time
	pendingTTL time.Duration
	timeout    time.Duration // of Done, which has no context of its own
	onError    func(error)   // told of a failed Done (Client marks Redis unavailable)
}

// NewLimiter returns a Limiter on rdb whose keys start with prefix. now may be nil (time.Now);
// pendingTTL <= 0 means DefaultPendingTTL.
func NewLimiter(rdb redis.Scripter, prefix string, now func() time.Time, pendingTTL time.Duration) *Limiter {
	if now == nil {
		now = time.Now
	}
	if pendingTTL <= 0 {
		pendingTTL = DefaultPendingTTL
	}
	return &Limiter{rdb: rdb, prefix: prefix, now: now, pendingTTL: pendingTTL, timeout: 2 * time.Second}
}

// reserveScript: KEYS hits, pending; ARGV now_ms, window_ms, limit, pending_ttl_ms, member.
// Returns {1, 0} when reserved, {0, retry_after_ms} when limited.
var reserveScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local pttl = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local hits = redis.call('ZCARD', KEYS[1])
local pending = redis.call('ZCARD', KEYS[2])
if hits + pending >= limit then
  local retry = 1000
  if hits > 0 and hits >= limit then
    local oldest = redis.call('ZRANGE', KEYS[1], hits - limit, hits - limit, 'WITHSCORES')
    retry = tonumber(oldest[2]) + window - now
  end
  return {0, retry}
end
redis.call('ZADD', KEYS[2], now + pttl, ARGV[5])
redis.call('PEXPIRE', KEYS[2], pttl)
return {1, 0}
`)

// doneScript: KEYS hits, pending; ARGV now_ms, window_ms, member, counted (1/0).
var doneScript = redis.NewScript(`
redis.call('ZREM', KEYS[2], ARGV[3])
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return 1
`)

func (l *Limiter) keys(key string) []string {
	base := l.prefix + "rl:{" + key + "}"
	return []string{base + ":h", base + ":p"}
}

// Reserve implements auth.Limiter. A Redis failure is returned as an error (never as a
// *auth.RateLimitedError); Client's limiter falls back to memory on it.
func (l *Limiter) Reserve(ctx context.Context, key string, limit int, window time.Duration) (auth.Reservation, error) {
	member := newMember()
	keys := l.keys(key)
	res, err := reserveScript.Run(ctx, l.rdb, keys,
		l.now().UnixMilli(), window.Milliseconds(), limit, l.pendingTTL.Milliseconds(), member).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("redis limiter: %w", err)
	}
	if len(res) != 2 {
		return nil, fmt.Errorf("redis limiter: unexpected reply %v", res)
	}
	if res[0] == 0 {
		return nil, &auth.RateLimitedError{RetryAfter: time.Duration(res[1]) * time.Millisecond}
	}
	return &reservation{l: l, keys: keys, member: member, window: window}, nil
}

type reservation struct {
	l      *Limiter
	keys   []string
	member string
	window time.Duration
	once   sync.Once
}

// Done implements auth.Reservation. When Redis cannot be reached the outcome is lost: the
// pending entry expires after PendingTTL and a failure goes uncounted.
func (r *reservation) Done(counted bool) {
	r.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), r.l.timeout)
		defer cancel()
		c := "0"
		if counted {
			c = "1"
		}
		err := doneScript.Run(ctx, r.l.rdb, r.keys, r.l.now().UnixMilli(), r.window.Milliseconds(), r.member, c).Err()
		if err != nil && r.l.onError != nil {
			r.l.onError(fmt.Errorf("redis limiter: %w", err))
		}
	})
}

// newMember is a unique sorted-set member for one attempt.
func newMember() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
