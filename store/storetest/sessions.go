package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

var sessionTests = []test{
	{"Session/CreateAndGet", testCreateAndGetSession},
	{"Session/NotFound", testSessionNotFound},
	{"Session/ListLive", testListLiveSessions},
	{"Session/EndSession", testEndSession},
	{"Session/EndUserSessions", testEndUserSessions},
}

func testCreateAndGetSession(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	want := newSession("s1", "u1")
	want.LastUsedAt = at(time.Second)
	mustCreateSession(t, s, want)

	got, err := s.SessionByID(ctx, want.ID)
	must(t, err)
	checkSession(t, got, want)
	got, err = s.SessionByRefreshHash(ctx, hashOf("s1/0"))
	must(t, err)
	checkSession(t, got, want)
	if !got.Live(at(time.Hour)) {
		t.Errorf("new session not live: %+v", got)
	}
}

func testSessionNotFound(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateSession(t, s, newSession("s1", "u1"))
	if _, err := s.SessionByID(ctx, "nope"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("SessionByID(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.SessionByRefreshHash(ctx, hashOf("nope")); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("SessionByRefreshHash(unknown) = %v, want ErrNotFound", err)
	}
	if got, err := s.ListLiveSessions(ctx, "nobody", t0); err != nil || len(got) != 0 {
		t.Errorf("ListLiveSessions(unknown user) = %v, %v; want none", got, err)
	}
}

// Live means not ended and now before ExpiresAt (auth.Session.Live).
func testListLiveSessions(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	now := at(time.Hour)
	sessions := []struct {
		id, user string
		created  time.Duration
		expires  time.Duration // from created
		ended    bool
	}{
		{"old", "u1", 0, ttl, false},
		{"new", "u1", 2 * time.Minute, ttl, false},
		{"mid", "u1", time.Minute, ttl, false},
		{"ended", "u1", 3 * time.Minute, ttl, true},
		{"expired", "u1", 4 * time.Minute, 30 * time.Minute, false}, // expired at t0+34m
		{"expires-now", "u1", 5 * time.Minute, 55 * time.Minute, false},
		{"other-user", "u2", 6 * time.Minute, ttl, false},
	}
	for _, x := range sessions {
		sess := newSession(x.id, x.user)
		sess.CreatedAt = at(x.created)
		sess.LastUsedAt, sess.ExpiresAt = sess.CreatedAt, sess.CreatedAt.Add(x.expires)
		mustCreateSession(t, s, sess)
		if x.ended {
			if _, err := s.EndSession(ctx, x.id, auth.EndLogout, at(10*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := s.ListLiveSessions(ctx, "u1", now)
	must(t, err)
	if want := []string{"new", "mid", "old"}; !slices.Equal(sessionIDs(got), want) {
		t.Errorf("ListLiveSessions = %q, want %q (newest first)", sessionIDs(got), want)
	}
	if len(got) > 0 {
		want := newSession("new", "u1")
		want.CreatedAt = at(2 * time.Minute)
		want.LastUsedAt, want.ExpiresAt = want.CreatedAt, want.CreatedAt.Add(ttl)
		checkSession(t, got[0], want)
	}
}

// EndSession ends any session not yet ended, including one past its ExpiresAt: an explicit end
// must take effect for access tokens minted shortly before expiry.
func testEndSession(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	want := mustCreateSession(t, s, newSession("s1", "u1"))
	expired := newSession("s2", "u1")
	expired.ExpiresAt = at(time.Minute)
	mustCreateSession(t, s, expired)

	for _, tc := range []struct {
		name string
		id   string
		want bool
	}{
		{"live", "s1", true},
		{"again", "s1", false},
		{"unknown", "nope", false},
		{"expired", "s2", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ended, err := s.EndSession(ctx, tc.id, auth.EndLogout, at(time.Hour))
			must(t, err)
			if ended != tc.want {
				t.Errorf("EndSession(%s) = %v, want %v", tc.id, ended, tc.want)
			}
		})
	}

	want.EndedAt, want.EndReason = at(time.Hour), auth.EndLogout
	got, err := s.SessionByID(ctx, "s1")
	must(t, err)
	checkSession(t, got, want) // the second call did not overwrite EndedAt/EndReason
	if got.Live(at(time.Hour)) {
		t.Error("ended session reported live")
	}
	// Ended sessions are still found by their refresh token.
	got, err = s.SessionByRefreshHash(ctx, hashOf("s1/0"))
	must(t, err)
	checkSession(t, got, want)

	cs := allChanges(t, s)
	if len(cs) != 2 || cs[0].SessionID != "s1" || cs[1].SessionID != "s2" {
		t.Errorf("changes = %+v, want one per ended session (s1, s2)", cs)
	}
}

// EndUserSessions ends only live sessions (not ended, not expired) of that user.
func testEndUserSessions(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	sessionsLiveAndNot(t, s, "b")
	before := allChanges(t, s)

	now := at(time.Hour)
	ids, err := s.EndUserSessions(ctx, "u1", "b", auth.EndPasswordChange, now)
	must(t, err)
	slices.Sort(ids)
	if want := []string{"a", "c"}; !slices.Equal(ids, want) {
		t.Fatalf("EndUserSessions(except b) = %q, want %q", ids, want)
	}
	for _, tc := range []struct {
		id     string
		ended  time.Time
		reason string
	}{
		{"a", now, auth.EndPasswordChange},
		{"b", time.Time{}, ""},
		{"c", now, auth.EndPasswordChange},
		{"ended", at(time.Minute), auth.EndLogout},
		{"expired", time.Time{}, ""},
		{"other", time.Time{}, ""},
	} {
		got, err := s.SessionByID(ctx, tc.id)
		must(t, err)
		checkTime(t, tc.id+" EndedAt", got.EndedAt, tc.ended)
		if got.EndReason != tc.reason {
			t.Errorf("%s EndReason = %q, want %q", tc.id, got.EndReason, tc.reason)
		}
	}

	added := allChanges(t, s)[len(before):]
	var logged []string
	for _, c := range added {
		if c.Kind != auth.ChangeSessionEnded || c.UserID != "u1" {
			t.Errorf("change = %+v, want session_ended of u1", c)
		}
		checkTime(t, "change At", c.At, now)
		logged = append(logged, c.SessionID)
	}
	slices.Sort(logged)
	if !slices.Equal(logged, []string{"a", "c"}) {
		t.Errorf("logged ended sessions %q, want [a c]", logged)
	}

	// Nothing left to end but b; an empty exceptID ends it too.
	ids, err = s.EndUserSessions(ctx, "u1", "", auth.EndLogoutAll, at(2*time.Hour))
	must(t, err)
	if !slices.Equal(ids, []string{"b"}) {
		t.Errorf("EndUserSessions(no except) = %q, want [b]", ids)
	}
	ids, err = s.EndUserSessions(ctx, "u1", "", auth.EndLogoutAll, at(3*time.Hour))
	must(t, err)
	if len(ids) != 0 {
		t.Errorf("EndUserSessions(nothing live) = %q, want none", ids)
	}
}

// sessionsLiveAndNot creates users u1 and u2; u1 gets the live sessions "a", second and "c", the
// "ended" (ended at at(time.Minute)) and "expired" (expiring then); u2 the live "other".
// It returns u1.
func sessionsLiveAndNot(t *testing.T, s auth.Store, second string) auth.User {
	t.Helper()
	ctx := ctxOf(t)
	u1 := mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	for _, id := range []string{"a", second, "c", "ended", "expired"} {
		sess := newSession(id, "u1")
		if id == "expired" {
			sess.ExpiresAt = at(time.Minute)
		}
		mustCreateSession(t, s, sess)
	}
	mustCreateSession(t, s, newSession("other", "u2"))
	if _, err := s.EndSession(ctx, "ended", auth.EndLogout, at(time.Minute)); err != nil {
		t.Fatal(err)
	}
	return u1
}
