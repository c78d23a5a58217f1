package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

var userTests = []test{
	{"User/CreateAndGet", testCreateAndGetUser},
	{"User/DuplicateEmail", testDuplicateEmail},
	{"User/NotFound", testUserNotFound},
	{"User/ListPagination", testListUsers},
	{"User/RolesRoundTrip", testRolesRoundTrip},
	{"User/SetDisabled", testSetUserDisabled},
	{"User/SetPasswordHash", testSetPasswordHash},
	{"Ping", func(t *testing.T, s auth.Store) { must(t, s.Ping(ctxOf(t))) }},
}

func testCreateAndGetUser(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	u := newUser("0190a1b2-0000-7000-8000-000000000001")
	u.Roles = []auth.Role{auth.RoleUser, auth.RoleAdmin}
	u.UpdatedAt = at(time.Hour)
	mustCreateUser(t, s, u)

	checkStoredUser(t, s, u)

	got, err := s.UserByEmail(ctx, u.Email)
	must(t, err)
	checkUser(t, got, u)
}

// Emails arrive normalised, so the store only has to refuse the exact same string.
func testDuplicateEmail(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	first := mustCreateUser(t, s, newUser("u1"))
	dup := newUser("u2")
	dup.Email = first.Email
	if err := s.CreateUser(ctx, dup); !errors.Is(err, auth.ErrEmailTaken) {
		t.Fatalf("CreateUser(same email) = %v, want ErrEmailTaken", err)
	}
	if _, err := s.UserByID(ctx, dup.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("refused user was stored: UserByID = %v", err)
	}
	other := newUser("u3") // a different email still works
	must(t, s.CreateUser(ctx, other))
}

func testUserNotFound(t *testing.T, s auth.Store) {
	mustCreateUser(t, s, newUser("u1"))
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"UserByID", func() error { _, err := s.UserByID(ctxOf(t), "nope"); return err }},
		{"UserByEmail", func() error { _, err := s.UserByEmail(ctxOf(t), "nope@example.com"); return err }},
		{"SetUserRoles", func() error {
			_, err := s.SetUserRoles(ctxOf(t), "nope", []auth.Role{auth.RoleAdmin}, at(time.Minute))
			return err
		}},
		{"ChangeUserSecurity", func() error {
			_, _, err := s.ChangeUserSecurity(ctxOf(t), "nope", auth.SecurityChange{
				PasswordHash: "x", Disabled: ptr(true), EndReason: auth.EndUserDisabled,
			}, at(time.Minute))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
	if cs := allChanges(t, s); len(cs) != 0 {
		t.Errorf("failed updates logged changes: %+v", cs)
	}
}

// IDs order by bytes (they are UUIDv7 strings in production). "0190-B" < "0190-a" in byte
// order but not under a case-insensitive collation, so a backend comparing with a locale fails.
func testListUsers(t *testing.T, s auth.Store) {
	ids := []string{"0190-1", "0190-2", "0190-B", "0190-a", "0190-b"}
	for _, i := range []int{3, 0, 4, 2, 1} { // insertion order must not matter
		mustCreateUser(t, s, newUser(ids[i]))
	}
	for _, tc := range []struct {
		name    string
		afterID string
		limit   int
		want    []string
	}{
		{"first page", "", 2, ids[:2]},
		{"next page", ids[1], 2, ids[2:4]},
		{"last page", ids[3], 2, ids[4:]},
		{"past the end", ids[4], 2, nil},
		{"all", "", 100, ids},
		{"after unknown id", "0190-3", 100, ids[2:]},
		{"zero limit", "", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListUsers(ctxOf(t), tc.afterID, tc.limit)
			must(t, err)
			var gotIDs []string
			for _, u := range got {
				gotIDs = append(gotIDs, u.ID)
			}
			if !slices.Equal(gotIDs, tc.want) {
				t.Errorf("ListUsers(%q, %d) = %q, want %q", tc.afterID, tc.limit, gotIDs, tc.want)
			}
		})
	}
	got, err := s.ListUsers(ctxOf(t), "", 1)
	must(t, err)
	if len(got) == 1 {
		checkUser(t, got[0], newUser(ids[0])) // full records, not just ids
	}
}

func testRolesRoundTrip(t *testing.T, s auth.Store) {
	for i, tc := range []struct {
		name  string
		roles []auth.Role
	}{
		{"none", nil},
		{"user", []auth.Role{auth.RoleUser}},
		{"user admin", []auth.Role{auth.RoleUser, auth.RoleAdmin}},
		{"admin user", []auth.Role{auth.RoleAdmin, auth.RoleUser}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxOf(t)
			created := newUser("roles-" + string(rune('a'+i)))
			created.Roles = tc.roles
			mustCreateUser(t, s, created)
			checkStoredUser(t, s, created)

			// Set the reverse order, so the store must preserve order, not sort.
			next := slices.Clone(tc.roles)
			slices.Reverse(next)
			want := created
			want.Roles, want.UpdatedAt = next, at(time.Hour)
			got, err := s.SetUserRoles(ctx, created.ID, next, want.UpdatedAt)
			must(t, err)
			checkUser(t, got, want)
			checkStoredUser(t, s, want)
		})
	}
}

// Every status change bumps the stamp, also one that sets the status the user already has.
func testSetUserDisabled(t *testing.T, s auth.Store) {
	want := mustCreateUser(t, s, newUser("u1"))
	for i, disabled := range []bool{true, true, false} {
		want.Disabled, want.UpdatedAt, want.SecurityStamp = disabled, at(time.Duration(i+1)*time.Minute), int64(i+1)
		got, _ := setDisabled(t, s, want.ID, disabled, want.UpdatedAt)
		checkUser(t, got, want)
		checkStoredUser(t, s, want)
	}
}

func testSetPasswordHash(t *testing.T, s auth.Store) {
	ctx := ctxOf(t)
	want := mustCreateUser(t, s, newUser("u1"))
	mustCreateUser(t, s, newUser("u2"))
	want.PasswordHash, want.UpdatedAt, want.SecurityStamp = "$2a$10$new-hash", at(time.Minute), 1
	got, _, err := s.ChangeUserSecurity(ctx, want.ID, auth.SecurityChange{PasswordHash: want.PasswordHash}, want.UpdatedAt)
	must(t, err)
	checkUser(t, got, want)
	got, err = s.UserByEmail(ctx, want.Email)
	must(t, err)
	checkUser(t, got, want)
	other, err := s.UserByID(ctx, "u2")
	must(t, err)
	checkUser(t, other, newUser("u2")) // only the one user changed
}
