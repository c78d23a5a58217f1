package auth_test

import (
	"crypto/sha256"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/authtest"
	"github.com/example/gqlauth/internal/fakeclock"
)

// namedFixture is a user with a session, on a service whose ReuseGrace is one second.
func namedFixture(t *testing.T) (*svcFixture, auth.Grant) {
	t.Helper()
	f := newSvc(t, "", nil, nil, nil)
	if _, err := f.svc.Register(clientCtx(), "named@example.com", testPassword); err != nil {
		t.Fatal(err)
	}
	return f, f.login(t, "named@example.com")
}

func refreshOK(t *testing.T, f *svcFixture, token string) auth.Grant {
	t.Helper()
	g, err := f.svc.Refresh(clientCtx(), token)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if len(g.RefreshToken) != 3+87 {
		t.Fatalf("refresh token %q does not name its session", g.RefreshToken)
	}
	return g
}

// Every retired token of a session counts as reuse after the grace window, the last one as well
// as the first, although the store keeps none of them; the session ends.
func TestRefreshReuseOfNamedTokens(t *testing.T) {
	f, g0 := namedFixture(t)
	if len(g0.RefreshToken) != 3+87 {
		t.Fatalf("login's refresh token %q does not name its session", g0.RefreshToken)
	}
	tokens := []string{g0.RefreshToken}
	for range 3 {
		f.clock.Add(time.Minute)
		tokens = append(tokens, refreshOK(t, f, tokens[len(tokens)-1]).RefreshToken)
	}
	// Inside the grace window the last retired token is a retry: the same answer.
	f.clock.Add(500 * time.Millisecond)
	if g, err := f.svc.Refresh(clientCtx(), tokens[2]); err != nil || g.RefreshToken != tokens[3] {
		t.Fatalf("retry inside the grace window = %v, %v; want the same grant", g.RefreshToken, err)
	}
	f.clock.Add(time.Minute)
	if _, err := f.svc.Refresh(clientCtx(), tokens[0]); !errors.Is(err, auth.ErrRefreshTokenReused) {
		t.Fatalf("the first token after three rotations = %v, want ErrRefreshTokenReused", err)
	}
	if _, err := f.svc.Refresh(clientCtx(), tokens[3]); !errors.Is(err, auth.ErrRefreshTokenInvalid) {
		t.Fatalf("the current token after the reuse = %v, want ErrRefreshTokenInvalid (the session ended)", err)
	}
	sess, err := f.store.SessionByID(t.Context(), g0.SessionID)
	if err != nil || sess.EndReason != auth.EndTokenReuse {
		t.Fatalf("session after the reuse = %+v, %v; want ended for reuse", sess, err)
	}
}

// A token that only looks named (a forged tag, or another session's id under the old tag) is
// unknown: it refreshes nothing and ends nothing.
func TestRefreshForgedNameEndsNothing(t *testing.T) {
	f, g0 := namedFixture(t)
	g1 := refreshOK(t, f, g0.RefreshToken)
	f.clock.Add(time.Minute)
	forged := g0.RefreshToken[:len(g0.RefreshToken)-5] + strings.Repeat("A", 5)
	if forged == g0.RefreshToken {
		forged = g0.RefreshToken[:len(g0.RefreshToken)-5] + strings.Repeat("B", 5)
	}
	if _, err := f.svc.Refresh(clientCtx(), forged); !errors.Is(err, auth.ErrRefreshTokenInvalid) {
		t.Fatalf("forged tag = %v, want ErrRefreshTokenInvalid", err)
	}
	if ended, err := f.svc.Logout(clientCtx(), forged); err != nil || ended {
		t.Fatalf("logout with a forged tag = %v, %v; want nothing ended", ended, err)
	}
	refreshOK(t, f, g1.RefreshToken)
}

// Logging out (or revoking) with a retired token ends its session, as with the current one.
func TestLogoutWithARetiredNamedToken(t *testing.T) {
	f, g0 := namedFixture(t)
	g1 := refreshOK(t, f, g0.RefreshToken)
	if ended, err := f.svc.Logout(clientCtx(), g0.RefreshToken); err != nil || !ended {
		t.Fatalf("logout with the retired token = %v, %v; want the session ended", ended, err)
	}
	if _, err := f.svc.Refresh(clientCtx(), g1.RefreshToken); !errors.Is(err, auth.ErrRefreshTokenInvalid) {
		t.Fatalf("refresh after the logout = %v, want ErrRefreshTokenInvalid", err)
	}
}

