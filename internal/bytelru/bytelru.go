// Package bytelru is a least-recently-used cache bounded by the bytes its entries hold, not by
// their number: a cache of client-sent data (GraphQL documents, persisted queries) bounded by
// entries lets a few huge entries take any amount of memory.
package bytelru

import (
	"container/list"
	"sync"
)

// EntryOverhead is what one entry costs besides its key and value: the map slot, the list
// element and the entry record.
const EntryOverhead = 128

// Cache maps keys to values, keeping the total cost of its entries at most MaxBytes by
// evicting the least recently used. Safe for concurrent use.
type Cache[K comparable, V any] struct {
	maxBytes int
	cost     func(K, V) int

	mu    sync.Mutex
	used  int
	order *list.List // of *entry[K, V], most recently used first
	items map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key   K
	value V
	cost  int
}

// New returns a cache holding at most maxBytes, where cost(key, value) estimates the bytes
// an entry keeps alive (EntryOverhead is added to it).
func New[K comparable, V any](maxBytes int, cost func(K, V) int) *Cache[K, V] {
	return &Cache[K, V]{maxBytes: maxBytes, cost: cost, order: list.New(), items: map[K]*list.Element{}}
}

// Get returns the value of key and marks it most recently used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*entry[K, V]).value, true
}

// Add stores value under key (replacing an older value), then evicts the least recently used
// entries until the cache is within its bound. An entry costing more than the whole bound is
// not stored (and an older value of its key is dropped).
func (c *Cache[K, V]) Add(key K, value V) {
	cost := c.cost(key, value) + EntryOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.remove(el)
	}
	if cost > c.maxBytes {
		return
	}
	c.items[key] = c.order.PushFront(&entry[K, V]{key: key, value: value, cost: cost})
	c.used += cost
	for c.used > c.maxBytes {
		c.remove(c.order.Back())
	}
}

func (c *Cache[K, V]) remove(el *list.Element) {
	e := c.order.Remove(el).(*entry[K, V])
	delete(c.items, e.key)
	c.used -= e.cost
}

// Len is the number of entries.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

// Bytes is the total cost of the entries, EntryOverhead included; never more than MaxBytes.
func (c *Cache[K, V]) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// MaxBytes is the bound.
func (c *Cache[K, V]) MaxBytes() int { return c.maxBytes }
