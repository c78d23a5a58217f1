package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

// The security stamp and the changes that end sessions. A sign-in reads the user, spends bcrypt
// time, then starts a session; whatever changed the account in between (a password change, a
// disable) must either end that session or make starting it fail, and a change must end its
// sessions in the same transaction as it is made.
var securityTests = []test{
	{"Security/StampReadWithUser", testStampReadWithUser},
	{"Security/CreateSessionRefusedAfterChange", testCreateSessionRefusedAfterChange},
	{"Security/PasswordChangeEndsSessionsAtomically", testPasswordChangeAtomic},
	{"Security/FailedChangeChangesNothing", testFailedChangeChangesNothing},
	{"Security/DisableEndsEverySession", testDisableEndsEverySession},
	{"Security/UpgradePasswordHash", testUpgradePasswordHash},
	{"Security/RacingChangeLeavesNothingLive", testRacingChangeLeavesNothingLive},
}

// readUserThreeWays reads the user by id, by email and from ListUsers (failing when the list
// lacks it), for the tests that check the three readers agree.
func readUserThreeWays(t *testing.T, s auth.Store, id string) (byID, byEmail, listed auth.User) {
	t.Helper()
	ctx := ctxOf(t)
	byID, err := s.UserByID(ctx, id)
	must(t, err)
	byEmail, err = s.UserByEmail(ctx, byID.Email)
	must(t, err)
	list, err := s.ListUsers(ctx, "", 1000)
	must(t, err)
	i := slices.IndexFunc(list, func(u auth.User) bool { return u.ID == id })
	if i < 0 {
		t.Fatalf("ListUsers lacks %s: %+v", id, list)
	}
	return byID, byEmail, list[i]
}

// stampOf returns the user's stamp as UserByID, UserByEmail and ListUsers read it; they must agree.
func stampOf(t *testing.T, s auth.Store, id string) int64 {
	t.Helper()
	byID, byEmail, listed := readUserThreeWays(t, s, id)
	if byEmail.SecurityStamp != byID.SecurityStamp || listed.SecurityStamp != byID.SecurityStamp {
		t.Fatalf("stamp of %s: UserByID %d, UserByEmail %d, ListUsers %d", id, byID.SecurityStamp, byEmail.SecurityStamp, listed.SecurityStamp)
	}
	return byID.SecurityStamp
}

// Every ChangeUserSecurity bumps the stamp; role changes, hash upgrades and ended sessions do
// not (they must not void a sign-in in flight).
func testStampReadWithUser(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateSession(t, s, newSession("s1", "u1"))
	mustCreateSession(t, s, newSession("s2", "u1"))
	want := int64(0)
	for _, step := range []struct {
		name  string
		bumps bool
		do    func(now time.Time) error
	}{
		{"created", false, func(time.Time) error { return nil }},
		{"SetUserRoles", false, func(now time.Time) error {
			_, err := s.SetUserRoles(ctx, "u1", []auth.Role{auth.RoleAdmin}, now)
			return err
		}},
		{"EndSession", false, func(now time.Time) error { _, err := s.EndSession(ctx, "s1", auth.EndLogout, now); return err }},
		{"EndUserSessions", false, func(now time.Time) error {
			_, err := s.EndUserSessions(ctx, "u1", "", auth.EndLogoutAll, now)
			return err
		}},
		{"UpgradePasswordHash", false, func(now time.Time) error { return s.UpgradePasswordHash(ctx, "u1", want, "h2", now) }},
		{"password", true, func(now time.Time) error {
			_, _, err := s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{PasswordHash: "h3"}, now)
			return err
		}},
		{"disable", true, func(now time.Time) error {
			_, _, err := s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{Disabled: ptr(true), EndReason: auth.EndUserDisabled}, now)
			return err
		}},
		{"enable", true, func(now time.Time) error {
			_, _, err := s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{Disabled: ptr(false)}, now)
			return err
		}},
		{"nothing but the stamp", true, func(now time.Time) error {
			_, _, err := s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{}, now)
			return err
		}},
	} {
		must(t, step.do(at(time.Minute)))
		if step.bumps {
			want++
		}
		if got := stampOf(t, s, "u1"); got != want {
			t.Errorf("after %s: stamp %d, want %d", step.name, got, want)
		}
	}
}

