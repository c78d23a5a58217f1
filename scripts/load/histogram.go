package main

import (
	"math/bits"
	"time"
)

// histogram counts latencies in microseconds in log-linear buckets: exact below 64 µs, then 32
// buckets per power of two, so a bucket is at most 1/32 (about 3 %) of its value wide. It covers
// up to 2^40 µs (12 days) in under 10 KB, however many requests a run makes.
type histogram struct {
	counts [subBuckets * 37]uint64
	total  uint64
}

const subBuckets = 32

func bucketOf(us uint64) int {
	if us < 2*subBuckets {
		return int(us)
	}
	shift := bits.Len64(us) - 6 // us>>shift is in [32, 64)
	return shift*subBuckets + int(us>>shift)
}

// lowerBound is the smallest value that falls in bucket i.
func lowerBound(i int) uint64 {
	if i < 2*subBuckets {
		return uint64(i)
	}
	shift := i/subBuckets - 1
	return uint64(i%subBuckets+subBuckets) << shift
}

func (h *histogram) add(d time.Duration) {
	us := uint64(max(d.Microseconds(), 0))
	i := min(bucketOf(us), len(h.counts)-1)
	h.counts[i]++
	h.total++
}

func (h *histogram) merge(o *histogram) {
	for i, n := range o.counts {
		h.counts[i] += n
	}
	h.total += o.total
}

// quantile returns the value below which the fraction q of the samples lie (nearest rank),
// as the middle of its bucket.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, n := range h.counts {
		seen += n
		if seen >= rank {
			lo, hi := lowerBound(i), lowerBound(i+1)
			return time.Duration((lo+hi)/2) * time.Microsecond
		}
	}
	return 0
}
