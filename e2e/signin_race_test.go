package e2e

// A login reads the account, spends bcrypt time, then starts a session. An account change made
// in between (changePassword, setUserDisabled) must void it: the login fails, and no session of
// the old password, or of the disabled account, is alive after the change (or after a re-enable).
//
// The race is made deterministic without hooks in the server: instance A has one bcrypt slot
// (BCRYPT_CONCURRENCY=1); holders (logins of unknown emails, compared against the dummy hash)
// occupy it and queue for it, and the victim's login, sent last, reads the account and queues
// behind them. /metrics shows each step: a store read (UserByEmail) per login, a slot acquisition
// (the bcrypt queue-wait count) per comparison or hash. The change is made while the victim still
// waits, which the acquisition count proves afterwards; then the slot frees and the victim
// compares its (right) password and tries to start a session. A password change needs bcrypt
// itself (on instance B): it is started first, and the victim sent while B hashes the new
// password, the change's last step before it writes.

import (
	"fmt"
	"maps"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	bcryptAcquiredSeries = `auth_bcrypt_queue_wait_seconds_count`
	userReadsSeries      = `auth_store_duration_seconds_count{method="UserByEmail"}`
)

var holderSeq atomic.Int64 // numbers the holders' unknown emails, so no account limit is reached

// racePair starts A (one bcrypt slot) and B on one SQLite file.
func racePair(t *testing.T) (a, b *testServer) {
	t.Helper()
	shared := map[string]string{
		"DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "shared.db"),
		"JWT_ISSUER":   "http://gqlauth.test",
	}
	if !raceDetector {
		// Without -race bcrypt at cost 10 is ~15 times faster: B's hash of the new password
		// would end before the victim's login reads the account, and the holders' comparisons
		// before B's change. Cost 13 gives both the durations the race detector gives cost 10.
		shared["BCRYPT_COST"] = "13"
	}
	one := maps.Clone(shared)
	one["BCRYPT_CONCURRENCY"] = "1"
	return startServer(t, one), startServer(t, shared)
}

// loginDuring logs email in on a, queued for A's bcrypt slot behind `holders` comparisons
// (one bcrypt time at cost 10 each), and calls change once the login has read the account.
// change reports whether it was still to be made when called. loginDuring reports false when
// the race was not made (the change was made before the read, or the slot reached the login
// before the change was done), and the login's answer.
func loginDuring(t *testing.T, a *testServer, holders int, email string, change func() bool) (gqlResponse, bool) {
	t.Helper()
	acquired, reads := metric(t, a, bcryptAcquiredSeries), metric(t, a, userReadsSeries)

	var wg sync.WaitGroup
	for i := range holders {
		wg.Go(func() {
			a.gql(t, "", `mutation($e:String!,$p:String!){ login(input:{email:$e,password:$p}) { accessToken } }`,
				map[string]any{"e": fmt.Sprintf("nobody-%d@example.com", holderSeq.Add(1)), "p": testPassword})
		})
		waitMetric(t, a, userReadsSeries, reads+float64(i+1))
		if i == 0 {
			waitMetric(t, a, bcryptAcquiredSeries, acquired+1) // the first holder has the slot
		}
		// A holder goes from its read to the slot's queue without any I/O; give it ample time,
		// so that the next login queues behind it.
		time.Sleep(50 * time.Millisecond)
	}

	victim := make(chan gqlResponse, 1)
	go func() {
		victim <- a.gql(t, "", `mutation($e:String!,$p:String!){ login(input:{email:$e,password:$p}) { `+payloadFields+` } }`,
			map[string]any{"e": email, "p": testPassword})
	}()
	waitMetric(t, a, userReadsSeries, reads+float64(holders+1)) // the victim read the account

	start := time.Now()
	pending := change()
	took := time.Since(start)
	waiting := metric(t, a, bcryptAcquiredSeries) <= acquired+float64(holders) // the victim still waits
	wg.Wait()
	r := <-victim
	t.Logf("the change took %v after the victim's read (still to be made then: %v); the victim still waited for bcrypt after it: %v",
		took, pending, waiting)
	return r, pending && waiting
}

// sessionIDs lists the live sessions token's user has.
func sessionIDs(t *testing.T, s *testServer, token string) []string {
	t.Helper()
	r := s.gql(t, token, `{ sessions { id } }`, nil)
	var list []struct{ ID string }
	r.decode(t, "sessions", &list)
	ids := make([]string, len(list))
	for i, x := range list {
		ids[i] = x.ID
	}
	return ids
}