// CreateSession starts a session only for the stamp it was read with, of an enabled user.
func testCreateSessionRefusedAfterChange(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	refused := func(sid string, stamp int64) {
		t.Helper()
		logged := len(allChanges(t, s))
		err := s.CreateSession(ctx, newSession(sid, "u1"), tok(sid+"/0"), stamp)
		if !errors.Is(err, auth.ErrUserChanged) {
			t.Errorf("CreateSession(%s, stamp %d) = %v, want ErrUserChanged", sid, stamp, err)
		}
		if _, err := s.SessionByID(ctx, sid); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("refused session %s was stored: %v", sid, err)
		}
		if _, err := s.SessionByRefreshHash(ctx, hashOf(sid+"/0")); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("refused session %s's token was stored: %v", sid, err)
		}
		if n := len(allChanges(t, s)); n != logged {
			t.Errorf("refused CreateSession(%s) logged %d changes", sid, n-logged)
		}
	}
	must(t, s.CreateSession(ctx, newSession("before", "u1"), tok("before/0"), 0))
	refused("future stamp", 1)

	u, ended, err := s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{PasswordHash: "h2", EndReason: auth.EndPasswordChange}, at(time.Minute))
	must(t, err)
	if u.SecurityStamp != 1 || !slices.Equal(ended, []string{"before"}) {
		t.Fatalf("password change: stamp %d, ended %q; want 1, [before]", u.SecurityStamp, ended)
	}
	refused("old stamp after password change", 0)
	must(t, s.CreateSession(ctx, newSession("new stamp", "u1"), tok("new stamp/0"), 1))

	u, _ = setDisabled(t, s, "u1", true, at(2*time.Minute))
	refused("disabled, current stamp", u.SecurityStamp)
	refused("disabled, old stamp", 1)
	u, _ = setDisabled(t, s, "u1", false, at(3*time.Minute))
	refused("enabled again, stamp from before the disable", 1)
	refused("enabled again, stamp of the disabled account", u.SecurityStamp-1)
	must(t, s.CreateSession(ctx, newSession("enabled", "u1"), tok("enabled/0"), u.SecurityStamp))

	if err := s.CreateSession(ctx, newSession("nobody's", "nobody"), tok("nobody/0"), 0); !errors.Is(err, auth.ErrUserChanged) {
		t.Errorf("CreateSession(unknown user) = %v, want ErrUserChanged", err)
	}
}

// A password change sets the hash, bumps the stamp, ends every other live session, gives the
// kept session a new refresh token and logs it all, in one call.
func testPasswordChangeAtomic(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	want := sessionsLiveAndNot(t, s, "keep")
	before := len(allChanges(t, s))

	now := at(time.Hour)
	got, ended, err := s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{
		PasswordHash: "$2a$10$new", EndReason: auth.EndPasswordChange, Keep: "keep", KeepRefresh: tok("keep/new"),
	}, now)
	must(t, err)
	want.PasswordHash, want.UpdatedAt, want.SecurityStamp = "$2a$10$new", now, 1
	checkUser(t, got, want)
	checkStoredUser(t, s, want)
	if !slices.Equal(ended, []string{"a", "c"}) {
		t.Errorf("ended %q, want [a c] (sorted; not the kept, already ended, expired or other user's)", ended)
	}
	live, err := s.ListLiveSessions(ctx, "u1", now)
	must(t, err)
	if ids := sessionIDs(live); !slices.Equal(ids, []string{"keep"}) {
		t.Errorf("live sessions of u1 = %q, want only keep", ids)
	}
	for id, reason := range map[string]string{"a": auth.EndPasswordChange, "c": auth.EndPasswordChange, "ended": auth.EndLogout} {
		sess, err := s.SessionByID(ctx, id)
		must(t, err)
		if sess.EndReason != reason || sess.Live(now) {
			t.Errorf("session %s: %+v, want ended for %s", id, sess, reason)
		}
	}
	if other, err := s.SessionByID(ctx, "other"); err != nil || !other.Live(now) {
		t.Errorf("the other user's session: %+v, %v; want live", other, err)
	}

	// The kept session's old token is retired and its new one works.
	var ar *auth.AlreadyRotatedError
	if _, err := s.RotateRefreshToken(ctx, tok("keep/0"), tok("keep/stolen"), now); !errors.As(err, &ar) {
		t.Errorf("rotating the kept session's old token = %v, want *AlreadyRotatedError", err)
	}
	_, err = s.RotateRefreshToken(ctx, tok("keep/new"), tok("keep/next"), now)
	must(t, err)

	// Everything was logged by the change itself, before it returned.
	added := allChanges(t, s)[before:]
	var kinds []string
	for _, c := range added {
		if c.UserID != "u1" {
			t.Errorf("change %+v is not of u1", c)
		}
		checkTime(t, "change At", c.At, now)
		kinds = append(kinds, string(c.Kind)+" "+c.SessionID)
	}
	slices.Sort(kinds)
	if w := []string{"session_ended a", "session_ended c", "user_changed "}; !slices.Equal(kinds, w) {
		t.Errorf("changes logged %q, want %q", kinds, w)
	}

	// A sign-in that read the user before the change cannot start a session after it.
	if err := s.CreateSession(ctx, newSession("late", "u1"), tok("late/0"), 0); !errors.Is(err, auth.ErrUserChanged) {
		t.Errorf("CreateSession with the stamp from before the change = %v, want ErrUserChanged", err)
	}
}

