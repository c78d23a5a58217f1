package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

var rotationTests = []test{
	{"Rotate/HappyPath", testRotate},
	{"Rotate/Errors", testRotateErrors},
	{"Rotate/Concurrent", testRotateConcurrent},
	{"Rotate/Replace", testReplaceRefreshToken},
	{"Rotate/Named", testRotateNamed},
	{"Rotate/NamedAfterUnnamed", testRotateNamedAfterUnnamed},
}

// named is a refresh token that names session sid (the service verified its tag).
func named(token, sid string) auth.RefreshHash {
	return auth.RefreshHash{Sum: hashOf(token), SessionID: sid}
}

// wantRotated checks that rotating old is refused as already rotated, by session sid, at a
// time in [from, to], and installs nothing.
func wantRotated(t *testing.T, s auth.Store, old auth.RefreshHash, sid string, from, to time.Time) {
	t.Helper()
	next := named("never/"+string(old.Sum[:4]), sid)
	_, err := s.RotateRefreshToken(ctxOf(t), old, next, to.Add(time.Second))
	var ar *auth.AlreadyRotatedError
	if !errors.As(err, &ar) {
		t.Errorf("rotating a retired token again = %v, want *AlreadyRotatedError", err)
		return
	}
	if ar.SessionID != sid || ar.RotatedAt.Before(micro(from)) || ar.RotatedAt.After(micro(to)) {
		t.Errorf("AlreadyRotatedError = %+v, want session %s rotated in [%s, %s]", ar, sid, micro(from), micro(to))
	}
	if _, err := s.SessionByRefreshHash(ctxOf(t), next.Sum); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("a refused rotation installed its token: %v", err)
	}
}

func testRotate(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	want := mustCreateSession(t, s, newSession("s1", "u1"))

	for i := 1; i <= 3; i++ {
		now := at(time.Duration(i) * time.Minute)
		got, err := s.RotateRefreshToken(ctx, tok(fmt.Sprintf("s1/%d", i-1)), tok(fmt.Sprintf("s1/%d", i)), now)
		must(t, err)
		want.LastUsedAt = now
		checkSession(t, got, want)
	}
	stored, err := s.SessionByID(ctx, "s1")
	must(t, err)
	checkSession(t, stored, want)

	// Every token of the family, current or rotated, leads to the session.
	for i := 0; i <= 3; i++ {
		got, err := s.SessionByRefreshHash(ctx, hashOf(fmt.Sprintf("s1/%d", i)))
		must(t, err)
		checkSession(t, got, want)
	}
}

func testRotateErrors(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateSession(t, s, newSession("live", "u1"))
	rotatedAt := at(time.Minute)
	_, err := s.RotateRefreshToken(ctx, tok("live/0"), tok("live/1"), rotatedAt)
	must(t, err)

	mustCreateSession(t, s, newSession("ended", "u1"))
	mustCreateSession(t, s, newSession("ended-rotated", "u1"))
	_, err = s.RotateRefreshToken(ctx, tok("ended-rotated/0"), tok("ended-rotated/1"), rotatedAt)
	must(t, err)
	for _, id := range []string{"ended", "ended-rotated"} {
		if _, err := s.EndSession(ctx, id, auth.EndRevoked, at(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	expiring := newSession("expiring", "u1")
	expiring.ExpiresAt = at(time.Hour)
	mustCreateSession(t, s, expiring)

	for _, tc := range []struct {
		name    string
		oldHash []byte
		now     time.Time
		want    error // auth.ErrNotFound, auth.ErrSessionEnded, or nil for *AlreadyRotatedError
	}{
		{"unknown hash", hashOf("nope"), at(time.Hour), auth.ErrNotFound},
		{"already rotated", hashOf("live/0"), at(time.Hour), nil},
		{"ended session", hashOf("ended/0"), at(time.Hour), auth.ErrSessionEnded},
		// Nothing can be minted from an ended session, so that wins over "already rotated".
		{"rotated token of ended session", hashOf("ended-rotated/0"), at(time.Hour), auth.ErrSessionEnded},
		{"expired at ExpiresAt", hashOf("expiring/0"), at(time.Hour), auth.ErrSessionEnded},
		{"expired after ExpiresAt", hashOf("expiring/0"), at(2 * time.Hour), auth.ErrSessionEnded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHash := hashOf("new-" + tc.name)
			_, err := s.RotateRefreshToken(ctx, auth.RefreshHash{Sum: tc.oldHash}, auth.RefreshHash{Sum: newHash}, tc.now)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Errorf("err = %v, want %v", err, tc.want)
				}
			} else {
				var ar *auth.AlreadyRotatedError
				if !errors.As(err, &ar) {
					t.Fatalf("err = %v, want *AlreadyRotatedError", err)
				}
				if ar.SessionID != "live" || ar.UserID != "u1" {
					t.Errorf("AlreadyRotatedError = %+v, want session live of u1", ar)
				}
				checkTime(t, "RotatedAt", ar.RotatedAt, rotatedAt)
			}
			// A refused rotation installs nothing.
			if _, err := s.SessionByRefreshHash(ctx, newHash); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("new hash of a refused rotation: SessionByRefreshHash = %v, want ErrNotFound", err)
			}
		})
	}

	// The session just before its expiry still rotates.
	_, err = s.RotateRefreshToken(ctx, tok("expiring/0"), tok("expiring/1"), at(time.Hour-time.Microsecond))
	must(t, err)
}

