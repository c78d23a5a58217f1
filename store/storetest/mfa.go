package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

// Second factors: a TOTP setup is pending until confirmed; a time step, a recovery code and a
// two-step sign-in's challenge are each spent once, however many callers race for them.
var mfaTests = []test{
	{"MFA/TOTPLifecycle", testTOTPLifecycle},
	{"MFA/TOTPStepSpentOnce", testTOTPStepSpentOnce},
	{"MFA/TOTPStepRace", testTOTPStepRace},
	{"MFA/RecoveryCodes", testRecoveryCodes},
	{"MFA/RecoveryCodeRace", testRecoveryCodeRace},
	{"MFA/ChallengeAttempts", testChallengeAttempts},
	{"MFA/ChallengeConsumeRace", testChallengeConsumeRace},
	{"MFA/PurgeChallenges", testPurgeChallenges},
	{"MFA/RemovedWithSecurityChange", testMFARemovedWithSecurityChange},
}

func codeHashes(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = hashOf(fmt.Sprintf("%s-%d", prefix, i))
	}
	return out
}

// mfaEnabledEverywhere checks that every way of reading a user agrees on MFAEnabled.
func mfaEnabledEverywhere(t *testing.T, s auth.Store, id string, want bool) {
	t.Helper()
	byID, byEmail, listed := readUserThreeWays(t, s, id)
	if byID.MFAEnabled != want || byEmail.MFAEnabled != want || listed.MFAEnabled != want {
		t.Fatalf("MFAEnabled of %s: UserByID %v, UserByEmail %v, ListUsers %v; want %v", id, byID.MFAEnabled, byEmail.MFAEnabled, listed.MFAEnabled, want)
	}
}

func mustEnableTOTP(t *testing.T, s auth.Store, userID string, step int64, codes [][]byte) {
	t.Helper()
	must(t, s.BeginTOTP(ctxOf(t), userID, []byte("sealed-"+userID), t0))
	if _, err := s.EnableTOTP(ctxOf(t), userID, []byte("sealed-"+userID), step, codes, at(time.Minute)); err != nil {
		t.Fatal(err)
	}
}

func testTOTPLifecycle(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	if _, err := s.TOTPOf(ctx, "u1"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("TOTPOf before any setup: %v, want ErrNotFound", err)
	}
	if err := s.BeginTOTP(ctx, "nobody", []byte("x"), t0); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("BeginTOTP of an unknown user: %v, want ErrNotFound", err)
	}
	if _, err := s.EnableTOTP(ctx, "u1", []byte("first"), 1, nil, t0); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("EnableTOTP without a pending setup: %v, want ErrNotFound", err)
	}
	must(t, s.BeginTOTP(ctx, "u1", []byte("first"), t0))
	must(t, s.BeginTOTP(ctx, "u1", []byte("second"), at(time.Second))) // replaces the pending one
	got, err := s.TOTPOf(ctx, "u1")
	must(t, err)
	if got.UserID != "u1" || !bytes.Equal(got.Secret, []byte("second")) || got.Enabled() || got.LastStep != 0 {
		t.Fatalf("pending TOTP = %+v", got)
	}
	checkTime(t, "CreatedAt", got.CreatedAt, at(time.Second))
	mfaEnabledEverywhere(t, s, "u1", false)
	if ok, err := s.UseTOTPStep(ctx, "u1", 5, nil); err != nil || ok {
		t.Fatalf("UseTOTPStep of a pending setup = %v, %v; want false", ok, err)
	}

	// A code checked against the replaced secret does not turn the new one on.
	if _, err := s.EnableTOTP(ctx, "u1", []byte("first"), 1000, nil, at(time.Minute)); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("EnableTOTP of a replaced secret: %v, want ErrNotFound", err)
	}
	before := len(allChanges(t, s))
	u, err := s.EnableTOTP(ctx, "u1", []byte("second"), 1000, codeHashes("u1", 10), at(time.Minute))
	must(t, err)
	if !u.MFAEnabled || u.ID != "u1" {
		t.Fatalf("EnableTOTP returned %+v", u)
	}
	if cs := allChanges(t, s)[before:]; len(cs) != 1 || cs[0].Kind != auth.ChangeUser || cs[0].UserID != "u1" {
		t.Fatalf("EnableTOTP logged %+v, want one ChangeUser of u1", cs)
	}
	mfaEnabledEverywhere(t, s, "u1", true)
	got, err = s.TOTPOf(ctx, "u1")
	must(t, err)
	if !got.Enabled() || got.LastStep != 1000 {
		t.Fatalf("TOTP after EnableTOTP = %+v", got)
	}
	checkTime(t, "ConfirmedAt", got.ConfirmedAt, at(time.Minute))
	if n, err := s.UnusedRecoveryCodes(ctx, "u1"); err != nil || n != 10 {
		t.Fatalf("UnusedRecoveryCodes = %d, %v; want 10", n, err)
	}
	if _, err := s.EnableTOTP(ctx, "u1", []byte("second"), 2000, nil, at(time.Minute)); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("EnableTOTP when already on: %v, want ErrNotFound", err)
	}
	if err := s.BeginTOTP(ctx, "u1", []byte("thief"), at(time.Minute)); !errors.Is(err, auth.ErrTOTPEnabled) {
		t.Fatalf("BeginTOTP when on: %v, want ErrTOTPEnabled", err)
	}
	if got, _ := s.TOTPOf(ctx, "u1"); !bytes.Equal(got.Secret, []byte("second")) || !got.Enabled() {
		t.Fatalf("a refused BeginTOTP changed the TOTP: %+v", got)
	}

	before = len(allChanges(t, s))
	if was, err := s.DisableTOTP(ctx, "u1", at(time.Hour)); err != nil || !was {
		t.Fatalf("DisableTOTP = %v, %v; want true", was, err)
	}
	if cs := allChanges(t, s)[before:]; len(cs) != 1 || cs[0].Kind != auth.ChangeUser {
		t.Fatalf("DisableTOTP logged %+v, want one ChangeUser", cs)
	}
	mfaEnabledEverywhere(t, s, "u1", false)
	if _, err := s.TOTPOf(ctx, "u1"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("TOTPOf after DisableTOTP: %v", err)
	}
	if n, _ := s.UnusedRecoveryCodes(ctx, "u1"); n != 0 {
		t.Fatalf("%d recovery codes left after DisableTOTP", n)
	}
	if was, err := s.DisableTOTP(ctx, "u1", at(time.Hour)); err != nil || was {
		t.Fatalf("second DisableTOTP = %v, %v; want false", was, err)
	}
	// A pending setup is removed too, and was not "on".
	must(t, s.BeginTOTP(ctx, "u1", []byte("again"), at(2*time.Hour)))
	if was, err := s.DisableTOTP(ctx, "u1", at(2*time.Hour)); err != nil || was {
		t.Fatalf("DisableTOTP of a pending setup = %v, %v; want false", was, err)
	}
	if _, err := s.TOTPOf(ctx, "u1"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("pending TOTP kept by DisableTOTP: %v", err)
	}
}

