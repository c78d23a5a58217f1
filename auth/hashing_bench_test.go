package auth

import (
	"context"
	"crypto/sha256"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkCheapWorkDuringHashing: a cheap request's latency (a few microseconds of hashing
// with SHA-256, as token checks cost) while every bcrypt slot is busy hashing; the p99 is the
// figure the login-flood target is about. Target: p99 within 2× of the idle p99
// (BenchmarkCheapWorkIdle); run both with benchstat.
func BenchmarkCheapWorkDuringHashing(b *testing.B) {
	// As the server does (reserveHashingProcs): a P for each hashing thread.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + ExtraProcs(2)))
	h, err := NewHasher(10, 2, time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	h.pool.lowPriority = true // as the server runs it
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 { // more hashers than slots: the queue is never empty, as in a flood
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = h.Hash(context.Background(), "correct horse battery staple")
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	cheapWork(b)
	close(stop)
	wg.Wait()
}

// BenchmarkCheapWorkIdle is BenchmarkCheapWorkDuringHashing without the hashing.
func BenchmarkCheapWorkIdle(b *testing.B) { cheapWork(b) }

func cheapWork(b *testing.B) {
	var buf [1024]byte
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // a request is a new goroutine that must be scheduled
			defer wg.Done()
			for range 20 {
				sum := sha256.Sum256(buf[:])
				copy(buf[:], sum[:])
			}
		}()
		wg.Wait()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
}