// A change whose kept session is not live fails as a whole: hash, stamp, sessions and log stay.
func testFailedChangeChangesNothing(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	want := mustCreateUser(t, s, newUser("u1"))
	mustCreateSession(t, s, newSession("live", "u1"))
	mustCreateSession(t, s, newSession("gone", "u1"))
	if _, err := s.EndSession(ctx, "gone", auth.EndLogout, at(time.Minute)); err != nil {
		t.Fatal(err)
	}
	before := allChanges(t, s)
	_, ended, err := s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{
		PasswordHash: "$2a$10$new", Disabled: ptr(true), EndReason: auth.EndPasswordChange,
		Keep: "gone", KeepRefresh: tok("gone/new"),
	}, at(time.Hour))
	if !errors.Is(err, auth.ErrSessionEnded) || ended != nil {
		t.Fatalf("change keeping an ended session = %q, %v; want ErrSessionEnded", ended, err)
	}
	checkStoredUser(t, s, want)
	if sess, err := s.SessionByID(ctx, "live"); err != nil || !sess.Live(at(time.Hour)) {
		t.Errorf("session of the refused change: %+v, %v; want live", sess, err)
	}
	if after := allChanges(t, s); len(after) != len(before) {
		t.Errorf("refused change logged %+v", after[len(before):])
	}
	must(t, s.CreateSession(ctx, newSession("still", "u1"), tok("still/0"), want.SecurityStamp))
}

// Disabling ends every session; enabling ends none and brings none back.
func testDisableEndsEverySession(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	for _, id := range []string{"a", "b"} {
		mustCreateSession(t, s, newSession(id, "u1"))
	}
	mustCreateSession(t, s, newSession("other", "u2"))
	before := len(allChanges(t, s))

	u, ended := setDisabled(t, s, "u1", true, at(time.Hour))
	if !u.Disabled || !slices.Equal(ended, []string{"a", "b"}) {
		t.Fatalf("disable: %+v, ended %q; want disabled, [a b]", u, ended)
	}
	logged := allChanges(t, s)[before:]
	if len(logged) != 3 {
		t.Errorf("disable logged %+v, want user_changed and two session_ended", logged)
	}
	before += len(logged)
	u, ended = setDisabled(t, s, "u1", false, at(2*time.Hour))
	if u.Disabled || len(ended) != 0 {
		t.Fatalf("enable: %+v, ended %q; want enabled, none", u, ended)
	}
	if logged := allChanges(t, s)[before:]; len(logged) != 1 || logged[0].Kind != auth.ChangeUser {
		t.Errorf("enable logged %+v, want one user_changed", logged)
	}
	for _, id := range []string{"a", "b"} {
		if _, err := s.RotateRefreshToken(ctx, tok(id+"/0"), tok(id+"/1"), at(3*time.Hour)); !errors.Is(err, auth.ErrSessionEnded) {
			t.Errorf("refreshing %s after disable and enable = %v, want ErrSessionEnded", id, err)
		}
	}
	if live, err := s.ListLiveSessions(ctx, "u1", at(3*time.Hour)); err != nil || len(live) != 0 {
		t.Errorf("live sessions after disable and enable: %q, %v", sessionIDs(live), err)
	}
	if other, err := s.SessionByID(ctx, "other"); err != nil || !other.Live(at(3*time.Hour)) {
		t.Errorf("the other user's session: %+v, %v; want live", other, err)
	}
}

