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
}

func testRotate(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	want := mustCreateSession(t, s, newSession("s1", "u1"))

	for i := 1; i <= 3; i++ {
		now := at(time.Duration(i) * time.Minute)
		got, err := s.RotateRefreshToken(ctx, hashOf(fmt.Sprintf("s1/%d", i-1)), hashOf(fmt.Sprintf("s1/%d", i)), now)
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
	_, err := s.RotateRefreshToken(ctx, hashOf("live/0"), hashOf("live/1"), rotatedAt)
	must(t, err)

	mustCreateSession(t, s, newSession("ended", "u1"))
	mustCreateSession(t, s, newSession("ended-rotated", "u1"))
	_, err = s.RotateRefreshToken(ctx, hashOf("ended-rotated/0"), hashOf("ended-rotated/1"), rotatedAt)
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
			_, err := s.RotateRefreshToken(ctx, tc.oldHash, newHash, tc.now)
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
	_, err = s.RotateRefreshToken(ctx, hashOf("expiring/0"), hashOf("expiring/1"), at(time.Hour-time.Microsecond))
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
			_, errs[i] = s.RotateRefreshToken(ctx, hashOf("s1/0"), newHash(i), now)
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
	_, err := s.RotateRefreshToken(ctx, newHash(winner), hashOf("s1/next"), at(2*time.Minute))
	must(t, err)
}

// A change that keeps the caller's session (ChangeUserSecurity with Keep) retires whatever
// token of it is current and installs a new one.
func testReplaceRefreshToken(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	mustCreateSession(t, s, newSession("s1", "u1"))
	_, err := s.RotateRefreshToken(ctx, hashOf("s1/0"), hashOf("s1/1"), at(time.Minute))
	must(t, err)
	replace := func(user, sessionID string, newHash []byte, now time.Time) error {
		_, _, err := s.ChangeUserSecurity(ctx, user, auth.SecurityChange{Keep: sessionID, KeepRefresh: newHash}, now)
		return err
	}

	must(t, replace("u1", "s1", hashOf("s1/replaced"), at(2*time.Minute)))
	for _, old := range []string{"s1/0", "s1/1"} {
		_, err := s.RotateRefreshToken(ctx, hashOf(old), hashOf(old+"/again"), at(3*time.Minute))
		var ar *auth.AlreadyRotatedError
		if !errors.As(err, &ar) {
			t.Errorf("rotating %s after replace = %v, want *AlreadyRotatedError", old, err)
		}
	}
	var ar *auth.AlreadyRotatedError
	_, err = s.RotateRefreshToken(ctx, hashOf("s1/1"), hashOf("x"), at(3*time.Minute))
	if errors.As(err, &ar) {
		checkTime(t, "RotatedAt of replaced token", ar.RotatedAt, at(2*time.Minute))
	}
	_, err = s.RotateRefreshToken(ctx, hashOf("s1/replaced"), hashOf("s1/2"), at(4*time.Minute))
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
