package auth

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// DefaultLimiterBytes is the memory budget of NewMemoryLimiter: about 400,000 buckets of one
// counted attempt each (84 bytes a bucket).
//
// Why this size. When the budget is full, the limiter forgets a bucket (see evictOne), and an
// attacker who makes it forget a victim's account bucket wins that account's failures again:
// 10 more guesses. To push a bucket out, the attacker must fill the budget with buckets that
// outlive it, created after its last use, and every bucket costs a counted attempt of a
// per-address rule: a login naming a new email is a failure of its address (whose bucket is
// reserved first, so a limited address creates no more account buckets), a registration or a
// refresh creates only its address's bucket, a garbage refresh token none, and a successful
// login leaves none behind. One IPv4 address or IPv6 /64 thus creates at most ~300 buckets per
// 15 minutes (the per-address login limit), about 28 KB. Filling 32 MiB takes ~1,200 such
// networks each spending its whole failure budget, ~360,000 failed logins, to buy 10 guesses at
// one account; spent on guessing directly, the same failures are worth far more. The budget is
// split evenly over the shards, and the seeded hash spreads any set of keys evenly, so no shard
// fills faster than the whole.
const DefaultLimiterBytes = 32 << 20

const (
	limiterShards   = 64  // independent locks; a key's shard is fixed by its hash
	sweepPerReserve = 4   // idle buckets one Reserve frees at most
	evictScan       = 8   // least recently used buckets examined per list to find one to evict
	maxLists        = 16  // distinct windows per shard; more share the last list
	unusedEntry     = 255 // bucket.list of a free slab entry
	// A slab page holds 1,024 buckets, 56 KiB: an allocation that large takes whole 8 KiB
	// pages and no header, so exactly its size (a 14 KiB page of pointerful buckets would take a
	// 16 KiB block).
	slabPageShift = 10
	slabPage      = 1 << slabPageShift
	bucketSize    = int64(unsafe.Sizeof(bucket{}))
	minHitsBytes  = 16 // the smallest attempt slice a bucket is given
)

// MemoryLimiter is a Limiter for a single instance, bounded in memory and in the work of any
// one call.
//
// Keys are spread over limiterShards shards, each with its own lock. A key is kept as its
// 64-bit seeded hash, not its text, so a bucket costs the same whatever the key's length (an
// email may be 254 bytes): two keys share a bucket only if their hashes collide, which an
// attacker cannot aim at without the seed (about one chance in 2^64/buckets per new key).
// Buckets live in a paged slab per shard, linked by int32 positions and found through a
// slotIndex; attempt times are int64 nanoseconds since the limiter was made (monotonic).
//
// Each shard keeps its buckets in one least-recently-used list per window (a bucket moves to
// the front when an attempt is reserved or counted), so a list's tail is the bucket that falls
// idle first. Every Reserve frees up to sweepPerReserve idle buckets from the tails of its
// shard: cleanup is incremental and never walks the buckets. A reservation released with
// nothing counted frees its bucket at once. The only work that grows with a shard's size is
// rebuilding its index when the shard's count doubles: one pass over that shard's slab (1/64
// of the buckets, tens of microseconds at the default budget).
//
// Each shard holds its share of the budget, counting exactly what its slab, index and attempt
// times take. When it is full, a new bucket or attempt evicts the bucket whose counts expire
// soonest among each list's least recently used ones (idle buckets first: their expiry is
// past), never one with attempts in flight; if only such buckets are left, a new key is refused
// (RATE_LIMITED), which fails closed. See DefaultLimiterBytes for what eviction is worth to an
// attacker.
type MemoryLimiter struct {
	now    func() time.Time
	epoch  time.Time
	seed   maphash.Seed
	shards [limiterShards]limiterShard
}

// slab holds a shard's buckets in pages, so that growing it allocates one page and copies
// nothing (a doubling slice would copy, and fault in, the whole shard's memory in one call).
type slab [][]bucket

func (s slab) at(i int32) *bucket { return &s[i>>slabPageShift][i&(slabPage-1)] }

func (s slab) len() int {
	if len(s) == 0 {
		return 0
	}
	return (len(s)-1)*slabPage + len(s[len(s)-1])
}

type limiterShard struct {
	mu     sync.Mutex
	index  slotIndex
	slab   slab
	free   int32 // first unused slab entry (linked through next), -1 when none
	lists  []lruList
	bytes  int64 // slab and index capacity, plus 8 per attempt slot
	budget int64
	_      [32]byte // keeps two shards' locks off one cache line
}

// lruList links a shard's buckets of one window, most recently used first.
type lruList struct {
	window     int64 // ns
	head, tail int32 // -1 when empty
}

// bucket is one key's state, 56 bytes.
type bucket struct {
	hash       uint64  // the key's
	used       int64   // last reservation or count; the list is ordered by it
	hits       []int64 // counted attempts, oldest first
	pending    int32   // attempts in flight
	prev, next int32   // list links (next also links free entries)
	list       uint8   // which of the shard's lists; unusedEntry when free
}

