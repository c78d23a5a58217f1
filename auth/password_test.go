package auth

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestHasherPadsLowerCosts: a wrong password for a hash of a lower cost costs about what an
// unknown account costs, a right one still matches (and asks for a re-hash), and a hash of a
// higher cost is compared as it is; concurrently, so that -race sees the dummy hashes being made
// on first use by several callers at once.
func TestHasherPadsLowerCosts(t *testing.T) {
	const current, lower, higher = 8, 6, 9
	h, err := NewHasher(current, 4, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	hashAt := func(cost int) string {
		b, err := bcrypt.GenerateFromPassword([]byte("the right password"), cost)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	low, high := hashAt(lower), hashAt(higher)
	ctx := context.Background()

	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for _, c := range []struct {
				hash, password string
				ok, rehash     bool
			}{
				{low, "a wrong guess", false, false},
				{low, "the right password", true, true},
				{high, "a wrong guess", false, false},
				{high, "the right password", true, true},
				{"", "the right password", false, false},
			} {
				ok, rehash, err := h.Compare(ctx, c.hash, c.password)
				if err != nil || ok != c.ok || rehash != c.rehash {
					t.Errorf("Compare(cost %d hash, %q) = %v, %v, %v", costOf(c.hash), c.password, ok, rehash, err)
				}
			}
		})
	}
	wg.Wait()

	// Interleaved medians; the padding makes the ratio 1, without it 2^(8-6) = 4 times less.
	var unknown, wrong []time.Duration
	for range 11 {
		start := time.Now()
		_, _, _ = h.Compare(ctx, "", "a wrong guess")
		unknown = append(unknown, time.Since(start))
		start = time.Now()
		_, _, _ = h.Compare(ctx, low, "a wrong guess")
		wrong = append(wrong, time.Since(start))
	}
	slices.Sort(unknown)
	slices.Sort(wrong)
	ratio := float64(wrong[5]) / float64(unknown[5])
	t.Logf("median unknown %v, wrong password at cost %d %v (ratio %.2f)", unknown[5], lower, wrong[5], ratio)
	if ratio < 0.6 || ratio > 1.6 {
		t.Errorf("a failure at cost %d is not padded to cost %d: ratio %.2f", lower, current, ratio)
	}
}

func costOf(hash string) int {
	c, _ := bcrypt.Cost([]byte(hash))
	return c
}