// Of many concurrent rotations of one token exactly one wins; the rest see it as already
// rotated, never a busy/locked/serialization error.
func testRotateConcurrent(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateSession(t, s, newSession("s1", "u1"))

	const n = 50
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		errs    = make([]error, n)
		now     = at(time.Minute)
		newHash = func(i int) []byte { return hashOf(fmt.Sprintf("s1/new-%d", i)) }
	)
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.RotateRefreshToken(ctx, tok("s1/0"), auth.RefreshHash{Sum: newHash(i)}, now)
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		var ar *auth.AlreadyRotatedError
		switch {
		case err == nil && winner >= 0:
			t.Errorf("rotations %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case errors.As(err, &ar):
		default:
			t.Errorf("rotation %d: %v, want success or *AlreadyRotatedError", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no rotation succeeded")
	}
	// Only the winner's token was installed, and it is the one current token.
	for i := range n {
		_, err := s.SessionByRefreshHash(ctx, newHash(i))
		if (i == winner) != (err == nil) {
			t.Errorf("token %d (winner %d): SessionByRefreshHash = %v", i, winner, err)
		}
	}
	_, err := s.RotateRefreshToken(ctx, auth.RefreshHash{Sum: newHash(winner)}, tok("s1/next"), at(2*time.Minute))
	must(t, err)
}

// A change that keeps the caller's session (ChangeUserSecurity with Keep) retires whatever
// token of it is current and installs a new one.
func testReplaceRefreshToken(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	mustCreateSession(t, s, newSession("s1", "u1"))
	_, err := s.RotateRefreshToken(ctx, tok("s1/0"), tok("s1/1"), at(time.Minute))
	must(t, err)
	replace := func(user, sessionID string, newHash []byte, now time.Time) error {
		_, _, err := s.ChangeUserSecurity(ctx, user, auth.SecurityChange{Keep: sessionID, KeepRefresh: auth.RefreshHash{Sum: newHash}}, now)
		return err
	}

	must(t, replace("u1", "s1", hashOf("s1/replaced"), at(2*time.Minute)))
	for _, old := range []string{"s1/0", "s1/1"} {
		_, err := s.RotateRefreshToken(ctx, tok(old), tok(old+"/again"), at(3*time.Minute))
		var ar *auth.AlreadyRotatedError
		if !errors.As(err, &ar) {
			t.Errorf("rotating %s after replace = %v, want *AlreadyRotatedError", old, err)
		}
	}
	var ar *auth.AlreadyRotatedError
	_, err = s.RotateRefreshToken(ctx, tok("s1/1"), tok("x"), at(3*time.Minute))
	if errors.As(err, &ar) {
		checkTime(t, "RotatedAt of replaced token", ar.RotatedAt, at(2*time.Minute))
	}
	_, err = s.RotateRefreshToken(ctx, tok("s1/replaced"), tok("s1/2"), at(4*time.Minute))
	must(t, err)

	mustCreateSession(t, s, newSession("ended", "u1"))
	if _, err := s.EndSession(ctx, "ended", auth.EndLogout, at(time.Minute)); err != nil {
		t.Fatal(err)
	}
	expired := newSession("expired", "u1")
	expired.ExpiresAt = at(time.Minute)
	mustCreateSession(t, s, expired)
	mustCreateSession(t, s, newSession("of-u2", "u2"))
	before, err := s.UserByID(ctx, "u1")
	must(t, err)
	for _, id := range []string{"ended", "expired", "unknown", "of-u2"} {
		err := replace("u1", id, hashOf(id+"/replaced"), at(time.Hour))
		if !errors.Is(err, auth.ErrSessionEnded) {
			t.Errorf("keeping %s = %v, want ErrSessionEnded", id, err)
		}
		if _, err := s.SessionByRefreshHash(ctx, hashOf(id+"/replaced")); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("refused replace of %s installed its token: %v", id, err)
		}
	}
	checkStoredUser(t, s, before) // the refused changes changed nothing of the user either
}