// NewMemoryLimiter returns an empty in-memory limiter of DefaultLimiterBytes.
func NewMemoryLimiter(now func() time.Time) *MemoryLimiter {
	return NewMemoryLimiterSize(now, DefaultLimiterBytes)
}

// NewMemoryLimiterSize returns an empty in-memory limiter whose buckets take at most maxBytes
// (but room for a few buckets in each shard).
func NewMemoryLimiterSize(now func() time.Time, maxBytes int64) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	l := &MemoryLimiter{now: now, epoch: now(), seed: maphash.MakeSeed()}
	per := max(maxBytes/limiterShards, 4*64+4*(bucketSize+minHitsBytes)) // a first index, a few buckets
	for i := range l.shards {
		l.shards[i] = limiterShard{free: -1, budget: per}
	}
	return l
}

// Len is the number of buckets held (tests, metrics). It locks one shard at a time.
func (l *MemoryLimiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += s.index.n
		s.mu.Unlock()
	}
	return n
}

// Bytes is the memory the buckets take: slabs, indexes and attempt times.
func (l *MemoryLimiter) Bytes() int64 {
	var n int64
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += s.bytes
		s.mu.Unlock()
	}
	return n
}

func (l *MemoryLimiter) clock() int64 { return int64(l.now().Sub(l.epoch)) }

// Reserve implements Limiter.
func (l *MemoryLimiter) Reserve(_ context.Context, key string, limit int, window time.Duration) (Reservation, error) {
	h := maphash.String(l.seed, key)
	s := &l.shards[h>>58] // the top 6 bits: 64 shards; the index uses the low ones
	now := l.clock()
	w := int64(window)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now, sweepPerReserve)
	li := s.listFor(w)
	i, ok := s.index.find(s.slab, h)
	switch {
	case ok && s.slab.at(i).list != li: // the key's window changed: it moves to that list
		s.unlink(i)
		s.pushFront(i, li, now)
	case !ok && limit <= 0:
		return nil, &RateLimitedError{RetryAfter: time.Second}
	case !ok:
		if i, ok = s.insert(h, li, now); !ok {
			return nil, &RateLimitedError{RetryAfter: time.Second} // full of attempts in flight
		}
	}
	b := s.slab.at(i)
	s.prune(b, w, now)
	if len(b.hits)+int(b.pending) >= limit {
		retry := time.Second // only pending attempts block: they finish within seconds
		if limit > 0 && len(b.hits) >= limit {
			retry = time.Duration(b.hits[len(b.hits)-limit] + w - now)
		}
		if b.pending == 0 && len(b.hits) == 0 {
			s.remove(i) // limit <= 0 on a key that holds nothing
		}
		return nil, &RateLimitedError{RetryAfter: retry}
	}
	b.pending++
	s.touch(i, now)
	return &memoryReservation{l: l, s: s, i: i}, nil
}

type memoryReservation struct {
	l    *MemoryLimiter
	s    *limiterShard
	i    int32
	done atomic.Bool
}

// Done implements Reservation. The bucket cannot have gone: buckets with attempts in flight are
// neither swept nor evicted.
func (r *memoryReservation) Done(counted bool) {
	if r.done.Swap(true) {
		return
	}
	s, now := r.s, r.l.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.slab.at(r.i)
	b.pending--
	if counted {
		if n := len(b.hits); n > 0 && b.hits[n-1] > now {
			now = b.hits[n-1] // keep them sorted if the clock stepped back
		}
		c := cap(b.hits)
		if c == 0 {
			// Room for two: 16 bytes, which the allocator gives the slice alone (a smaller
			// one could share a block with garbage and keep it alive, costing more than 8).
			b.hits = make([]int64, 0, minHitsBytes/8)
		}
		b.hits = append(b.hits, now)
		s.bytes += 8 * int64(cap(b.hits)-c)
		s.touch(r.i, now)
		for s.bytes > s.budget {
			if !s.evictOne(now, r.i) {
				break
			}
		}
		return
	}
	s.prune(b, s.lists[b.list].window, now)
	if b.pending == 0 && len(b.hits) == 0 {
		s.remove(r.i) // a successful login leaves nothing behind
	}
}

// sweep frees up to n idle buckets from the tails of the lists: a bucket is idle when nothing
// is in flight and its last use, hence every attempt it counted, left the window.
func (s *limiterShard) sweep(now int64, n int) {
	for li := range s.lists {
		l := &s.lists[li]
		for n > 0 && l.tail >= 0 {
			b := s.slab.at(l.tail)
			if b.pending > 0 || b.used+l.window > now {
				break
			}
			s.remove(l.tail)
			n--
		}
	}
}

// insert adds an empty bucket for h, evicting to stay within budget; false when nothing could
// be evicted.
func (s *limiterShard) insert(h uint64, li uint8, now int64) (int32, bool) {
	for s.free < 0 && !s.grow() {
		if !s.evictOne(now, -1) {
			return 0, false
		}
	}
	i := s.free
	s.free = s.slab.at(i).next
	*s.slab.at(i) = bucket{hash: h}
	s.pushFront(i, li, now)
	s.index.add(s.slab, h, i)
	return i, true
}

