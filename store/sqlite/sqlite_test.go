package sqlite_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/sqlite"
	"github.com/example/gqlauth/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.Store { return open(t, dbPath(t)) })
}

func TestMigrations(t *testing.T) {
	storetest.RunMigrations(t, func(t *testing.T) storetest.Database {
		path := dbPath(t)
		return storetest.Database{
			Open: func(t *testing.T, log *slog.Logger) auth.Store {
				s, err := sqlite.Open(t.Context(), path, sqlite.WithLogger(log))
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
			Unrecord: func(t *testing.T, name string) {
				db, err := sql.Open("sqlite", path)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if res, err := db.ExecContext(t.Context(), `DELETE FROM schema_migrations WHERE name = ?`, name); err != nil {
					t.Fatal(err)
				} else if n, _ := res.RowsAffected(); n != 1 {
					t.Fatalf("migration %s was not recorded", name)
				}
			},
		}
	})
}

// dbPath is a file in a directory that does not exist yet, so Open must create it.
func dbPath(t *testing.T) string { return filepath.Join(t.TempDir(), "data", "auth.db") }

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var t0 = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)

func seed(t *testing.T, s auth.Store, userID, sessionID string, hash []byte) {
	t.Helper()
	ctx := t.Context()
	if err := s.CreateUser(ctx, auth.User{ID: userID, Email: userID + "@example.com", PasswordHash: "h",
		Roles: []auth.Role{auth.RoleUser}, CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, auth.Session{ID: sessionID, UserID: userID, CreatedAt: t0, LastUsedAt: t0,
		ExpiresAt: t0.Add(time.Hour)}, auth.RefreshHash{Sum: hash}, 0); err != nil {
		t.Fatal(err)
	}
}

// Data written before Close is there after reopening.
func TestReopenKeepsData(t *testing.T) {
	path := dbPath(t)
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	seed(t, s, "u1", "s1", []byte("h0"))
	if _, err := s.EndSession(t.Context(), "s1", auth.EndLogout, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := open(t, path) // migrations run again and must be no-ops
	if _, err := s2.UserByEmail(t.Context(), "u1@example.com"); err != nil {
		t.Errorf("user lost after reopen: %v", err)
	}
	sess, err := s2.SessionByRefreshHash(t.Context(), []byte("h0"))
	if err != nil || sess.EndedAt.IsZero() {
		t.Errorf("session after reopen = %+v, %v; want ended", sess, err)
	}
	if cs, err := s2.ChangesAfter(t.Context(), 0, time.Time{}, 10); err != nil || len(cs) != 1 {
		t.Errorf("change log after reopen = %+v, %v; want 1 entry", cs, err)
	}
}

// Two Stores on one file behave like two processes sharing the database: each sees the other's
// writes, and concurrent rotations across them neither double-succeed nor fail with SQLITE_BUSY.
func TestTwoStoresShareFile(t *testing.T) {
	path := dbPath(t)
	a, b := open(t, path), open(t, path)
	seed(t, a, "u1", "s1", []byte("h0"))

	if _, err := b.UserByID(t.Context(), "u1"); err != nil {
		t.Fatalf("second store does not see the first's user: %v", err)
	}
	if _, err := b.EndSession(t.Context(), "missing", auth.EndLogout, t0); err != nil {
		t.Fatal(err)
	}
	disabled := true
	if _, _, err := b.ChangeUserSecurity(t.Context(), "u1", auth.SecurityChange{Disabled: &disabled}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if u, err := a.UserByID(t.Context(), "u1"); err != nil || !u.Disabled {
		t.Errorf("first store does not see the second's update: %+v, %v", u, err)
	}

	const n = 40
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for i := range n {
		s := []*sqlite.Store{a, b}[i%2]
		wg.Go(func() {
			<-start
			_, errs[i] = s.RotateRefreshToken(t.Context(), auth.RefreshHash{Sum: []byte("h0")}, auth.RefreshHash{Sum: fmt.Appendf(nil, "h1-%d", i)}, t0.Add(time.Minute))
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		var ar *auth.AlreadyRotatedError
		switch {
		case err == nil:
			won++
		case !errors.As(err, &ar):
			t.Errorf("rotation %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d rotations succeeded, want 1", won)
	}
}

func TestOpenRefusesMemory(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file::memory:?cache=shared"} {
		if s, err := sqlite.Open(t.Context(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
}

// BenchmarkRotate measures refresh rotations per second through one Store.
func BenchmarkRotate(b *testing.B) {
	s := benchStore(b, filepath.Join(b.TempDir(), "bench.db"))
	defer s.Close()
	rotateInParallel(b, s, func(n int) string { return fmt.Sprint("s", n) },
		func(sid string, i int) []byte { return fmt.Appendf(nil, "%s/%d", sid, i) })
}

// BenchmarkRotateRows is BenchmarkRotate with the refresh load's shape (16 sessions rotating
// concurrently, SHA-256 hashes, UUID-sized session ids) on an empty token table and on one
// holding a million rotated tokens of other sessions: rotation must not slow down as rotated
// tokens, kept for reuse detection, pile up.
func BenchmarkRotateRows(b *testing.B) {
	for _, rows := range []int{0, 1_000_000} {
		b.Run(fmt.Sprint("rows=", rows), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			benchStore(b, path).Close()
			fillRotatedTokens(b, path, rows)
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.SetParallelism(8) // 16 goroutines at GOMAXPROCS=2, like the refresh load
			b.ResetTimer()
			rotateInParallel(b, s, func(n int) string { return fmt.Sprintf("0193a5b0-0000-7000-8000-%012d", n) },
				func(sid string, i int) []byte {
					sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", sid, i))
					return sum[:]
				})
		})
	}
}

// benchStore opens a store at path holding user "u".
func benchStore(b *testing.B, path string) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.CreateUser(ctx, auth.User{ID: "u", Email: "u@example.com", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		s.Close()
		b.Fatal(err)
	}
	return s
}

// rotateInParallel runs b.N rotations, each goroutine on a session of its own of user "u":
// the nth goroutine's session is sessionID(n), its tokens hash(sid, 0), hash(sid, 1), ...
func rotateInParallel(b *testing.B, s *sqlite.Store, sessionID func(n int) string, hash func(sid string, i int) []byte) {
	ctx := context.Background()
	var next atomic.Int64
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		sid := sessionID(int(next.Add(1)))
		if err := s.CreateSession(ctx, auth.Session{ID: sid, UserID: "u", CreatedAt: t0, LastUsedAt: t0,
			ExpiresAt: t0.Add(time.Hour)}, auth.RefreshHash{Sum: hash(sid, 0)}, 0); err != nil {
			b.Error(err)
			return
		}
		for i := 0; pb.Next(); i++ {
			if _, err := s.RotateRefreshToken(ctx, auth.RefreshHash{Sum: hash(sid, i)}, auth.RefreshHash{Sum: hash(sid, i+1)}, t0.Add(time.Minute)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
