package auth

import (
	"sync"
	"time"
)

// graceCache remembers, for the reuse grace window, the grant answered to each rotation, keyed
// by the retired refresh token's hash: a client whose response was lost retries with the old
// token and gets the same tokens again (not a second live pair). It is per instance; a retry
// that lands elsewhere gets ErrRefreshTokenRetry instead.
type graceCache struct {
	window time.Duration
	now    func() time.Time
	mu     sync.Mutex
	items  map[string]graceItem
	swept  time.Time // last sweep of expired items
}

type graceItem struct {
	grant Grant
	until time.Time
}

const maxGraceItems = 100_000

func newGraceCache(window time.Duration, now func() time.Time) *graceCache {
	return &graceCache{window: window, now: now, items: map[string]graceItem{}}
}

func (c *graceCache) put(oldHash []byte, g Grant) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	// Expired items are swept once per window: otherwise, under a steady refresh load, every
	// grant stayed in memory until the map reached maxGraceItems (~100 MB of grants).
	if len(c.items) > 1024 && now.Sub(c.swept) >= c.window {
		c.swept = now
		for k, it := range c.items {
			if now.After(it.until) {
				delete(c.items, k)
			}
		}
	}
	if len(c.items) >= maxGraceItems {
		for k, it := range c.items {
			if now.After(it.until) || len(c.items) >= maxGraceItems {
				delete(c.items, k)
			}
		}
	}
	c.items[string(oldHash)] = graceItem{grant: g, until: now.Add(c.window)}
}

func (c *graceCache) get(oldHash []byte) (Grant, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[string(oldHash)]
	if !ok || c.now().After(it.until) {
		return Grant{}, false
	}
	return it.grant, true
}
