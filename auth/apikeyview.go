package auth

import (
	"context"
	"errors"
	"sync"
)

// keyCache is the view's picture of API keys, so that a request presenting one answers
// without a database round trip: the first use of a key on this instance reads it, later uses
// hit the cache. A revocation anywhere appends ChangeAPIKeyRevoked to the change log; applying
// it (or revoking here) drops the key, and the next use reads it again, now revoked, and
// caches that. Keys that do not exist are cached as such, so a client retrying a wrong key
// costs one read; a key is 256 random bits, so no key is ever presented before it exists.
type keyCache struct {
	mu     sync.RWMutex
	byHash map[[32]byte]cachedKey
	byID   map[string][32]byte
	epoch  uint64 // bumped on every forget; guards against caching a read that raced one
}

type cachedKey struct {
	key   APIKey // Hash cleared: the map key holds it
	found bool
}

// maxCachedKeys bounds the cache: an entry is about 250 bytes (the key's fields, two map
// slots), so about 5 MB at most. When full, an arbitrary tenth is dropped: they are read again
// on their next use.
const maxCachedKeys = 20_000

func newKeyCache() *keyCache {
	return &keyCache{byHash: map[[32]byte]cachedKey{}, byID: map[string][32]byte{}}
}

func (c *keyCache) get(h [32]byte) (cachedKey, uint64, bool) {
	c.mu.RLock()
	e, ok := c.byHash[h]
	epoch := c.epoch
	c.mu.RUnlock()
	return e, epoch, ok
}

func (c *keyCache) put(h [32]byte, e cachedKey, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch {
		return
	}
	if len(c.byHash) >= maxCachedKeys {
		for k, v := range c.byHash { // map order is random
			delete(c.byHash, k)
			if v.found {
				delete(c.byID, v.key.ID)
			}
			if len(c.byHash) < maxCachedKeys*9/10 {
				break
			}
		}
	}
	c.byHash[h] = e
	if e.found {
		c.byID[e.key.ID] = h
	}
}

// forget drops the keys with these ids.
func (c *keyCache) forget(ids ...string) {
	c.mu.Lock()
	for _, id := range ids {
		if h, ok := c.byID[id]; ok {
			delete(c.byHash, h)
			delete(c.byID, id)
		}
	}
	c.epoch++
	c.mu.Unlock()
}

func (c *keyCache) clear() {
	c.mu.Lock()
	clear(c.byHash)
	clear(c.byID)
	c.epoch++
	c.mu.Unlock()
}

// apiKey returns the key stored under hash (revoked or not), from the cache or the store;
// ErrNotFound when there is none. A read of the store first takes a slot of reserve (the limit
// on unknown keys), counted only when the key turns out not to exist: a spray of made-up keys
// from one address cannot turn into a database read per request.
func (v *view) apiKey(ctx context.Context, hash []byte, reserve func() (Reservation, error)) (APIKey, error) {
	h := [32]byte(hash)
	e, epoch, ok := v.keys.get(h)
	if ok {
		if !e.found {
			return APIKey{}, ErrNotFound
		}
		return e.key, nil
	}
	res, err := reserve()
	if err != nil {
		return APIKey{}, err
	}
	k, err := v.store.APIKeyByHash(ctx, hash)
	res.Done(errors.Is(err, ErrNotFound))
	switch {
	case err == nil:
		k.Hash = nil
		v.keys.put(h, cachedKey{key: k, found: true}, epoch)
		return k, nil
	case errors.Is(err, ErrNotFound):
		v.keys.put(h, cachedKey{}, epoch)
	}
	return APIKey{}, err
}

// forgetAPIKeys drops keys revoked by this instance and tells the others (OnChange).
func (v *view) forgetAPIKeys(ids ...string) {
	v.keys.forget(ids...)
	v.changed()
}
