package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/gqlauth/verify"
	"github.com/example/gqlauth/verify/verifytest"
)

// fakeFeed is a stand-in for GET /revocations: it answers the snapshot with ended, then long
// polls with whatever push sends; down makes it answer 503; it checks the client's credentials.
type fakeFeed struct {
	mu      sync.Mutex
	seq     int
	pending []map[string]any
	ended   []map[string]any
	users   []map[string]any
	wake    chan struct{}
	down    atomic.Bool
	badNext atomic.Bool // answer the next request invalid_cursor
	resets  atomic.Int64
}

func newFakeFeed() *fakeFeed { return &fakeFeed{wake: make(chan struct{}, 1)} }

func (f *fakeFeed) push(sid string) {
	f.mu.Lock()
	f.seq++
	entry := map[string]any{"sid": sid, "until": time.Now().Add(time.Hour).Format(time.RFC3339)}
	f.pending = append(f.pending, entry)
	f.ended = append(f.ended, entry)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fakeFeed) disable(sub string) {
	f.mu.Lock()
	f.users = append(f.users, map[string]any{"sub": sub, "disabled": true, "roles": []string{"USER"}, "until": time.Now().Add(time.Hour).Format(time.RFC3339)})
	f.mu.Unlock()
	f.push("unrelated")
}

func (f *fakeFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth() // form-encoded first (RFC 6749 §2.3.1)
	id, _ = url.QueryUnescape(id)
	secret, _ = url.QueryUnescape(secret)
	if !ok || id != "client-1" || secret != "s3cret%" {
		w.WriteHeader(401)
		return
	}
	if f.down.Load() {
		w.WriteHeader(503)
		return
	}
	if f.badNext.CompareAndSwap(true, false) {
		w.WriteHeader(400)
		w.Write([]byte(`{"error":"invalid_cursor"}`))
		return
	}
	after := r.URL.Query().Get("after")
	if after == "" {
		f.resets.Add(1)
		f.mu.Lock()
		page := map[string]any{"cursor": "c", "sessions": f.ended, "users": f.users}
		f.pending = nil
		f.mu.Unlock()
		json.NewEncoder(w).Encode(page)
		return
	}
	select {
	case <-f.wake:
	case <-time.After(time.Second):
	case <-r.Context().Done():
		return
	}
	f.mu.Lock()
	page := map[string]any{"cursor": "c", "sessions": f.pending, "users": f.users}
	if f.pending == nil {
		page["sessions"] = []any{}
	}
	f.pending = nil
	f.mu.Unlock()
	json.NewEncoder(w).Encode(page)
}

func followingVerifier(t *testing.T, feed *fakeFeed, o verify.Options) (*verify.Verifier, *verifytest.Issuer) {
	t.Helper()
	srv := httptest.NewServer(feed)
	t.Cleanup(srv.Close)
	iss := verifytest.NewIssuer("HS256", testIssuer, testAudience)
	o.ClientID, o.ClientSecret, o.RevocationsURL = "client-1", "s3cret%", srv.URL+"/revocations"
	v := newTestVerifier(t, iss, o)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := v.WaitReady(ctx); err != nil {
		t.Fatal("not ready:", err)
	}
	return v, iss
}

func eventually(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v", within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFeedRefusesEndedSessionsAndDisabledUsers(t *testing.T) {
	feed := newFakeFeed()
	feed.push("ended-before-start")
	v, iss := followingVerifier(t, feed, verify.Options{})
	ctx := context.Background()
	if _, err := v.Verify(ctx, iss.Mint("u1", "ended-before-start")); !errors.Is(err, verify.ErrSessionEnded) {
		t.Fatalf("session of the snapshot: %v", err)
	}
	tok := iss.Mint("u1", "s1")
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	feed.push("s1")
	eventually(t, time.Second, func() bool { _, err := v.Verify(ctx, tok); return errors.Is(err, verify.ErrSessionEnded) })
	other := iss.Mint("u2", "s2")
	feed.disable("u2")
	eventually(t, time.Second, func() bool { _, err := v.Verify(ctx, other); return errors.Is(err, verify.ErrUserDisabled) })
	if s := v.Stats(); s.EndedSessions < 2 || s.ChangedUsers != 1 || s.Cursor == "" {
		t.Fatalf("stats %+v", s)
	}
}

// TestFeedOutage: while the feed is down, what was known still applies; past StaleAfter every
// token is refused (fail closed) or, with FailOpen, still accepted; when it is back, so is Ready.
func TestFeedOutage(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		feed := newFakeFeed()
		v, iss := followingVerifier(t, feed, verify.Options{FailOpen: failOpen, PollWait: time.Second, StaleAfter: 100 * time.Millisecond})
		ctx := context.Background()
		feed.push("gone")
		tok := iss.Mint("u", "gone")
		eventually(t, time.Second, func() bool { _, err := v.Verify(ctx, tok); return errors.Is(err, verify.ErrSessionEnded) })
		feed.down.Store(true)
		live := iss.Mint("u", "live")
		time.Sleep(1500 * time.Millisecond) // the long poll in flight ends, the next ones fail
		if _, err := v.Verify(ctx, tok); !errors.Is(err, verify.ErrSessionEnded) && !errors.Is(err, verify.ErrFeedUnavailable) {
			t.Fatalf("failOpen=%v: a known ended session during the outage: %v", failOpen, err)
		}
		_, err := v.Verify(ctx, live)
		switch {
		case failOpen && err != nil:
			t.Fatalf("fail open, but %v", err)
		case !failOpen && !errors.Is(err, verify.ErrFeedUnavailable):
			t.Fatalf("fail closed, but %v", err)
		}
		if v.Ready() {
			t.Fatal("ready while the feed is down")
		}
		feed.down.Store(false)
		eventually(t, 10*time.Second, v.Ready)
		if _, err := v.Verify(ctx, live); err != nil {
			t.Fatalf("after the outage: %v", err)
		}
		if _, err := v.Verify(ctx, tok); !errors.Is(err, verify.ErrSessionEnded) {
			t.Fatalf("after the outage, the ended session: %v", err)
		}
	}
}

// TestFeedCursorRefused: on invalid_cursor the follower starts again without one.
func TestFeedCursorRefused(t *testing.T) {
	feed := newFakeFeed()
	v, iss := followingVerifier(t, feed, verify.Options{})
	resets := feed.resets.Load()
	feed.badNext.Store(true)
	feed.push("x") // ends the waiting poll; the next one is refused
	eventually(t, 3*time.Second, func() bool { return feed.resets.Load() > resets })
	eventually(t, time.Second, v.Ready)
	if _, err := v.Verify(context.Background(), iss.Mint("u", "x")); !errors.Is(err, verify.ErrSessionEnded) {
		t.Fatalf("after the reset: %v", err)
	}
}

func TestFeedWrongCredentialsNeverReady(t *testing.T) {
	srv := httptest.NewServer(newFakeFeed())
	defer srv.Close()
	iss := verifytest.NewIssuer("HS256", testIssuer, testAudience)
	v := newTestVerifier(t, iss, verify.Options{ClientID: "client-1", ClientSecret: "wrong", RevocationsURL: srv.URL})
	time.Sleep(300 * time.Millisecond)
	if v.Ready() {
		t.Fatal("ready with wrong client credentials")
	}
	if _, err := v.Verify(context.Background(), iss.Mint("u", "s")); !errors.Is(err, verify.ErrFeedUnavailable) {
		t.Fatalf("before the feed answered: %v", err)
	}
}
