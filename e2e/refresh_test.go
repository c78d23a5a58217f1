package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"
)

// expectRefreshOK refreshes and fails the test on any error.
func expectRefreshOK(t testing.TB, s *testServer, refreshToken string) payload {
	t.Helper()
	p, r := s.refresh(t, refreshToken)
	expectOK(t, r)
	if p.AccessToken == "" || p.RefreshToken == "" || p.TokenType != "Bearer" {
		t.Fatalf("refresh payload: %+v", p)
	}
	return p
}

// TestRefreshRotation: every use rotates the refresh token; the new pair works and the old
// refresh token is no longer the session's current one.
func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	first := s.register(t, "rot@example.com")

	second := expectRefreshOK(t, s, first.RefreshToken)
	if second.RefreshToken == first.RefreshToken {
		t.Fatal("refresh did not rotate the refresh token")
	}
	if second.AccessToken == first.AccessToken {
		t.Fatal("refresh returned the same access token")
	}
	if second.User.ID != first.User.ID || second.ExpiresIn != 900 {
		t.Fatalf("refresh payload: %+v", second)
	}
	expectOK(t, s.me(t, second.AccessToken))
	// The earlier access token stays valid until it expires: rotation does not end the session.
	expectOK(t, s.me(t, first.AccessToken))

	// Same session: refresh keeps the sid.
	f1 := newTokenForge(t, s, first.AccessToken)
	f2 := newTokenForge(t, s, second.AccessToken)
	if f1.claims["sid"] != f2.claims["sid"] || f1.claims["jti"] == f2.claims["jti"] {
		t.Fatalf("sid/jti across refresh: %v/%v vs %v/%v", f1.claims["sid"], f1.claims["jti"], f2.claims["sid"], f2.claims["jti"])
	}

	// The new token rotates again; the chain goes on.
	third := expectRefreshOK(t, s, second.RefreshToken)
	fourth := expectRefreshOK(t, s, third.RefreshToken)
	expectOK(t, s.me(t, fourth.AccessToken))

	// Refresh tokens are opaque and carry at least 256 bits.
	for _, rt := range []string{first.RefreshToken, second.RefreshToken, third.RefreshToken, fourth.RefreshToken} {
		if strings.Count(rt, ".") == 2 || len(rt) < 43 {
			t.Fatalf("refresh token does not look opaque and 256-bit: %q", rt)
		}
	}
}

// TestRefreshReuseDetection: an already-rotated refresh token presented after the grace window
// ends the whole session.
func TestRefreshReuseDetection(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"REFRESH_REUSE_GRACE": "1s"})
	victim := s.register(t, "reuse@example.com")
	other, r := s.login(t, "reuse@example.com", testPassword) // another session of the same user
	expectOK(t, r)

	newer := expectRefreshOK(t, s, victim.RefreshToken)
	newest := expectRefreshOK(t, s, newer.RefreshToken)
	time.Sleep(1500 * time.Millisecond)

	_, r = s.refresh(t, victim.RefreshToken)
	expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_REUSED")

	// The whole session is over: its newest refresh token and all its access tokens.
	_, r = s.refresh(t, newest.RefreshToken)
	expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID")
	for _, at := range []string{victim.AccessToken, newer.AccessToken, newest.AccessToken} {
		expectError(t, s.me(t, at), "UNAUTHENTICATED", "TOKEN_REVOKED")
	}
	// Presenting the reused token again stays refused (REUSED or INVALID, never a grant).
	_, r = s.refresh(t, victim.RefreshToken)
	if r.code() != "UNAUTHENTICATED" || (r.reason() != "REFRESH_TOKEN_REUSED" && r.reason() != "REFRESH_TOKEN_INVALID") {
		t.Fatalf("second reuse: %+v", r.Errors)
	}

	// The user's other session is untouched.
	expectOK(t, s.me(t, other.AccessToken))
	expectRefreshOK(t, s, other.RefreshToken)
}

// TestRefreshRetryWithinGrace: presenting the rotated token again within the grace window
// (default 10 s) gets the same answer again or a clear error, never a second live token, and
// does not end the session.
func TestRefreshRetryWithinGrace(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	login := s.register(t, "retry@example.com")
	first := expectRefreshOK(t, s, login.RefreshToken)

	for i := range 3 {
		again, r := s.refresh(t, login.RefreshToken)
		if len(r.Errors) > 0 {
			// A clear error; not reuse, since that would end the session.
			expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID")
			continue
		}
		if again.RefreshToken != first.RefreshToken {
			t.Fatalf("retry %d minted a second refresh token", i)
		}
		expectOK(t, s.me(t, again.AccessToken))
	}

	// The session lives on: its access token works and the newest refresh token rotates once.
	expectOK(t, s.me(t, first.AccessToken))
	expectOK(t, s.me(t, login.AccessToken))
	next := expectRefreshOK(t, s, first.RefreshToken)
	expectOK(t, s.me(t, next.AccessToken))
	// After that rotation, the retried token must not hand out a token that is still live
	// besides next's: whatever it answers, only next.RefreshToken rotates.
	if again, r := s.refresh(t, login.RefreshToken); len(r.Errors) == 0 && again.RefreshToken != first.RefreshToken {
		t.Fatalf("a late retry minted a new refresh token")
	}
	expectRefreshOK(t, s, next.RefreshToken)
}