// A session started before the names (its token is 32 random bytes, stored by hash) refreshes,
// and its successor names it; the old token's reuse is still recognised.
func TestRefreshOfATokenFromBeforeTheNames(t *testing.T) {
	f, g0 := namedFixture(t)
	ctx := t.Context()
	u, err := f.store.UserByEmail(ctx, "named@example.com")
	if err != nil {
		t.Fatal(err)
	}
	legacy := "rt_" + strings.Repeat("Q", 43)
	sum := sha256.Sum256([]byte(legacy))
	now := f.clock.Now()
	sess := auth.Session{ID: "0190a5c2-0000-7000-8000-000000000001", UserID: u.ID, CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(time.Hour), AMR: []string{"pwd"}, AuthTime: now}
	if err := f.store.CreateSession(ctx, sess, auth.RefreshHash{Sum: sum[:]}, u.SecurityStamp); err != nil {
		t.Fatal(err)
	}
	g1 := refreshOK(t, f, legacy)
	if g1.SessionID != sess.ID {
		t.Fatalf("refresh of the old token gave session %s, want %s", g1.SessionID, sess.ID)
	}
	f.clock.Add(time.Minute)
	g2 := refreshOK(t, f, g1.RefreshToken)
	f.clock.Add(time.Minute)
	if _, err := f.svc.Refresh(clientCtx(), legacy); !errors.Is(err, auth.ErrRefreshTokenReused) {
		t.Fatalf("the old token again = %v, want ErrRefreshTokenReused", err)
	}
	if _, err := f.svc.Refresh(clientCtx(), g2.RefreshToken); !errors.Is(err, auth.ErrRefreshTokenInvalid) {
		t.Fatalf("after the reuse = %v, want ErrRefreshTokenInvalid", err)
	}
	refreshOK(t, f, g0.RefreshToken) // the other session is untouched
}

// Across a rotation of the signing key: while the old key is listed among the previous ones,
// its tokens are named and their reuse is recognised; once it is removed, a session's current
// token still refreshes (found by its hash), and a retired one is merely unknown.
func TestRefreshTokensAcrossAKeyRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	clock := fakeclock.New(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC))
	oldKey, err := auth.NewHMACKey([]byte("the old signing secret, 32 bytes or more"))
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := auth.NewHMACKey([]byte("the new signing secret, 32 bytes or more"))
	if err != nil {
		t.Fatal(err)
	}
	service := func(current auth.SigningKey, previous ...auth.SigningKey) *auth.Service {
		ks, err := auth.NewKeySet(current, previous...)
		if err != nil {
			t.Fatal(err)
		}
		return authtest.NewWith(t, authtest.Options{Store: authtest.OpenSQLite(t, path), Clock: clock, Keys: ks,
			Configure: func(c *auth.Config) { c.ReuseGrace = time.Second }}).Service
	}
	before, during, after := service(oldKey), service(newKey, oldKey), service(newKey)
	ctx := clientCtx()
	if _, err := before.Register(ctx, "keys@example.com", testPassword); err != nil {
		t.Fatal(err)
	}
	login := func() auth.Grant {
		g, err := before.Login(ctx, "keys@example.com", testPassword)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	refresh := func(svc *auth.Service, token string) (auth.Grant, error) {
		clock.Add(time.Minute)
		return svc.Refresh(ctx, token)
	}

	a0 := login()
	a1, err := refresh(during, a0.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := refresh(during, a0.RefreshToken); !errors.Is(err, auth.ErrRefreshTokenReused) {
		t.Errorf("old key's retired token, old key still listed = %v, want ErrRefreshTokenReused", err)
	}
	if _, err := refresh(during, a1.RefreshToken); !errors.Is(err, auth.ErrRefreshTokenInvalid) {
		t.Errorf("after the reuse = %v, want ErrRefreshTokenInvalid", err)
	}

	b0 := login()
	b1, err := refresh(after, b0.RefreshToken)
	if err != nil {
		t.Fatalf("the current token of a removed key: %v, want it refreshed", err)
	}
	if _, err := refresh(after, b0.RefreshToken); !errors.Is(err, auth.ErrRefreshTokenInvalid) {
		t.Errorf("a removed key's retired token = %v, want ErrRefreshTokenInvalid", err)
	}
	if _, err := refresh(after, b1.RefreshToken); err != nil {
		t.Errorf("the session goes on: %v", err)
	}
}