// A step is spent only when it is later than the last one; a reseal replaces the secret.
func testTOTPStepSpentOnce(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	mustEnableTOTP(t, s, "u1", 100, nil)
	mustEnableTOTP(t, s, "u2", 100, nil)
	for _, c := range []struct {
		step int64
		want bool
	}{{100, false}, {99, false}, {101, true}, {101, false}, {100, false}, {103, true}, {102, false}} {
		if ok, err := s.UseTOTPStep(ctx, "u1", c.step, nil); err != nil || ok != c.want {
			t.Fatalf("UseTOTPStep(%d) = %v, %v; want %v", c.step, ok, err, c.want)
		}
	}
	if ok, err := s.UseTOTPStep(ctx, "u1", 104, []byte("resealed")); err != nil || !ok {
		t.Fatalf("UseTOTPStep with a reseal = %v, %v", ok, err)
	}
	got, err := s.TOTPOf(ctx, "u1")
	must(t, err)
	if got.LastStep != 104 || !bytes.Equal(got.Secret, []byte("resealed")) {
		t.Fatalf("after a resealing use: %+v", got)
	}
	if ok, _ := s.UseTOTPStep(ctx, "u1", 104, []byte("replayed")); ok {
		t.Fatal("a replayed step was accepted")
	}
	if got, _ := s.TOTPOf(ctx, "u1"); !bytes.Equal(got.Secret, []byte("resealed")) {
		t.Fatal("a refused use replaced the secret")
	}
	if got, _ := s.TOTPOf(ctx, "u2"); got.LastStep != 100 {
		t.Fatalf("u1's uses moved u2's step: %+v", got)
	}
	if ok, err := s.UseTOTPStep(ctx, "nobody", 500, nil); err != nil || ok {
		t.Fatalf("UseTOTPStep of an unknown user = %v, %v", ok, err)
	}
}

// Of many concurrent uses of one step, exactly one succeeds.
func testTOTPStepRace(t *testing.T, s auth.Store) {
	mustCreateUser(t, s, newUser("u1"))
	mustEnableTOTP(t, s, "u1", 100, nil)
	var wins atomic.Int32
	race(t, 16, func() error {
		ok, err := s.UseTOTPStep(ctxOf(t), "u1", 101, nil)
		if ok {
			wins.Add(1)
		}
		return err
	})
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent uses of one step succeeded, want 1", wins.Load())
	}
}

