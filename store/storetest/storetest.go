// Package storetest is the behaviour suite every auth.Store adapter must pass. An adapter's
// tests call Run from a one-line TestConformance:
//
//	func TestConformance(t *testing.T) { storetest.Run(t, openTestStore) }
//
// The suite fixes the semantics store.go leaves implicit, so that all backends agree; see the
// comments on the individual tests.
package storetest

import (
	"context"
	"crypto/sha256"
	"slices"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

// Run runs every conformance test as a parallel subtest. open must return a fresh, empty store
// of its own (a new file, a new schema) and close it with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) auth.Store) {
	groups := [][]test{userTests, securityTests, sessionTests, rotationTests, changeLogTests, auditTests, housekeepingTests,
		clientTests, apiKeyTests, passkeyTests, mailTests, mfaTests}
	for _, group := range groups {
		for _, tc := range group {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.fn(t, open(t))
			})
		}
	}
}

type test struct {
	name string
	fn   func(t *testing.T, s auth.Store)
}

// Fixture times are in a non-UTC zone and carry nanoseconds, so the suite checks that stores
// return UTC and keep microsecond precision.
var (
	zone = time.FixedZone("UTC+2", 2*60*60)
	t0   = time.Date(2031, 3, 4, 5, 6, 7, 891234567, zone)
	ttl  = 30 * 24 * time.Hour
)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func hashOf(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func newUser(id string) auth.User {
	return auth.User{
		ID:           id,
		Email:        id + "@example.com",
		PasswordHash: "$2a$10$hash-of-" + id,
		Roles:        []auth.Role{auth.RoleUser},
		CreatedAt:    t0,
		UpdatedAt:    t0,
	}
}

func newSession(id, userID string) auth.Session {
	return auth.Session{
		ID:         id,
		UserID:     userID,
		CreatedAt:  t0,
		LastUsedAt: t0,
		ExpiresAt:  t0.Add(ttl),
		UserAgent:  "Mozilla/5.0 (storetest)",
		IPAddress:  "203.0.113.7",
		AMR:        []string{auth.AMRPassword, auth.AMROTP, auth.AMRMFA},
		AuthTime:   t0.Add(-time.Second),
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustCreateUser(t *testing.T, s auth.Store, u auth.User) auth.User {
	t.Helper()
	must(t, s.CreateUser(ctxOf(t), u))
	return u
}

// mustCreateSession creates sess with the refresh token hashOf(sess.ID + "/0"), for its user
// as it is now (its current security stamp).
func mustCreateSession(t *testing.T, s auth.Store, sess auth.Session) auth.Session {
	t.Helper()
	u, err := s.UserByID(ctxOf(t), sess.UserID)
	must(t, err)
	must(t, s.CreateSession(ctxOf(t), sess, tok(sess.ID+"/0"), u.SecurityStamp))
	return sess
}

func ptr[T any](v T) *T { return &v }

// setDisabled disables or enables a user as the service does: ending every session when
// disabling. It returns the ended sessions' ids.
func setDisabled(t *testing.T, s auth.Store, id string, disabled bool, now time.Time) (auth.User, []string) {
	t.Helper()
	c := auth.SecurityChange{Disabled: &disabled}
	if disabled {
		c.EndReason = auth.EndUserDisabled
	}
	u, ended, err := s.ChangeUserSecurity(ctxOf(t), id, c, now)
	must(t, err)
	return u, ended
}

// micro is what a store keeps of t: UTC, microsecond precision.
func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(micro(want)) {
		t.Errorf("%s = %v, want %v", what, got, micro(want))
	}
	if !got.IsZero() && got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, got.Location())
	}
}

// checkStoredUser reads want's user back by ID and checks it is want.
func checkStoredUser(t *testing.T, s auth.Store, want auth.User) {
	t.Helper()
	got, err := s.UserByID(ctxOf(t), want.ID)
	must(t, err)
	checkUser(t, got, want)
}

func checkUser(t *testing.T, got, want auth.User) {
	t.Helper()
	if got.ID != want.ID || got.Email != want.Email || got.PasswordHash != want.PasswordHash ||
		got.Disabled != want.Disabled || !equalRoles(got.Roles, want.Roles) || got.SecurityStamp != want.SecurityStamp {
		t.Errorf("user = %+v, want %+v", got, want)
	}
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func equalRoles(a, b []auth.Role) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func checkSession(t *testing.T, got, want auth.Session) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.UserAgent != want.UserAgent ||
		got.IPAddress != want.IPAddress || got.EndReason != want.EndReason || !slices.Equal(got.AMR, want.AMR) {
		t.Errorf("session = %+v, want %+v", got, want)
	}
	checkTime(t, "AuthTime", got.AuthTime, want.AuthTime)
	checkTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	checkTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	checkTime(t, "EndedAt", got.EndedAt, want.EndedAt)
}

func sessionIDs(list []auth.Session) []string {
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.ID
	}
	return ids
}

// mustLogNothing fails the test when the change log has an entry: what (a call that must
// change nothing another instance caches) logged one.
func mustLogNothing(t *testing.T, s auth.Store, what string) {
	t.Helper()
	if cs := allChanges(t, s); len(cs) != 0 {
		t.Fatalf("%s logged %+v", what, cs)
	}
}

// allChanges returns the whole change log.
func allChanges(t *testing.T, s auth.Store) []auth.Change {
	t.Helper()
	cs, err := s.ChangesAfter(ctxOf(t), 0, time.Time{}, 1_000_000)
	must(t, err)
	return cs
}

// tok is a refresh token that names no session, known to the store by its hash alone.
func tok(token string) auth.RefreshHash { return auth.RefreshHash{Sum: hashOf(token)} }
