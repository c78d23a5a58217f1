package e2e

import (
	"slices"
	"testing"
)

// TestOperationsHappyPath walks every Query and Mutation of the API once, as a client
// would: register, login, me, sessions, refresh, revokeSession, changePassword, logout,
// logoutAll, and the admin operations.
func TestOperationsHappyPath(t *testing.T) {
	s := startServer(t, nil)

	reg := s.register(t, "  Alice@Example.COM ")
	if reg.TokenType != "Bearer" || reg.ExpiresIn != 900 || reg.User.Email != "alice@example.com" ||
		!slices.Equal(reg.User.Roles, []string{"USER"}) || reg.User.Disabled {
		t.Fatalf("register payload: %+v", reg)
	}
	if len(reg.RefreshToken) < 43 || reg.AccessToken == "" {
		t.Fatalf("tokens look wrong: %+v", reg)
	}

	var me struct {
		ID, Email string
		Roles     []string
	}
	r := s.me(t, reg.AccessToken)
	r.decode(t, "me", &me)
	if me.ID != reg.User.ID || me.Email != "alice@example.com" {
		t.Fatalf("me: %+v", me)
	}

	// A second session from login; the email is matched case-insensitively.
	second, r := s.login(t, "ALICE@example.com", testPassword)
	expectOK(t, r)

	var sessions []struct {
		ID        string
		Current   bool
		IPAddress *string
		UserAgent *string
	}
	r = s.gql(t, second.AccessToken, `{ sessions { id current ipAddress userAgent createdAt lastUsedAt expiresAt } }`, nil)
	r.decode(t, "sessions", &sessions)
	if len(sessions) != 2 {
		t.Fatalf("want 2 sessions, got %+v", sessions)
	}
	currents := 0
	for _, se := range sessions {
		if se.Current {
			currents++
		}
		if se.IPAddress == nil || *se.IPAddress != "127.0.0.1" || se.UserAgent == nil || *se.UserAgent == "" {
			t.Fatalf("session metadata: %+v", se)
		}
	}
	if currents != 1 {
		t.Fatalf("exactly one session is current, got %d", currents)
	}

	// refresh rotates both tokens; the new access token works.
	rotated, r := s.refresh(t, second.RefreshToken)
	expectOK(t, r)
	if rotated.RefreshToken == second.RefreshToken {
		t.Fatal("refresh did not rotate the refresh token")
	}
	expectOK(t, s.me(t, rotated.AccessToken))

	// revokeSession ends the first session: its access token is refused at once.
	var firstSID string
	for _, se := range sessions {
		if !se.Current {
			firstSID = se.ID
		}
	}
	r = s.gql(t, rotated.AccessToken, `mutation($id:ID!){ revokeSession(id:$id) }`, map[string]any{"id": firstSID})
	expectOK(t, r)
	if string(r.Data["revokeSession"]) != "true" {
		t.Fatalf("revokeSession: %s", r.Data["revokeSession"])
	}
	expectError(t, s.me(t, reg.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")

	// changePassword keeps this session (new tokens), ends the others, and the new password logs in.
	third, _ := s.login(t, "alice@example.com", testPassword)
	r = s.gql(t, rotated.AccessToken, `mutation($c:String!,$n:String!){ changePassword(input:{currentPassword:$c,newPassword:$n}) { `+payloadFields+` } }`,
		map[string]any{"c": testPassword, "n": "a brand new passphrase"})
	var changed payload
	r.decode(t, "changePassword", &changed)
	expectOK(t, s.me(t, changed.AccessToken))
	expectOK(t, s.me(t, rotated.AccessToken))
	expectError(t, s.me(t, third.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")
	if _, r := s.refresh(t, changed.RefreshToken); len(r.Errors) > 0 {
		t.Fatalf("refresh after changePassword: %+v", r.Errors)
	}
	_, r = s.login(t, "alice@example.com", testPassword)
	expectError(t, r, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
	fourth, r := s.login(t, "alice@example.com", "a brand new passphrase")
	expectOK(t, r)

	// logout with a refresh token ends that session; logout with only the bearer ends its own.
	r = s.gql(t, "", `mutation($t:String){ logout(refreshToken:$t) }`, map[string]any{"t": fourth.RefreshToken})
	expectOK(t, r)
	expectError(t, s.me(t, fourth.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")
	fifth, _ := s.login(t, "alice@example.com", "a brand new passphrase")
	r = s.gql(t, fifth.AccessToken, `mutation{ logout }`, nil)
	expectOK(t, r)
	expectError(t, s.me(t, fifth.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")

	// logoutAll ends every session of the caller.
	a, _ := s.login(t, "alice@example.com", "a brand new passphrase")
	b, _ := s.login(t, "alice@example.com", "a brand new passphrase")
	expectOK(t, s.gql(t, a.AccessToken, `mutation{ logoutAll }`, nil))
	expectError(t, s.me(t, a.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")
	expectError(t, s.me(t, b.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")
	_, r = s.refresh(t, b.RefreshToken)
	expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID")
}

// TestAdminOperations covers users (Relay pagination), setUserRoles and setUserDisabled, and
// that role and status changes apply at once to tokens already issued.
func TestAdminOperations(t *testing.T) {
	s := startServer(t, nil)
	s.CreateUser(t, "root@example.com", "ADMIN", "admin passphrase 1")
	admin, r := s.login(t, "root@example.com", "admin passphrase 1")
	expectOK(t, r)
	if !slices.Contains(admin.User.Roles, "ADMIN") {
		t.Fatalf("admin roles: %v", admin.User.Roles)
	}
	var emails []string
	for i := range 5 {
		e := "user" + string(rune('a'+i)) + "@example.com"
		s.register(t, e)
		emails = append(emails, e)
	}
	user, _ := s.login(t, "usera@example.com", testPassword)

	// users: two pages of 3 cover all 6 accounts, oldest first, with consistent page info.
	type conn struct {
		Edges []struct {
			Cursor string
			Node   struct{ ID, Email string }
		}
		PageInfo struct {
			HasNextPage, HasPreviousPage bool
			StartCursor, EndCursor       *string
		}
	}
	const q = `query($f:Int,$a:String){ users(first:$f, after:$a) { edges { cursor node { id email } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`
	var p1, p2 conn
	s.gql(t, admin.AccessToken, q, map[string]any{"f": 3}).decode(t, "users", &p1)
	if len(p1.Edges) != 3 || !p1.PageInfo.HasNextPage || p1.PageInfo.HasPreviousPage || p1.Edges[0].Node.Email != "root@example.com" {
		t.Fatalf("page 1: %+v", p1)
	}
	s.gql(t, admin.AccessToken, q, map[string]any{"f": 3, "a": *p1.PageInfo.EndCursor}).decode(t, "users", &p2)
	if len(p2.Edges) != 3 || p2.PageInfo.HasNextPage || !p2.PageInfo.HasPreviousPage || p2.Edges[2].Node.Email != emails[4] {
		t.Fatalf("page 2: %+v", p2)
	}
	expectError(t, s.gql(t, admin.AccessToken, q, map[string]any{"f": 3, "a": "not-a-cursor"}), "BAD_USER_INPUT", "")
	expectError(t, s.gql(t, admin.AccessToken, q, map[string]any{"f": -1}), "BAD_USER_INPUT", "")
	expectError(t, s.gql(t, user.AccessToken, q, nil), "FORBIDDEN", "")
	if got := s.gql(t, user.AccessToken, q, nil).ext("requires"); got != "ADMIN" {
		t.Fatalf("requires = %q", got)
	}

	// setUserRoles: promotion applies at once to the token already issued; no session ends.
	const setRoles = `mutation($id:ID!,$r:[Role!]!){ setUserRoles(userId:$id, roles:$r) { id roles } }`
	expectOK(t, s.gql(t, admin.AccessToken, setRoles, map[string]any{"id": user.User.ID, "r": []string{"USER", "ADMIN"}}))
	expectOK(t, s.gql(t, user.AccessToken, q, nil))
	// The next refresh carries the new roles in the token's claim.
	refreshed, r := s.refresh(t, user.RefreshToken)
	expectOK(t, r)
	if !slices.Contains(refreshed.User.Roles, "ADMIN") || !slices.Contains(claimRoles(t, refreshed.AccessToken), "ADMIN") {
		t.Fatalf("refresh after promotion: %+v", refreshed.User.Roles)
	}
	// Demotion applies at once too.
	expectOK(t, s.gql(t, admin.AccessToken, setRoles, map[string]any{"id": user.User.ID, "r": []string{"USER"}}))
	expectError(t, s.gql(t, refreshed.AccessToken, q, nil), "FORBIDDEN", "")
	expectError(t, s.gql(t, admin.AccessToken, setRoles, map[string]any{"id": "no-such-user", "r": []string{"USER"}}), "BAD_USER_INPUT", "")
	expectError(t, s.gql(t, user.AccessToken, setRoles, map[string]any{"id": user.User.ID, "r": []string{"ADMIN"}}), "FORBIDDEN", "")

	// setUserDisabled: the user's tokens stop at once, login says ACCOUNT_DISABLED; re-enabling works.
	const setDisabled = `mutation($id:ID!,$d:Boolean!){ setUserDisabled(userId:$id, disabled:$d) { id disabled } }`
	r = s.gql(t, admin.AccessToken, setDisabled, map[string]any{"id": user.User.ID, "d": true})
	expectOK(t, r)
	r2 := s.me(t, refreshed.AccessToken)
	if r2.code() != "UNAUTHENTICATED" || (r2.reason() != "ACCOUNT_DISABLED" && r2.reason() != "TOKEN_REVOKED") {
		t.Fatalf("disabled user's token: %+v", r2.Errors)
	}
	_, r = s.login(t, "usera@example.com", testPassword)
	expectError(t, r, "UNAUTHENTICATED", "ACCOUNT_DISABLED")
	_, r = s.login(t, "usera@example.com", "wrong password here")
	expectError(t, r, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
	expectOK(t, s.gql(t, admin.AccessToken, setDisabled, map[string]any{"id": user.User.ID, "d": false}))
	_, r = s.login(t, "usera@example.com", testPassword)
	expectOK(t, r)
}
