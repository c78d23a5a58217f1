package tokenrules

import (
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Cache remembers tokens that passed every check, keyed by the exact token string, so that a
// client presenting the same token again (every request for its lifetime) costs a map lookup
// instead of two JSON decodes and a signature check. Only the time checks depend on when a
// token is presented: a hit must pass Rules.Current again, and one that fails it should be
// dropped and verified in full, which gives the error. Only verified tokens enter, so a flood of
// forged tokens cannot fill it. Whoever changes the keys clears it.
//
// It holds at most MaxCachedTokens entries (about 0.7 KB each); when full it drops the expired
// entries, then arbitrary ones (map order is random) down to seven eighths.
type Cache[C jwt.Claims] struct {
	mu sync.RWMutex
	m  map[string]C
}

// MaxCachedTokens bounds a Cache.
const MaxCachedTokens = 4096

// Get returns the claims cached for raw.
func (c *Cache[C]) Get(raw string) (C, bool) {
	c.mu.RLock()
	claims, ok := c.m[raw]
	c.mu.RUnlock()
	return claims, ok
}

// Put caches claims, verified at now, for raw.
func (c *Cache[C]) Put(raw string, claims C, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]C, 64)
	}
	if len(c.m) >= MaxCachedTokens {
		for k, v := range c.m {
			if exp, err := v.GetExpirationTime(); err != nil || exp == nil || !now.Before(exp.Add(MaxLeeway)) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < MaxCachedTokens*7/8 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[raw] = claims
}

// Drop forgets raw.
func (c *Cache[C]) Drop(raw string) {
	c.mu.Lock()
	delete(c.m, raw)
	c.mu.Unlock()
}

// Clear forgets everything (the keys changed).
func (c *Cache[C]) Clear() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}