func race(t *testing.T, n int, fn func() error) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, n)
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- fn()
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
}

func testRecoveryCodes(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	if err := s.ReplaceRecoveryCodes(ctx, "u1", codeHashes("x", 3), t0); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("ReplaceRecoveryCodes without TOTP: %v, want ErrNotFound", err)
	}
	first := codeHashes("first", 10)
	mustEnableTOTP(t, s, "u1", 1, first)
	mustEnableTOTP(t, s, "u2", 1, codeHashes("u2", 10))
	for _, c := range []struct {
		name string
		user string
		hash []byte
		want bool
	}{
		{"a code", "u1", first[3], true},
		{"the same code again", "u1", first[3], false},
		{"another code", "u1", first[4], true},
		{"a code never issued", "u1", hashOf("guess"), false},
		{"u1's code for u2", "u2", first[5], false},
	} {
		if ok, err := s.UseRecoveryCode(ctx, c.user, c.hash, at(time.Hour)); err != nil || ok != c.want {
			t.Fatalf("%s: UseRecoveryCode = %v, %v; want %v", c.name, ok, err, c.want)
		}
	}
	if n, err := s.UnusedRecoveryCodes(ctx, "u1"); err != nil || n != 8 {
		t.Fatalf("UnusedRecoveryCodes = %d, %v; want 8", n, err)
	}
	second := codeHashes("second", 10)
	must(t, s.ReplaceRecoveryCodes(ctx, "u1", second, at(2*time.Hour)))
	if n, _ := s.UnusedRecoveryCodes(ctx, "u1"); n != 10 {
		t.Fatalf("UnusedRecoveryCodes after replacing = %d, want 10", n)
	}
	if ok, _ := s.UseRecoveryCode(ctx, "u1", first[0], at(3*time.Hour)); ok {
		t.Fatal("a replaced code still works")
	}
	if ok, _ := s.UseRecoveryCode(ctx, "u1", second[0], at(3*time.Hour)); !ok {
		t.Fatal("a new code does not work")
	}
	if n, _ := s.UnusedRecoveryCodes(ctx, "u2"); n != 10 {
		t.Fatalf("u1's changes touched u2's codes: %d left", n)
	}
}

func testRecoveryCodeRace(t *testing.T, s auth.Store) {
	codes := codeHashes("c", 10)
	mustCreateUser(t, s, newUser("u1"))
	mustEnableTOTP(t, s, "u1", 1, codes)
	var wins atomic.Int32
	race(t, 16, func() error {
		ok, err := s.UseRecoveryCode(ctxOf(t), "u1", codes[0], at(time.Hour))
		if ok {
			wins.Add(1)
		}
		return err
	})
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent uses of one recovery code succeeded, want 1", wins.Load())
	}
}

func newChallenge(token, userID string, stamp int64) auth.MFAChallenge {
	return auth.MFAChallenge{Hash: hashOf(token), UserID: userID, Stamp: stamp, CreatedAt: t0, ExpiresAt: at(5 * time.Minute)}
}

// At most max attempts are counted; an expired or used challenge counts none.
func testChallengeAttempts(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	must(t, s.CreateMFAChallenge(ctx, newChallenge("c1", "u1", 7)))
	for i := 1; i <= 5; i++ {
		c, err := s.TakeMFAAttempt(ctx, hashOf("c1"), 5, at(time.Duration(i)*time.Second))
		must(t, err)
		if c.Attempts != i || c.UserID != "u1" || c.Stamp != 7 || !bytes.Equal(c.Hash, hashOf("c1")) || !c.UsedAt.IsZero() {
			t.Fatalf("attempt %d: %+v", i, c)
		}
		checkTime(t, "CreatedAt", c.CreatedAt, t0)
		checkTime(t, "ExpiresAt", c.ExpiresAt, at(5*time.Minute))
	}
	if _, err := s.TakeMFAAttempt(ctx, hashOf("c1"), 5, at(10*time.Second)); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a sixth attempt: %v, want ErrNotFound", err)
	}
	if _, err := s.TakeMFAAttempt(ctx, hashOf("unknown"), 5, t0); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("an unknown challenge: %v, want ErrNotFound", err)
	}

	must(t, s.CreateMFAChallenge(ctx, newChallenge("c2", "u1", 7)))
	if _, err := s.TakeMFAAttempt(ctx, hashOf("c2"), 5, at(5*time.Minute)); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("an attempt at the expiry: %v, want ErrNotFound", err)
	}
	if ok, err := s.ConsumeMFAChallenge(ctx, hashOf("c2"), at(5*time.Minute)); err != nil || ok {
		t.Fatalf("consuming an expired challenge = %v, %v", ok, err)
	}

	must(t, s.CreateMFAChallenge(ctx, newChallenge("c3", "u1", 7)))
	if _, err := s.TakeMFAAttempt(ctx, hashOf("c3"), 5, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ConsumeMFAChallenge(ctx, hashOf("c3"), at(2*time.Second)); err != nil || !ok {
		t.Fatalf("ConsumeMFAChallenge = %v, %v; want true", ok, err)
	}
	if ok, _ := s.ConsumeMFAChallenge(ctx, hashOf("c3"), at(3*time.Second)); ok {
		t.Fatal("a challenge was consumed twice")
	}
	if _, err := s.TakeMFAAttempt(ctx, hashOf("c3"), 5, at(3*time.Second)); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("an attempt at a used challenge: %v, want ErrNotFound", err)
	}
}

