package auth_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

// The limiter benchmarks use only the Limiter interface, so they run unchanged on any version
// of the in-memory limiter (that is how the figures before and after a change are compared):
//
//	go test ./auth -run '^$' -bench 'MemoryLimiter' -benchtime 2s
//
// liveKeys is the population of the "many live keys" benchmarks: as many buckets as an
// attacker rotating addresses or emails creates in minutes.
const liveKeys = 300_000

const benchWindow = 15 * time.Minute

// benchKey is a realistic key: an account key as Login makes them (the length matters to a
// limiter that keeps its keys).
func benchKey(i int) string { return "login:account:user" + strconv.Itoa(i) + "@example.com" }

// fillLimiter gives n keys one counted attempt each, so that none of them is idle.
func fillLimiter(b *testing.B, l auth.Limiter, from, n int) {
	b.Helper()
	ctx := context.Background()
	for i := from; i < from+n; i++ {
		r, err := l.Reserve(ctx, benchKey(i), 1<<30, benchWindow)
		if err != nil {
			b.Fatalf("Reserve: %v", err)
		}
		r.Done(true)
	}
}

// BenchmarkMemoryLimiterReserveLive: Reserve and release on random keys among liveKeys live
// ones, from every P at once (the login path of a busy instance under a spray).
func BenchmarkMemoryLimiterReserveLive(b *testing.B) {
	l := auth.NewMemoryLimiter(nil)
	fillLimiter(b, l, 0, liveKeys)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
		for pb.Next() {
			r, err := l.Reserve(ctx, benchKey(rng.IntN(liveKeys)), 1<<30, benchWindow)
			if err != nil {
				b.Errorf("Reserve: %v", err)
				return
			}
			r.Done(false)
		}
	})
}

// BenchmarkMemoryLimiterLatencyUnderSpray: one goroutine sprays new keys on top of liveKeys
// live ones while the benchmark loop reserves an honest key. It reports
//   - worst-ns and p99-ns: the honest Reserve's wall-clock latency (what a login waits, the
//     other goroutine's lock holds included; on a loaded machine the worst case also holds
//     time the thread was not scheduled);
//   - worst-cpu-ns: the most CPU time any one Reserve+Done took on its thread, which
//     descheduling does not inflate: the longest one call holds a lock. A limiter that cleans
//     up by walking every bucket under one lock shows the walk here.
func BenchmarkMemoryLimiterLatencyUnderSpray(b *testing.B) {
	l := auth.NewMemoryLimiter(nil)
	fillLimiter(b, l, 0, liveKeys)
	ctx := context.Background()
	stop := make(chan struct{})
	var sprayed atomic.Int64
	var sprayCPU int64
	var wg sync.WaitGroup
	wg.Go(func() {
		runtime.LockOSThread() // the thread's CPU clock is this goroutine's
		defer runtime.UnlockOSThread()
		for i := liveKeys; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			key := benchKey(i)
			t0 := threadCPUTime()
			r, err := l.Reserve(ctx, key, 1<<30, benchWindow)
			if err == nil {
				r.Done(true)
			}
			sprayCPU = max(sprayCPU, threadCPUTime()-t0)
			sprayed.Add(1)
		}
	})
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lat := make([]time.Duration, 0, b.N)
	var loopCPU int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0, c0 := time.Now(), threadCPUTime()
		r, err := l.Reserve(ctx, "login:ip:203.0.113.7", 1<<30, benchWindow)
		if err != nil {
			b.Fatalf("Reserve: %v", err)
		}
		r.Done(false)
		loopCPU = max(loopCPU, threadCPUTime()-c0)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds()), "worst-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	if worst := max(loopCPU, sprayCPU); worst > 0 {
		b.ReportMetric(float64(worst), "worst-cpu-ns")
	}
	b.ReportMetric(float64(sprayed.Load()), "sprayed-keys")
}

// BenchmarkMemoryLimiterBytesPerBucket: heap bytes one live bucket costs (its key included),
// measured over liveKeys buckets after a full collection.
func BenchmarkMemoryLimiterBytesPerBucket(b *testing.B) {
	var total float64
	for i := 0; i < b.N; i++ {
		before := heapAlloc()
		l := auth.NewMemoryLimiter(nil)
		fillLimiter(b, l, i*liveKeys, liveKeys)
		after := heapAlloc()
		runtime.KeepAlive(l)
		total += float64(after-before) / liveKeys
	}
	b.ReportMetric(total/float64(b.N), "B/bucket")
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
