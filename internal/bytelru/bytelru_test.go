package bytelru

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func strCost(k, v string) int { return len(k) + len(v) }

// value of n bytes, so that an entry with a one-byte key costs n+1+EntryOverhead.
func val(n int) string { return strings.Repeat("v", n) }

const unit = 100 + 1 + EntryOverhead // an entry of a one-byte key and val(100)

func keys(c *Cache[string, string]) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ks []string
	for el := c.order.Front(); el != nil; el = el.Next() {
		ks = append(ks, el.Value.(*entry[string, string]).key)
	}
	return ks
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := New(3*unit, strCost)
	for _, k := range []string{"a", "b", "c"} {
		c.Add(k, val(100))
	}
	if got := c.Bytes(); got != 3*unit {
		t.Fatalf("Bytes %d, want %d", got, 3*unit)
	}
	if _, ok := c.Get("a"); !ok { // a is now the most recently used; b the least
		t.Fatal("a missing")
	}
	c.Add("d", val(100))
	if _, ok := c.Get("b"); ok {
		t.Error("b was not evicted")
	}
	if got, want := fmt.Sprint(keys(c)), "[d a c]"; got != want {
		t.Errorf("order %s, want %s", got, want)
	}

	// One big entry evicts as many old ones as it needs, oldest first.
	c.Add("e", val(2*unit-1-EntryOverhead))
	if got, want := fmt.Sprint(keys(c)), "[e d]"; got != want {
		t.Errorf("after a big entry: %s, want %s", got, want)
	}
	if got := c.Bytes(); got != 3*unit {
		t.Errorf("Bytes %d, want %d", got, 3*unit)
	}
}

func TestByteAccounting(t *testing.T) {
	c := New(10_000, strCost)
	c.Add("k", val(100))
	c.Add("k", val(300)) // replacing counts the new value only
	if got, want := c.Bytes(), 1+300+EntryOverhead; got != want || c.Len() != 1 {
		t.Fatalf("after replace: %d bytes in %d entries, want %d in 1", got, c.Len(), want)
	}
	if v, _ := c.Get("k"); len(v) != 300 {
		t.Errorf("Get after replace: %d bytes", len(v))
	}

	// An entry larger than the whole bound is not stored, and drops the key's older value.
	c.Add("k", val(20_000))
	if _, ok := c.Get("k"); ok || c.Bytes() != 0 || c.Len() != 0 {
		t.Errorf("oversized entry: stored=%v, %d bytes, %d entries", ok, c.Bytes(), c.Len())
	}
	c.Add("x", val(10_000-1-EntryOverhead)) // exactly the bound fits
	if _, ok := c.Get("x"); !ok || c.Bytes() != 10_000 {
		t.Errorf("entry of exactly the bound: %d bytes", c.Bytes())
	}

	// Many small entries: the total never passes the bound and matches the entries held.
	c = New(50*unit, strCost)
	for i := range 1000 {
		c.Add(fmt.Sprint(i%10), val(100)) // one-byte keys
		if c.Bytes() > c.MaxBytes() {
			t.Fatalf("Bytes %d over the bound %d", c.Bytes(), c.MaxBytes())
		}
	}
	if c.Len() != 10 || c.Bytes() != 10*unit {
		t.Errorf("%d entries, %d bytes; want 10, %d", c.Len(), c.Bytes(), 10*unit)
	}
}

// TestConcurrentUse: run with -race; the bound and the accounting hold under concurrent
// Adds and Gets.
func TestConcurrentUse(t *testing.T) {
	c := New(20_000, strCost)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				k := fmt.Sprint((g*31 + i) % 300)
				if i%3 == 0 {
					c.Add(k, val(i%500))
				} else {
					c.Get(k)
				}
				if b := c.Bytes(); b > 20_000 {
					t.Errorf("Bytes %d over the bound", b)
					return
				}
			}
		})
	}
	wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	sum := 0
	for el := c.order.Front(); el != nil; el = el.Next() {
		e := el.Value.(*entry[string, string])
		sum += e.cost
		if c.items[e.key] != el {
			t.Errorf("map and list disagree on %q", e.key)
		}
	}
	if sum != c.used || len(c.items) != c.order.Len() {
		t.Errorf("used %d, entries sum to %d; %d map items, %d list elements", c.used, sum, len(c.items), c.order.Len())
	}
}