// A hash upgrade applies only to the account as it was checked, and leaves the stamp.
func testUpgradePasswordHash(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	want := mustCreateUser(t, s, newUser("u1"))
	before := len(allChanges(t, s))
	must(t, s.UpgradePasswordHash(ctx, "u1", 0, "$2a$12$upgraded", at(time.Minute)))
	want.PasswordHash, want.UpdatedAt = "$2a$12$upgraded", at(time.Minute)
	checkStoredUser(t, s, want)
	if logged := allChanges(t, s)[before:]; len(logged) != 1 || logged[0].Kind != auth.ChangeUser {
		t.Errorf("upgrade logged %+v, want one user_changed", logged)
	}

	// The password changed after the sign-in that wants to upgrade it read the user.
	changed, _, err := s.ChangeUserSecurity(ctx, "u1", auth.SecurityChange{PasswordHash: "$2a$10$changed"}, at(2*time.Minute))
	must(t, err)
	before = len(allChanges(t, s))
	if err := s.UpgradePasswordHash(ctx, "u1", 0, "$2a$12$of-the-old-password", at(3*time.Minute)); !errors.Is(err, auth.ErrUserChanged) {
		t.Errorf("upgrade with a stale stamp = %v, want ErrUserChanged", err)
	}
	checkStoredUser(t, s, changed)
	if err := s.UpgradePasswordHash(ctx, "nobody", 0, "x", at(3*time.Minute)); !errors.Is(err, auth.ErrUserChanged) {
		t.Errorf("upgrade of an unknown user = %v, want ErrUserChanged", err)
	}
	if n := len(allChanges(t, s)); n != before {
		t.Errorf("refused upgrades logged %d changes", n-before)
	}
}

// Sign-ins and refreshes running in parallel with a change (each in its own goroutine, so on
// PostgreSQL in their own transactions) never leave a live session behind it: a session either
// was started before the change and is among the ids it ended, or was refused. Refreshes of a
// session either happened before the change ended it or are refused.
func testRacingChangeLeavesNothingLive(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	for round := range 8 {
		user := fmt.Sprintf("u%d", round)
		mustCreateUser(t, s, newUser(user))
		change := auth.SecurityChange{Disabled: ptr(true), EndReason: auth.EndUserDisabled}
		if round%2 == 1 {
			change = auth.SecurityChange{PasswordHash: "$2a$10$new", EndReason: auth.EndPasswordChange}
		}
		const signIns, refreshes = 6, 3
		newest := map[string]int{} // refreshed session → its newest token's number
		for i := range refreshes {
			sid := fmt.Sprintf("%s-r%d", user, i)
			mustCreateSession(t, s, newSession(sid, user))
			newest[sid] = 0
		}
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			mu      sync.Mutex
			started []string // sessions CreateSession reported as created
			ended   []string
		)
		for g := range signIns {
			wg.Go(func() {
				<-start
				// Sign in with the stamp read before the change until refused: some of these
				// run across the change, whichever way the scheduler goes.
				for i := 0; i < 1000; i++ {
					sid := fmt.Sprintf("%s-g%d-%d", user, g, i)
					err := s.CreateSession(ctx, newSession(sid, user), tok(sid+"/0"), 0)
					if errors.Is(err, auth.ErrUserChanged) {
						return
					}
					if err != nil {
						t.Errorf("CreateSession: %v", err)
						return
					}
					mu.Lock()
					started = append(started, sid)
					mu.Unlock()
				}
			})
		}
		for r := range refreshes {
			sid := fmt.Sprintf("%s-r%d", user, r)
			wg.Go(func() {
				<-start
				for i := 0; i < 1000; i++ {
					_, err := s.RotateRefreshToken(ctx, tok(fmt.Sprintf("%s/%d", sid, i)), tok(fmt.Sprintf("%s/%d", sid, i+1)), at(time.Minute))
					if errors.Is(err, auth.ErrSessionEnded) {
						return
					}
					if err != nil {
						t.Errorf("RotateRefreshToken: %v", err)
						return
					}
					mu.Lock()
					newest[sid] = i + 1
					mu.Unlock()
				}
			})
		}
		wg.Go(func() {
			<-start
			time.Sleep(time.Duration(round) * time.Millisecond) // vary where the change falls
			_, ids, err := s.ChangeUserSecurity(ctx, user, change, at(time.Minute))
			if err != nil {
				t.Errorf("ChangeUserSecurity: %v", err)
			}
			ended = ids
		})
		close(start)
		wg.Wait()

		if live, err := s.ListLiveSessions(ctx, user, at(2*time.Minute)); err != nil || len(live) != 0 {
			t.Errorf("round %d: live sessions after the change: %q, %v", round, sessionIDs(live), err)
		}
		for _, sid := range started {
			if !slices.Contains(ended, sid) {
				t.Errorf("round %d: session %s was started before the change but is not among the ids it ended", round, sid)
			}
		}
		for sid, n := range newest {
			_, err := s.RotateRefreshToken(ctx, tok(fmt.Sprintf("%s/%d", sid, n)), tok(sid+"/after"), at(2*time.Minute))
			if !errors.Is(err, auth.ErrSessionEnded) {
				t.Errorf("round %d: refreshing %s's newest token after the change = %v, want ErrSessionEnded", round, sid, err)
			}
		}
		t.Logf("round %d: %d sign-ins before the change, %d ended", round, len(started), len(ended))
	}
}
