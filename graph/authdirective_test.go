package graph

import (
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

const (
	usersQuery       = `{ users { edges { node { id email } } } }`
	setRolesQuery    = `mutation($u: ID!, $r: [Role!]!) { setUserRoles(userId: $u, roles: $r) { roles } }`
	setDisabledQuery = `mutation($u: ID!, $d: Boolean!) { setUserDisabled(userId: $u, disabled: $d) { disabled } }`
)

// TestAuthDirectiveRefusals: @auth refuses by the caller's current state, not by what the
// token says: a missing role, a role taken away, an ended session and a disabled account are
// refused on the next request with the same token; an admin field works for an admin.
func TestAuthDirectiveRefusals(t *testing.T) {
	a := newTestAPI(t)
	root := a.admin(t, "root@example.com")
	ada := a.register(t, "ada@example.com")

	t.Run("admin field, user token", func(t *testing.T) {
		wantError(t, a.refusal(t, ada.AccessToken, usersQuery, nil), CodeForbidden, "requires", "ADMIN")
	})
	t.Run("admin field, admin token", func(t *testing.T) {
		a.query(t, root.AccessToken, usersQuery, nil, nil)
	})
	t.Run("a role taken away applies at once", func(t *testing.T) {
		other := a.admin(t, "other-admin@example.com")
		a.query(t, other.AccessToken, usersQuery, nil, nil)
		a.query(t, root.AccessToken, setRolesQuery, map[string]any{"u": other.User.ID, "r": []string{"USER"}}, nil)
		wantError(t, a.refusal(t, other.AccessToken, usersQuery, nil), CodeForbidden, "requires", "ADMIN")
		a.query(t, other.AccessToken, meQuery, nil, nil) // still a user
	})
	t.Run("disabled account", func(t *testing.T) {
		bob := a.register(t, "bob@example.com")
		a.query(t, root.AccessToken, setDisabledQuery, map[string]any{"u": bob.User.ID, "d": true}, nil)
		// Disabling ends the sessions too; the account's state is what is reported.
		wantError(t, a.refusal(t, bob.AccessToken, meQuery, nil), CodeUnauthenticated, "reason", "ACCOUNT_DISABLED")
	})
	t.Run("ended session", func(t *testing.T) {
		carol := a.register(t, "carol@example.com")
		a.query(t, carol.AccessToken, `mutation { logoutAll }`, nil, nil)
		wantError(t, a.refusal(t, carol.AccessToken, meQuery, nil), CodeUnauthenticated, "reason", "TOKEN_REVOKED")
	})
	t.Run("expired token", func(t *testing.T) {
		a.clock.Add(testAccessTTL + auth.MaxLeeway + time.Second)
		wantError(t, a.refusal(t, ada.AccessToken, meQuery, nil), CodeUnauthenticated, "reason", "TOKEN_EXPIRED")
	})
}

// TestPublicFieldsIgnoreTheToken: a field without @auth does not look at the caller's token,
// so a stale or broken one left in a client cannot stop it from signing in again.
func TestPublicFieldsIgnoreTheToken(t *testing.T) {
	a := newTestAPI(t)
	a.register(t, "ada@example.com")
	for _, token := range []string{"garbage", "a.b.c"} {
		res := a.post(t, gqlRequest{Query: loginQuery, Variables: map[string]any{"e": "ada@example.com", "p": testPassword}, Token: token})
		if res.Status != 200 || len(res.Errors) != 0 {
			t.Errorf("login with Authorization %q: HTTP %d %s", token, res.Status, res.Body)
		}
	}
}

// TestAuthDirectiveMFARequired: under AdminMFA an admin whose session was signed in with a
// password alone is refused admin fields with MFA_REQUIRED, and keeps the user's fields.
func TestAuthDirectiveMFARequired(t *testing.T) {
	a := newTestAPI(t, func(c *apiConfig) { c.auth.AdminMFA = true })
	root := a.admin(t, "root@example.com")
	wantError(t, a.refusal(t, root.AccessToken, usersQuery, nil), CodeForbidden, "reason", auth.ReasonMFARequired)
	a.query(t, root.AccessToken, meQuery, nil, nil)
}