func testChallengeConsumeRace(t *testing.T, s auth.Store) {
	mustCreateUser(t, s, newUser("u1"))
	must(t, s.CreateMFAChallenge(ctxOf(t), newChallenge("c1", "u1", 0)))
	var wins, taken atomic.Int32
	race(t, 16, func() error {
		if _, err := s.TakeMFAAttempt(ctxOf(t), hashOf("c1"), 5, at(time.Second)); err == nil {
			taken.Add(1)
		} else if !errors.Is(err, auth.ErrNotFound) {
			return err
		}
		ok, err := s.ConsumeMFAChallenge(ctxOf(t), hashOf("c1"), at(time.Second))
		if ok {
			wins.Add(1)
		}
		return err
	})
	if wins.Load() != 1 || taken.Load() > 5 {
		t.Fatalf("%d consumed, %d attempts counted; want 1 and at most 5", wins.Load(), taken.Load())
	}
}

func testPurgeChallenges(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	for i := range 5 {
		c := newChallenge(fmt.Sprint("old", i), "u1", 0)
		c.ExpiresAt = at(time.Duration(i) * time.Minute)
		must(t, s.CreateMFAChallenge(ctx, c))
	}
	must(t, s.CreateMFAChallenge(ctx, newChallenge("live", "u1", 0))) // expires at +5m
	n, err := s.PurgeMFAChallenges(ctx, at(4*time.Minute+time.Second), 3)
	must(t, err)
	if n != 3 {
		t.Fatalf("first batch purged %d, want 3", n)
	}
	n, err = s.PurgeMFAChallenges(ctx, at(4*time.Minute+time.Second), 3)
	must(t, err)
	if n != 2 {
		t.Fatalf("second batch purged %d, want 2", n)
	}
	if _, err := s.TakeMFAAttempt(ctx, hashOf("live"), 5, at(time.Minute)); err != nil {
		t.Fatalf("the live challenge was purged: %v", err)
	}
}

// An administrator's reset removes the factors, the challenges in flight and the sessions, and
// bumps the stamp, in one transaction.
func testMFARemovedWithSecurityChange(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	mustEnableTOTP(t, s, "u1", 1, codeHashes("u1", 10))
	mustEnableTOTP(t, s, "u2", 1, codeHashes("u2", 10))
	mustCreateSession(t, s, newSession("s1", "u1"))
	mustCreateSession(t, s, newSession("s2", "u1"))
	must(t, s.CreateMFAChallenge(ctx, newChallenge("c1", "u1", 2)))
	must(t, s.CreateMFAChallenge(ctx, newChallenge("c2", "u2", 2)))
	stamp := stampOf(t, s, "u1")

	u, ended, err := s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{RemoveMFA: true, EndReason: auth.EndMFAReset}, at(time.Hour))
	must(t, err)
	if u.MFAEnabled || u.SecurityStamp != stamp+1 || !slices.Equal(ended, []string{"s1", "s2"}) {
		t.Fatalf("reset: user %+v, ended %v", u, ended)
	}
	mfaEnabledEverywhere(t, s, "u1", false)
	if _, err := s.TOTPOf(ctx, "u1"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("TOTP kept by the reset: %v", err)
	}
	if n, _ := s.UnusedRecoveryCodes(ctx, "u1"); n != 0 {
		t.Fatalf("%d recovery codes kept by the reset", n)
	}
	if _, err := s.TakeMFAAttempt(ctx, hashOf("c1"), 5, at(time.Minute)); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("a challenge survived the reset: %v", err)
	}
	// The other user is untouched.
	mfaEnabledEverywhere(t, s, "u2", true)
	if _, err := s.TakeMFAAttempt(ctx, hashOf("c2"), 5, at(time.Minute)); err != nil {
		t.Fatalf("another user's challenge went: %v", err)
	}
	// A security change without RemoveMFA keeps the factors.
	if _, _, err := s.ChangeUserSecurity(ctx, "u2", auth.SecurityChange{PasswordHash: "$2a$10$new"}, at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	mfaEnabledEverywhere(t, s, "u2", true)
}