// grow adds free slab entries, and index slots for them, as far as the budget allows: a page,
// or what is left of the budget. Nothing is copied but a last, partial page. It leaves room for
// each entry's first attempts: were the slab and index to take the whole budget, every counted
// attempt would evict every other bucket.
func (s *limiterShard) grow() bool {
	n, last := s.slab.len(), -1
	add := slabPage
	if k := len(s.slab); k > 0 && len(s.slab[k-1]) < slabPage {
		last = k - 1
		add = slabPage - len(s.slab[last])
	}
	add = min(add, math.MaxInt32-1-n) // positions are int32
	var extra int64
	var slots int
	for ; add > 0; add /= 2 {
		slots = max(indexSlots(n+add), len(s.index.slots))
		extra = int64(add)*bucketSize + 4*int64(slots-len(s.index.slots))
		if s.bytes+extra+int64(add)*minHitsBytes <= s.budget { // room left for their attempts
			break
		}
	}
	if add == 0 {
		return false
	}
	if last >= 0 {
		s.slab[last] = append(make([]bucket, 0, len(s.slab[last])+add), s.slab[last]...)
	} else {
		s.slab = append(s.slab, make([]bucket, 0, add))
		last = len(s.slab) - 1
	}
	for range add {
		s.slab[last] = append(s.slab[last], bucket{next: s.free, list: unusedEntry})
		s.free = int32(n)
		n++
	}
	s.index.resize(s.slab, slots)
	s.bytes += extra
	return true
}

// evictOne removes, among the evictScan least recently used buckets of each list that have no
// attempt in flight, the one whose counts expire first (an idle one has expired already).
func (s *limiterShard) evictOne(now int64, keep int32) bool {
	victim, expiry := int32(-1), int64(0)
	for li := range s.lists {
		l := &s.lists[li]
		i := l.tail
		for range evictScan {
			if i < 0 {
				break
			}
			b := s.slab.at(i)
			if b.pending == 0 && i != keep {
				if e := b.used + l.window; victim < 0 || e < expiry {
					victim, expiry = i, e
				}
				break
			}
			i = b.prev
		}
	}
	if victim < 0 {
		return false
	}
	s.remove(victim)
	return true
}

func (s *limiterShard) remove(i int32) {
	b := s.slab.at(i)
	s.unlink(i)
	s.index.remove(s.slab, b.hash, i)
	s.bytes -= 8 * int64(cap(b.hits))
	*b = bucket{next: s.free, list: unusedEntry}
	s.free = i
}

// prune drops the attempts that left window, keeping the slice's start in place so that its
// memory is reused (and returned once empty or mostly unused).
func (s *limiterShard) prune(b *bucket, window, now int64) {
	cut := 0
	for cut < len(b.hits) && b.hits[cut]+window <= now {
		cut++
	}
	if cut == 0 {
		return
	}
	n := copy(b.hits, b.hits[cut:])
	b.hits = b.hits[:n]
	if c := cap(b.hits); n == 0 || (c > 16 && n < c/4) {
		var kept []int64
		if n > 0 {
			kept = make([]int64, n, 2*n)
			copy(kept, b.hits)
		}
		s.bytes += 8 * int64(cap(kept)-c)
		b.hits = kept
	}
}

// listFor returns the list of window, making it if the shard has room for another.
func (s *limiterShard) listFor(window int64) uint8 {
	for i := range s.lists {
		if s.lists[i].window == window {
			return uint8(i)
		}
	}
	if len(s.lists) < maxLists {
		s.lists = append(s.lists, lruList{window: window, head: -1, tail: -1})
		return uint8(len(s.lists) - 1)
	}
	// Out of lists: share the last one, whose window only grows, so that sweeping it never
	// frees a bucket early (only late).
	last := &s.lists[maxLists-1]
	last.window = max(last.window, window)
	return maxLists - 1
}

func (s *limiterShard) touch(i int32, now int64) {
	s.unlink(i)
	s.pushFront(i, s.slab.at(i).list, now)
}

func (s *limiterShard) pushFront(i int32, li uint8, now int64) {
	b, l := s.slab.at(i), &s.lists[li]
	b.list, b.used, b.prev, b.next = li, now, -1, l.head
	if l.head >= 0 {
		s.slab.at(l.head).prev = i
	}
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
}

func (s *limiterShard) unlink(i int32) {
	b := s.slab.at(i)
	l := &s.lists[b.list]
	if b.prev >= 0 {
		s.slab.at(b.prev).next = b.next
	} else if l.head == i {
		l.head = b.next
	}
	if b.next >= 0 {
		s.slab.at(b.next).prev = b.prev
	} else if l.tail == i {
		l.tail = b.prev
	}
	b.prev, b.next = -1, -1
}