// A named token is known to be retired once it is not its session's current one, whether or not
// the store kept it: the one retired last at the exact time, earlier ones at a time no later than
// the latest rotation (when the store did not keep them). Without its name, a retired token may
// be unknown to the store, never current.
func testRotateNamed(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	u, err := s.UserByID(ctx, "u1")
	must(t, err)
	want := newSession("s1", "u1")
	must(t, s.CreateSession(ctx, want, named("s1/0", "s1"), u.SecurityStamp))
	for i := 1; i <= 3; i++ {
		now := at(time.Duration(i) * time.Minute)
		got, err := s.RotateRefreshToken(ctx, named(fmt.Sprintf("s1/%d", i-1), "s1"), named(fmt.Sprintf("s1/%d", i), "s1"), now)
		must(t, err)
		want.LastUsedAt = now
		checkSession(t, got, want)
	}
	wantRotated(t, s, named("s1/2", "s1"), "s1", at(3*time.Minute), at(3*time.Minute))
	wantRotated(t, s, named("s1/0", "s1"), "s1", at(time.Minute), at(3*time.Minute))
	_, err = s.RotateRefreshToken(ctx, tok("s1/1"), named("s1/x", "s1"), at(4*time.Minute))
	var ar *auth.AlreadyRotatedError
	if !errors.Is(err, auth.ErrNotFound) && !errors.As(err, &ar) {
		t.Errorf("a retired token without its name = %v, want ErrNotFound or *AlreadyRotatedError", err)
	}

	// The current token is found by its hash, named or not.
	got, err := s.SessionByRefreshHash(ctx, hashOf("s1/3"))
	must(t, err)
	checkSession(t, got, want)
	rt, err := s.RefreshTokenByHash(ctx, hashOf("s1/3"))
	must(t, err)
	if rt.SessionID != "s1" || !rt.RotatedAt.IsZero() {
		t.Errorf("RefreshTokenByHash(current) = %+v", rt)
	}
	checkTime(t, "CreatedAt of the current token", rt.CreatedAt, at(3*time.Minute))

	// A name alone proves nothing the store does not have: an unknown session is unknown.
	if _, err := s.RotateRefreshToken(ctx, named("ghost/0", "ghost"), named("ghost/1", "ghost"), at(4*time.Minute)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("a token naming an unknown session = %v, want ErrNotFound", err)
	}

	// Replacing the current token (a password change) retires it at that time.
	_, _, err = s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{Keep: "s1", KeepRefresh: named("s1/r", "s1")}, at(5*time.Minute))
	must(t, err)
	wantRotated(t, s, named("s1/3", "s1"), "s1", at(5*time.Minute), at(5*time.Minute))
	_, err = s.RotateRefreshToken(ctx, named("s1/r", "s1"), named("s1/4", "s1"), at(6*time.Minute))
	must(t, err)

	// Nothing is minted from an ended session, and that wins over "already rotated".
	_, err = s.EndSession(ctx, "s1", auth.EndLogout, at(7*time.Minute))
	must(t, err)
	for _, old := range []string{"s1/4", "s1/r", "s1/0"} {
		if _, err := s.RotateRefreshToken(ctx, named(old, "s1"), named(old+"/after", "s1"), at(8*time.Minute)); !errors.Is(err, auth.ErrSessionEnded) {
			t.Errorf("rotating %s of the ended session = %v, want ErrSessionEnded", old, err)
		}
	}
}

// A session whose tokens named it not (issued before the names) goes on to named ones: its
// unnamed retired tokens are kept and recognised by their hash alone, the named ones by name.
func testRotateNamedAfterUnnamed(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateSession(t, s, newSession("old", "u1"))
	_, err := s.RotateRefreshToken(ctx, tok("old/0"), named("old/1", "old"), at(time.Minute))
	must(t, err)
	_, err = s.RotateRefreshToken(ctx, named("old/1", "old"), named("old/2", "old"), at(2*time.Minute))
	must(t, err)

	wantRotated(t, s, tok("old/0"), "old", at(time.Minute), at(time.Minute))
	wantRotated(t, s, named("old/1", "old"), "old", at(2*time.Minute), at(2*time.Minute))
	got, err := s.SessionByRefreshHash(ctx, hashOf("old/0"))
	must(t, err)
	if got.ID != "old" {
		t.Errorf("SessionByRefreshHash(unnamed retired) = %s, want old", got.ID)
	}
	if _, err := s.RotateRefreshToken(ctx, named("old/2", "old"), named("old/3", "old"), at(3*time.Minute)); err != nil {
		t.Errorf("rotating the current named token: %v", err)
	}
}
