package storetest

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

var passkeyTests = []test{
	{"PasskeyHandleFirstOneWins", testPasskeyHandle},
	{"PasskeyRoundTrip", testPasskeyRoundTrip},
	{"PasskeyCredentialIDUnique", testPasskeyCredentialIDUnique},
	{"PasskeyCounterOnlyMovesForward", testPasskeyCounter},
	{"PasskeyDeleteOnlyOwn", testPasskeyDelete},
	{"PasskeyChallengeSingleUse", testPasskeyChallengeSingleUse},
	{"PasskeyChallengePurge", testPasskeyChallengePurge},
}

func newPasskey(id, userID string, credentialID string, age time.Duration) auth.Passkey {
	return auth.Passkey{
		ID: id, UserID: userID, Name: "Key " + id, CredentialID: []byte(credentialID),
		Transports: []string{"internal", "hybrid"}, Record: []byte(`{"record":"` + id + `"}`),
		SignCount: 7, CreatedAt: at(age),
	}
}

func checkPasskey(t *testing.T, got, want auth.Passkey) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Name != want.Name || !bytes.Equal(got.CredentialID, want.CredentialID) ||
		!slices.Equal(got.Transports, want.Transports) || !bytes.Equal(got.Record, want.Record) || got.SignCount != want.SignCount {
		t.Errorf("passkey = %+v, want %+v", got, want)
	}
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "LastUsedAt", got.LastUsedAt, want.LastUsedAt)
}

// testPasskeyHandle: a user has no handle until one is ensured; the first one stored stays,
// also when two processes ensure one at once; an unknown user gets ErrNotFound.
func testPasskeyHandle(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	if _, err := s.PasskeyHandle(ctx, "u1"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("PasskeyHandle before any = %v, want ErrNotFound", err)
	}
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Go(func() {
			h, err := s.EnsurePasskeyHandle(ctx, "u1", bytes.Repeat([]byte{byte(i + 1)}, 32))
			if err != nil {
				t.Error(err)
			}
			got[i] = h
		})
	}
	wg.Wait()
	stored, err := s.PasskeyHandle(ctx, "u1")
	must(t, err)
	for i, h := range got {
		if !bytes.Equal(h, stored) {
			t.Errorf("EnsurePasskeyHandle #%d = %x, stored %x", i, h, stored)
		}
	}
	if _, err := s.EnsurePasskeyHandle(ctx, "nobody", []byte("h")); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("EnsurePasskeyHandle of an unknown user = %v, want ErrNotFound", err)
	}
}

// testPasskeyRoundTrip: every field comes back as stored (a counter up to 2^32-1); a user's
// list is theirs only, oldest first.
func testPasskeyRoundTrip(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	newer := newPasskey("p2", "u1", "cred-2", time.Minute)
	newer.SignCount = 1<<32 - 1
	newer.Transports = nil
	older := newPasskey("p1", "u1", "cred-1", 0)
	other := newPasskey("p3", "u2", "cred-3", 0)
	for _, p := range []auth.Passkey{newer, older, other} {
		must(t, s.CreatePasskey(ctx, p))
	}
	list, err := s.ListPasskeys(ctx, "u1")
	must(t, err)
	if len(list) != 2 {
		t.Fatalf("ListPasskeys = %d passkeys, want 2", len(list))
	}
	checkPasskey(t, list[0], older)
	checkPasskey(t, list[1], newer)
	got, err := s.PasskeyByCredentialID(ctx, []byte("cred-3"))
	must(t, err)
	checkPasskey(t, got, other)
	if _, err := s.PasskeyByCredentialID(ctx, []byte("cred-9")); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("PasskeyByCredentialID(unknown) = %v, want ErrNotFound", err)
	}
	if list, err := s.ListPasskeys(ctx, "nobody"); err != nil || len(list) != 0 {
		t.Errorf("ListPasskeys(unknown) = %v, %v; want none", list, err)
	}
	if err := s.CreatePasskey(ctx, newPasskey("p4", "nobody", "cred-4", 0)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("CreatePasskey for an unknown user = %v, want ErrNotFound", err)
	}
}

// testPasskeyCredentialIDUnique: a credential id belongs to one passkey, whoever registers it.
func testPasskeyCredentialIDUnique(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	must(t, s.CreatePasskey(ctx, newPasskey("p1", "u1", "cred", 0)))
	for _, p := range []auth.Passkey{newPasskey("p2", "u1", "cred", 0), newPasskey("p3", "u2", "cred", 0)} {
		if err := s.CreatePasskey(ctx, p); !errors.Is(err, auth.ErrPasskeyTaken) {
			t.Errorf("CreatePasskey(%s) with a taken credential id = %v, want ErrPasskeyTaken", p.ID, err)
		}
	}
}