// expectNoSession checks that a login's answer carries no usable session: no payload, or one
// whose refresh token and access token are refused.
func expectNoSession(t *testing.T, s *testServer, r gqlResponse) {
	t.Helper()
	if len(r.Errors) > 0 {
		return
	}
	var p payload
	r.decode(t, "login", &p)
	if _, rr := s.refresh(t, p.RefreshToken); len(rr.Errors) == 0 {
		t.Errorf("the raced login's refresh token still refreshes")
	}
	if me := s.me(t, p.AccessToken); len(me.Errors) == 0 {
		t.Errorf("the raced login's access token is still accepted")
	}
}

// raceAttempts runs one race with a fresh victim until it was made (the holders' comparisons
// outlasted the change), at most three times.
func raceAttempts(t *testing.T, try func(victim string) bool) {
	t.Helper()
	for i := range 3 {
		if try(fmt.Sprintf("victim%d@example.com", i)) {
			return
		}
		t.Logf("attempt %d: the holders' bcrypt ended before the change did; trying again", i)
	}
	t.Fatal("could not hold the victim's login in the bcrypt queue across the change (machine too slow?)")
}

// TestLoginInFlightRacingAccountChange: a login with the old password that read the account
// before changePassword (on another instance) fails and leaves no session; one that read it
// before setUserDisabled fails as disabled and leaves nothing that re-enabling would revive.
func TestLoginInFlightRacingAccountChange(t *testing.T) {
	t.Parallel()
	a, b := racePair(t)

	t.Run("changePassword", func(t *testing.T) {
		raceAttempts(t, func(victim string) bool {
			a.register(t, victim)
			changer, r := b.login(t, victim, testPassword)
			expectOK(t, r)
			const newPassword = "a new password for the race"
			changing := make(chan gqlResponse, 1)
			hashes := metric(t, b, bcryptAcquiredSeries)
			go func() {
				changing <- b.gql(t, changer.AccessToken, `mutation($c:String!,$n:String!){ changePassword(input:{currentPassword:$c,newPassword:$n}) { `+payloadFields+` } }`,
					map[string]any{"c": testPassword, "n": newPassword})
			}()
			waitMetric(t, b, bcryptAcquiredSeries, hashes+2) // B checked the current password and hashes the new one
			var done gqlResponse
			login, held := loginDuring(t, a, 2, victim, func() bool {
				select {
				case done = <-changing:
					return false
				default:
					done = <-changing
					return true
				}
			})
			var changed payload
			done.decode(t, "changePassword", &changed)
			if !held {
				return false
			}
			if login.code() != "UNAUTHENTICATED" || login.reason() != "INVALID_CREDENTIALS" {
				t.Errorf("login in flight across changePassword: %s/%s (errors %+v), want UNAUTHENTICATED/INVALID_CREDENTIALS",
					login.code(), login.reason(), login.Errors)
			}
			expectNoSession(t, a, login)
			if ids := sessionIDs(t, b, changed.AccessToken); len(ids) != 1 {
				t.Errorf("sessions after changePassword: %q, want only the changer's", ids)
			}
			_, r = a.login(t, victim, testPassword)
			expectError(t, r, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
			_, r = a.login(t, victim, newPassword)
			expectOK(t, r)
			return true
		})
	})

	t.Run("setUserDisabled then enable", func(t *testing.T) {
		admin := "admin@example.com"
		a.CreateUser(t, admin, "ADMIN", testPassword)
		adm, r := b.login(t, admin, testPassword)
		expectOK(t, r)
		const setDisabled = `mutation($id:ID!,$d:Boolean!){ setUserDisabled(userId:$id, disabled:$d) { id disabled } }`
		raceAttempts(t, func(victim string) bool {
			reg := a.register(t, "disabled-"+victim)
			login, held := loginDuring(t, a, 1, reg.User.Email, func() bool {
				expectOK(t, a.gql(t, adm.AccessToken, setDisabled, map[string]any{"id": reg.User.ID, "d": true}))
				return true
			})
			if !held {
				expectOK(t, a.gql(t, adm.AccessToken, setDisabled, map[string]any{"id": reg.User.ID, "d": false}))
				return false
			}
			if login.code() != "UNAUTHENTICATED" || login.reason() != "ACCOUNT_DISABLED" {
				t.Errorf("login in flight across setUserDisabled: %s/%s (errors %+v), want UNAUTHENTICATED/ACCOUNT_DISABLED",
					login.code(), login.reason(), login.Errors)
			}
			expectOK(t, a.gql(t, adm.AccessToken, setDisabled, map[string]any{"id": reg.User.ID, "d": false}))

			expectNoSession(t, a, login)
			fresh, r := a.login(t, reg.User.Email, testPassword)
			expectOK(t, r)
			if ids := sessionIDs(t, a, fresh.AccessToken); len(ids) != 1 {
				t.Errorf("sessions after disable and enable: %q, want only the login made after", ids)
			}
			expectError(t, a.me(t, reg.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")
			return true
		})
	})
}
