package auth

// slotIndex maps a key hash to its bucket's slab position, in 4 bytes a slot: open addressing
// with linear probing, each slot holding a slab position + 1 (0 is empty), the hash itself
// read from the bucket: 5 to 11 bytes an entry. A map[uint64]int32 took about 55 under the
// churn of a spray, more than the rest of a bucket. It holds no pointers, so the collector does
// not scan it. Deleting shifts the following entries back (no tombstones), so constant churn
// never needs a rebuild; it is rebuilt, larger, only as the shard's slab grows.
type slotIndex struct {
	slots []int32
	n     int
}

// The shard is chosen by the hash's top bits, a slot by its low bits: independent.
func (x *slotIndex) home(h uint64) int { return int(h & uint64(len(x.slots)-1)) }

func (x *slotIndex) find(slab slab, h uint64) (int32, bool) {
	if x.n == 0 {
		return -1, false
	}
	mask := len(x.slots) - 1
	for j := x.home(h); ; j = (j + 1) & mask {
		e := x.slots[j]
		if e == 0 {
			return -1, false
		}
		if slab.at(e-1).hash == h {
			return e - 1, true
		}
	}
}

// add records slab position i for h. The shard sized the index for its slab (indexSlots), so
// it has room; growing here is only a safety net.
func (x *slotIndex) add(slab slab, h uint64, i int32) {
	if (x.n+1)*4 > len(x.slots)*3 {
		x.resize(slab, indexSlots(x.n+1))
	}
	x.put(h, i)
	x.n++
}

func (x *slotIndex) put(h uint64, i int32) {
	mask := len(x.slots) - 1
	j := x.home(h)
	for x.slots[j] != 0 {
		j = (j + 1) & mask
	}
	x.slots[j] = i + 1
}

// indexSlots is the index size for n entries: a power of two at most three quarters full.
func indexSlots(n int) int {
	size := 64
	for n*4 > size*3 {
		size *= 2
	}
	return size
}

// resize rebuilds the index with size slots (a power of two); no-op when it has them. It reads
// the slab in order (not the old slots, which would read the slab at random): a rebuild of a
// full shard's index takes tens of microseconds.
func (x *slotIndex) resize(slab slab, size int) {
	if size == len(x.slots) {
		return
	}
	x.slots = make([]int32, size)
	for p, page := range slab {
		for j := range page {
			if page[j].list != unusedEntry {
				x.put(page[j].hash, int32(p<<slabPageShift+j))
			}
		}
	}
}

// remove deletes slab position i (whose bucket has hash h) and moves back the entries after it
// that its slot kept from their home (Knuth's algorithm R).
func (x *slotIndex) remove(slab slab, h uint64, i int32) {
	mask := len(x.slots) - 1
	j := x.home(h)
	for x.slots[j] != i+1 {
		j = (j + 1) & mask
	}
	x.slots[j] = 0
	for k := (j + 1) & mask; x.slots[k] != 0; k = (k + 1) & mask {
		home := x.home(slab.at(x.slots[k] - 1).hash)
		if (k-home)&mask >= (k-j)&mask { // the hole at j lies between its home and k
			x.slots[j], x.slots[k] = x.slots[k], 0
			j = k
		}
	}
	x.n--
}