// testPasskeyCounter: RecordPasskeyUse applies only a counter past the stored one (or 0 after
// 0), and of concurrent uses with one counter only one applies.
func testPasskeyCounter(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	must(t, s.CreatePasskey(ctx, newPasskey("p1", "u1", "cred-1", 0))) // counter 7
	zero := newPasskey("p2", "u1", "cred-2", 0)
	zero.SignCount = 0
	must(t, s.CreatePasskey(ctx, zero))
	use := func(id string, n uint32) bool {
		t.Helper()
		ok, err := s.RecordPasskeyUse(ctx, id, n, []byte("rec"), at(time.Hour))
		must(t, err)
		return ok
	}
	for _, c := range []struct {
		id   string
		n    uint32
		want bool
	}{
		{"p1", 7, false}, {"p1", 6, false}, {"p1", 0, false}, {"p1", 8, true}, {"p1", 8, false},
		{"p2", 0, true}, {"p2", 0, true}, {"p2", 3, true}, {"p2", 0, false}, {"nope", 9, false},
	} {
		if got := use(c.id, c.n); got != c.want {
			t.Errorf("RecordPasskeyUse(%s, %d) = %v, want %v", c.id, c.n, got, c.want)
		}
	}
	got, err := s.PasskeyByCredentialID(ctx, []byte("cred-1"))
	must(t, err)
	if got.SignCount != 8 || string(got.Record) != "rec" {
		t.Errorf("after use: count %d record %q, want 8 and rec", got.SignCount, got.Record)
	}
	checkTime(t, "LastUsedAt", got.LastUsedAt, at(time.Hour))

	var wins atomic.Int32
	race(t, 6, func() error {
		ok, err := s.RecordPasskeyUse(ctx, "p1", 20, []byte("rec"), at(time.Hour))
		if ok {
			wins.Add(1)
		}
		return err
	})
	if wins.Load() != 1 {
		t.Errorf("concurrent uses with one counter: %d applied, want 1", wins.Load())
	}
}

// testPasskeyDelete: a user deletes only their own passkey, once.
func testPasskeyDelete(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	must(t, s.CreatePasskey(ctx, newPasskey("p1", "u1", "cred-1", 0)))
	for _, c := range []struct {
		user string
		want bool
	}{{"u2", false}, {"u1", true}, {"u1", false}} {
		ok, err := s.DeletePasskey(ctx, c.user, "p1")
		must(t, err)
		if ok != c.want {
			t.Errorf("DeletePasskey by %s = %v, want %v", c.user, ok, c.want)
		}
	}
	if _, err := s.PasskeyByCredentialID(ctx, []byte("cred-1")); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("deleted passkey still found: %v", err)
	}
}

// testPasskeyChallengeSingleUse: a challenge comes back whole once; of concurrent takes one
// gets it.
func testPasskeyChallengeSingleUse(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	c := auth.PasskeyChallenge{ID: "c1", Purpose: auth.PasskeyLogin, UserID: "u1", State: []byte(`{"challenge":"x"}`), ExpiresAt: at(5 * time.Minute)}
	must(t, s.CreatePasskeyChallenge(ctx, c))
	got, err := s.TakePasskeyChallenge(ctx, "c1")
	must(t, err)
	if got.ID != c.ID || got.Purpose != c.Purpose || got.UserID != c.UserID || !bytes.Equal(got.State, c.State) {
		t.Errorf("challenge = %+v, want %+v", got, c)
	}
	checkTime(t, "ExpiresAt", got.ExpiresAt, c.ExpiresAt)
	if _, err := s.TakePasskeyChallenge(ctx, "c1"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("second take = %v, want ErrNotFound", err)
	}

	must(t, s.CreatePasskeyChallenge(ctx, auth.PasskeyChallenge{ID: "c2", Purpose: auth.PasskeyDiscover, State: []byte("s"), ExpiresAt: at(time.Minute)}))
	var wins atomic.Int32
	race(t, 6, func() error {
		_, err := s.TakePasskeyChallenge(ctx, "c2")
		if err == nil {
			wins.Add(1)
		} else if errors.Is(err, auth.ErrNotFound) {
			err = nil // a loser
		}
		return err
	})
	if wins.Load() != 1 {
		t.Errorf("concurrent takes: %d got the challenge, want 1", wins.Load())
	}
}

// testPasskeyChallengePurge: only expired challenges go, in batches.
func testPasskeyChallengePurge(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	for i, exp := range []time.Duration{-3 * time.Minute, -2 * time.Minute, -time.Minute, time.Minute} {
		must(t, s.CreatePasskeyChallenge(ctx, auth.PasskeyChallenge{
			ID: string(rune('a' + i)), Purpose: auth.PasskeyDiscover, State: []byte("s"), ExpiresAt: at(exp),
		}))
	}
	n, err := s.PurgePasskeyChallenges(ctx, at(0), 2)
	must(t, err)
	if n != 2 {
		t.Errorf("first batch purged %d, want 2", n)
	}
	n, err = s.PurgePasskeyChallenges(ctx, at(0), 2)
	must(t, err)
	if n != 1 {
		t.Errorf("second batch purged %d, want 1", n)
	}
	if _, err := s.TakePasskeyChallenge(ctx, "d"); err != nil {
		t.Errorf("unexpired challenge was purged: %v", err)
	}
}
