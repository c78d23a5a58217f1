package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/authtest"
)

func newFeedService(t *testing.T) (*auth.Service, auth.Store) {
	t.Helper()
	key, _ := auth.NewHMACKey([]byte("revocation-feed-test-secret-0123456789ab"))
	ks, _ := auth.NewKeySet(key)
	tokens := auth.NewTokens(ks, auth.TokenConfig{Issuer: "http://test", Audience: "graphql-api", TTL: 15 * time.Minute, Leeway: auth.MaxLeeway})
	store := authtest.OpenSQLite(t, filepath.Join(t.TempDir(), "auth.db"))
	svc, err := auth.New(context.Background(), store, tokens, auth.Config{BcryptCost: 4, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go svc.Run(ctx) // only local changes wake it: the hour-long tick never comes
	return svc, store
}

func sessionIDs(p auth.RevocationPage) []string {
	var ids []string
	for _, s := range p.Sessions {
		ids = append(ids, s.ID)
	}
	return ids
}

// TestRevocationFeed: a snapshot without a cursor, then a long poll that a logout answers at
// once, through the view's shared wake-up (the poll tick is an hour).
func TestRevocationFeed(t *testing.T) {
	svc, _ := newFeedService(t)
	ctx := clientCtx()
	if _, err := svc.Register(ctx, "ada@example.com", testPassword); err != nil {
		t.Fatal(err)
	}
	first, _ := svc.Login(ctx, "ada@example.com", testPassword)
	second, _ := svc.Login(ctx, "ada@example.com", testPassword)
	if _, err := svc.Logout(ctx, first.RefreshToken); err != nil {
		t.Fatal(err)
	}
	snap, err := svc.Revocations(ctx, "", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sessionIDs(snap), []string{first.SessionID}) || snap.More || snap.Cursor == "" {
		t.Fatalf("snapshot %+v", snap)
	}
	if until := snap.Sessions[0].Until; until.Before(time.Now().Add(15*time.Minute)) || until.After(time.Now().Add(16*time.Minute)) {
		t.Fatalf("until %v: want the end of the last access token's lifetime", until)
	}

	// Nothing new: wait 0 answers at once, with the same cursor.
	idle, err := svc.Revocations(ctx, snap.Cursor, 0)
	if err != nil || len(idle.Sessions)+len(idle.Users) != 0 || idle.Cursor != snap.Cursor {
		t.Fatalf("idle poll %+v, %v", idle, err)
	}

	type result struct {
		page auth.RevocationPage
		err  error
		took time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		p, err := svc.Revocations(ctx, snap.Cursor, 20*time.Second)
		done <- result{p, err, time.Since(start)}
	}()
	time.Sleep(200 * time.Millisecond) // the poll is waiting
	if _, err := svc.Logout(ctx, second.RefreshToken); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || !slices.Equal(sessionIDs(r.page), []string{second.SessionID}) {
		t.Fatalf("long poll: %+v, %v", r.page, r.err)
	}
	if r.took > 2*time.Second {
		t.Fatalf("the long poll answered %v after it began, long after the logout", r.took)
	}
	if r.page.Cursor == snap.Cursor {
		t.Fatal("the cursor did not move")
	}

	// A user change: disabled, with the user's current roles.
	u, _ := svc.Register(ctx, "bob@example.com", testPassword)
	if _, err := svc.SetUserDisabled(ctx, auth.Principal{}, u.User.ID, true); err != nil {
		t.Fatal(err)
	}
	p, err := svc.Revocations(ctx, r.page.Cursor, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, cu := range p.Users {
		if cu.ID == u.User.ID {
			found = cu.Disabled && slices.Equal(cu.Roles, []auth.Role{auth.RoleUser})
		}
	}
	if !found {
		t.Fatalf("disabled user not reported: %+v", p.Users)
	}
}

func TestRevocationFeedCursors(t *testing.T) {
	svc, _ := newFeedService(t)
	ctx := clientCtx()
	snap, err := svc.Revocations(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"x", "c1.", "c1.-1", "c1.01", "c1.1a", "c1. 1", "c2.1", "C1.1", "c1.99999999999999999999", "c1.1.1", "\x00"} {
		if _, err := svc.Revocations(ctx, bad, 0); !errors.Is(err, auth.ErrInvalidCursor) {
			t.Errorf("cursor %q: %v, want ErrInvalidCursor", bad, err)
		}
	}
	for _, future := range []string{"c1.1", "c1.9223372036854775807"} {
		if _, err := svc.Revocations(ctx, future, 0); !errors.Is(err, auth.ErrFutureCursor) {
			t.Errorf("cursor %q of an empty log: %v, want ErrFutureCursor", future, err)
		}
	}
	if _, err := svc.Revocations(ctx, snap.Cursor, 0); err != nil {
		t.Errorf("the snapshot's own cursor: %v", err)
	}
}

// TestRevocationFeedPages: answers are bounded; a full page says More and the next one goes on.
func TestRevocationFeedPages(t *testing.T) {
	svc, store := newFeedService(t)
	ctx := clientCtx()
	g, _ := svc.Register(ctx, "ada@example.com", testPassword)
	now := time.Now()
	n := auth.RevocationPageSize + 20
	for i := range n {
		id := "sess-" + time.Duration(i).String()
		if err := store.CreateSession(ctx, auth.Session{ID: id, UserID: g.User.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)},
			auth.RefreshHash{Sum: []byte(id + "-hash-0123456789abcdef0123456789")}, g.User.SecurityStamp); err != nil {
			t.Fatal(err)
		}
		if _, err := store.EndSession(ctx, id, "test", now); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		p, err := svc.Revocations(ctx, cursor, 0)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(p.Sessions)+len(p.Users) > auth.RevocationPageSize {
			t.Fatalf("a page of %d entries", len(p.Sessions)+len(p.Users))
		}
		for _, s := range p.Sessions {
			seen[s.ID] = true
		}
		cursor = p.Cursor
		if !p.More {
			break
		}
	}
	if len(seen) != n || pages != 2 {
		t.Fatalf("%d sessions in %d pages, want %d in 2", len(seen), pages, n)
	}
}

// TestRevocationFeedEndsWaitsOnShutdown: a shutdown does not wait for the long polls.
func TestRevocationFeedEndsWaitsOnShutdown(t *testing.T) {
	svc, _ := newFeedService(t)
	snap, _ := svc.Revocations(clientCtx(), "", 0)
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		_, _ = svc.Revocations(clientCtx(), snap.Cursor, 30*time.Second)
		done <- time.Since(start)
	}()
	time.Sleep(100 * time.Millisecond)
	svc.EndFeedWaits()
	select {
	case took := <-done:
		if took > 5*time.Second {
			t.Fatalf("took %v", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting feed request outlived EndFeedWaits")
	}
}

// TestRevocationFeedManyWaiters: waiters on one cursor, woken together, all get the change
// (they share one read of the change log).
func TestRevocationFeedManyWaiters(t *testing.T) {
	svc, _ := newFeedService(t)
	ctx := clientCtx()
	if _, err := svc.Register(ctx, "ada@example.com", testPassword); err != nil {
		t.Fatal(err)
	}
	g, _ := svc.Login(ctx, "ada@example.com", testPassword)
	snap, _ := svc.Revocations(ctx, "", 0)
	const n = 20
	got := make(chan []string, n)
	for range n {
		go func() {
			p, err := svc.Revocations(ctx, snap.Cursor, 10*time.Second)
			if err != nil {
				t.Error(err)
			}
			got <- sessionIDs(p)
		}()
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := svc.Logout(ctx, g.RefreshToken); err != nil {
		t.Fatal(err)
	}
	for range n {
		select {
		case ids := <-got:
			if !slices.Equal(ids, []string{g.SessionID}) {
				t.Fatalf("a waiter got %v", ids)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a waiter was not answered")
		}
	}
}
