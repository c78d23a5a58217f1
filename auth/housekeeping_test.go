package auth_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/authtest"
)

// Housekeeping purges what is due and nothing else: sessions over for more than a day (with
// their tokens), change-log entries older than a day, audit rows past the retention. A rotated
// token of a live session survives, so its reuse is still detected as reuse.
func TestHousekeepPurgesOnlyWhatIsDue(t *testing.T) {
	var (
		mu     sync.Mutex
		purged = map[string]int64{}
	)
	f := newSvc(t, "", nil, nil, func(c *auth.Config) {
		c.AuditRetention = 48 * time.Hour
		c.PurgeBatch, c.PurgePause = 2, time.Millisecond // several batches
		c.OnPurged = func(table string, n int64) { mu.Lock(); purged[table] += n; mu.Unlock() }
	})
	ctx := clientCtx()
	reg, err := f.svc.Register(ctx, "erin@example.com", testPassword) // session 1: 1 token
	if err != nil {
		t.Fatal(err)
	}
	live := f.login(t, "erin@example.com") // session 2: stays live
	rotated := live.RefreshToken
	if _, err := f.svc.Refresh(ctx, rotated); err != nil { // now 2 tokens, one rotated
		t.Fatal(err)
	}
	if _, err := f.svc.Logout(ctx, reg.RefreshToken); err != nil { // ends session 1 (1 change)
		t.Fatal(err)
	}
	f.svc.Close() // store the audit rows now (REGISTERED, LOGIN, LOGOUT)

	// An hour later nothing is due.
	f.clock.Add(time.Hour)
	r, err := f.svc.Housekeep(context.Background())
	if err != nil || r != (auth.PurgeReport{}) {
		t.Fatalf("Housekeep after an hour = %+v, %v; want nothing purged", r, err)
	}

	// A day later the ended session and its change-log entry go; the live session stays.
	f.clock.Add(24 * time.Hour)
	r, err = f.svc.Housekeep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Sessions != 2 || r.Changes != 1 || r.Audit != 0 {
		t.Errorf("Housekeep after a day = %+v; want 2 session rows (session and token), 1 change, no audit", r)
	}
	if _, err := f.store.SessionByID(context.Background(), reg.SessionID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ended session still stored: %v", err)
	}
	if _, err := f.store.SessionByID(context.Background(), live.SessionID); err != nil {
		t.Errorf("live session purged: %v", err)
	}
	if _, err := f.svc.Refresh(ctx, rotated); !errors.Is(err, auth.ErrRefreshTokenReused) {
		t.Errorf("reusing a rotated token of a live session after housekeeping = %v, want REFRESH_TOKEN_REUSED", err)
	}

	// Past the audit retention the first three rows go (the reuse row is a day younger).
	f.clock.Add(24 * time.Hour)
	r, err = f.svc.Housekeep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Audit != 3 {
		t.Errorf("audit rows purged = %d, want 3 (%+v)", r.Audit, r)
	}
	left := trail(t, f.store)
	if len(left) != 1 || left[0].Type != auth.EventRefreshReuse {
		t.Errorf("audit rows left: %+v, want the reuse only", left)
	}
	mu.Lock()
	defer mu.Unlock()
	if purged["sessions"] != 2 || purged["changes"] != 1 || purged["audit"] != 3 {
		t.Errorf("OnPurged saw %v", purged)
	}
}

// lockedStore holds the housekeeping lock elsewhere and counts purge calls.
type lockedStore struct {
	auth.Store
	purges atomic.Int32
	free   bool
}

func (l *lockedStore) TryHousekeepingLock(context.Context) (func(), bool, error) {
	return func() {}, l.free, nil
}

func (l *lockedStore) PurgeSessions(ctx context.Context, before time.Time, batch int) (int64, error) {
	l.purges.Add(1)
	return l.Store.PurgeSessions(ctx, before, batch)
}

// wrapper hides its store's optional interfaces, like the metrics decorator.
type wrapper struct{ auth.Store }

// With a store that can lock, only the instance holding the lock purges; the lock is found
// although Config.WrapStore decorates the store.
func TestHousekeepSkipsWithoutTheLock(t *testing.T) {
	for _, free := range []bool{false, true} {
		locked := &lockedStore{Store: authtest.OpenSQLite(t, t.TempDir()+"/auth.db"), free: free}
		f := newSvc(t, "", nil, locked, func(c *auth.Config) {
			c.WrapStore = func(s auth.Store) auth.Store { return wrapper{s} }
		})
		r, err := f.svc.Housekeep(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.Skipped == free || (locked.purges.Load() > 0) != free {
			t.Errorf("lock free=%v: report %+v, %d purge calls", free, r, locked.purges.Load())
		}
	}
}

// RunHousekeeping purges in the background, jittered around its interval, until stopped.
func TestRunHousekeeping(t *testing.T) {
	locked := &lockedStore{Store: authtest.OpenSQLite(t, t.TempDir()+"/auth.db"), free: true}
	f := newSvc(t, "", nil, locked, func(c *auth.Config) { c.HousekeepingEvery = 20 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.svc.RunHousekeeping(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for locked.purges.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if n := locked.purges.Load(); n < 3 {
		t.Errorf("%d housekeeping passes in 5 s at a 20 ms interval", n)
	}
}