// TestRefreshAbsoluteLifetime: REFRESH_TOKEN_TTL is the session's absolute lifetime; refreshing
// does not extend it.
func TestRefreshAbsoluteLifetime(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"REFRESH_TOKEN_TTL": "5s"})
	login := s.register(t, "ttl@example.com")
	started := time.Now() // the session began before register answered

	if login.ExpiresIn > 5 || login.ExpiresIn < 1 {
		t.Fatalf("expiresIn %d: the access token must not outlive its 5s session", login.ExpiresIn)
	}
	p := expectRefreshOK(t, s, login.RefreshToken)
	if p.ExpiresIn > 5 {
		t.Fatalf("expiresIn %d after refresh: the access token must not outlive its session", p.ExpiresIn)
	}
	time.Sleep(time.Until(started.Add(5300 * time.Millisecond)))
	_, r := s.refresh(t, p.RefreshToken)
	expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID")
	// A session that merely expired is no reuse: presenting the older token is just invalid.
	_, r = s.refresh(t, login.RefreshToken)
	expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID")
}

// TestRefreshAfterAccessTokenExpired: with ACCESS_TOKEN_TTL=1s the token is refused as expired
// once the leeway (at most 5 s) has passed, and refresh gives a working one.
func TestRefreshAfterAccessTokenExpired(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ACCESS_TOKEN_TTL": "1s"})
	login := s.register(t, "short@example.com")
	if login.ExpiresIn != 1 {
		t.Fatalf("expiresIn = %d, want 1", login.ExpiresIn)
	}
	expectOK(t, s.me(t, login.AccessToken))
	time.Sleep(7 * time.Second)
	expectError(t, s.me(t, login.AccessToken), "UNAUTHENTICATED", "TOKEN_EXPIRED")
	p := expectRefreshOK(t, s, login.RefreshToken)
	expectOK(t, s.me(t, p.AccessToken))
}

// TestRefreshInvalidTokens: malformed and unknown refresh tokens are REFRESH_TOKEN_INVALID.
func TestRefreshInvalidTokens(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	login := s.register(t, "bad@example.com")
	rt := login.RefreshToken
	random := make([]byte, 32)
	_, _ = rand.Read(random)
	unknown := rt[:len(rt)-43] + base64.RawURLEncoding.EncodeToString(random)

	cases := map[string]any{
		"null (no cookie)":         nil,
		"empty":                    "",
		"blank":                    "   ",
		"garbage":                  "garbage",
		"unknown, right shape":     unknown,
		"one character short":      rt[:len(rt)-1],
		"one character more":       rt + "A",
		"padded":                   rt + "=",
		"another prefix":           "xx" + rt[2:],
		"upper-cased":              strings.ToUpper(rt),
		"access token":             login.AccessToken,
		"inner space":              rt[:10] + " " + rt[10:],
		"standard base64 alphabet": strings.NewReplacer("-", "+", "_", "/").Replace(rt) + "+/",
		"very long":                strings.Repeat("A", 64<<10),
		"NUL bytes":                rt + "\x00",
		"not UTF-8":                "rt_\xff\xfe" + rt[5:],
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			r := s.gql(t, "", `mutation($t:String){ refresh(refreshToken:$t) { accessToken refreshToken } }`, map[string]any{"t": tok})
			expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID")
		})
	}
	// None of that harmed the real session.
	expectRefreshOK(t, s, rt)
}

// TestRefreshRace: many concurrent refreshes with one token leave at most one live successor;
// no request fails with an internal error. Run it many times: go test -race -run Race -count=20
func TestRefreshRace(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	login := s.register(t, "race@example.com")

	const n = 20
	distinct, granted := refreshRace(t, []*testServer{s}, login.RefreshToken, n)
	t.Logf("%d of %d refreshes got a grant (%d distinct refresh tokens); the rest a clear error", granted, n, len(distinct))
	if len(distinct) == 0 {
		t.Fatal("no request of the race got a grant")
	}
	live := liveRefreshTokens(t, s, distinct)
	if live != 1 {
		t.Fatalf("%d distinct refresh tokens handed out, %d of them live; want exactly one live", len(distinct), live)
	}
}

// refreshRace sends n refreshes of token at once, taking the servers in turn, and returns the
// distinct refresh tokens granted and how many requests got a grant. Every other answer must be
// the clear error of a retry within the grace window, never an internal error or reuse.
func refreshRace(t *testing.T, servers []*testServer, token string, n int) (distinct map[string]bool, granted int) {
	t.Helper()
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		results = make([]gqlResponse, n)
		grants  = make([]payload, n)
	)
	for i := range n {
		s := servers[i%len(servers)]
		wg.Go(func() {
			<-start
			grants[i], results[i] = s.refresh(t, token)
		})
	}
	close(start)
	wg.Wait()

	distinct = map[string]bool{}
	for i, r := range results {
		if len(r.Errors) == 0 {
			granted++
			distinct[grants[i].RefreshToken] = true
			continue
		}
		if r.code() == "INTERNAL_SERVER_ERROR" {
			t.Fatalf("request %d: internal error: %+v", i, r.Errors)
		}
		// Losers of the race are retries within the grace window: a clear error, not reuse.
		if r.code() != "UNAUTHENTICATED" || r.reason() != "REFRESH_TOKEN_INVALID" {
			t.Fatalf("request %d: want the grant or REFRESH_TOKEN_INVALID, got %+v", i, r.Errors)
		}
	}
	return distinct, granted
}

// liveRefreshTokens counts the tokens s still accepts (each probe spends the one it accepts).
func liveRefreshTokens(t *testing.T, s *testServer, tokens map[string]bool) int {
	t.Helper()
	live := 0
	for tok := range tokens {
		if _, r := s.refresh(t, tok); len(r.Errors) == 0 {
			live++
		} else if r.code() == "INTERNAL_SERVER_ERROR" {
			t.Fatalf("probe: internal error: %+v", r.Errors)
		}
	}
	return live
}
