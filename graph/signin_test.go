package graph

import (
	"slices"
	"testing"
	"time"
)

const (
	meQuery       = `{ me { id email roles } }`
	refreshQuery  = `mutation($t: String) { refresh(refreshToken: $t) { ` + payloadFields + ` } }`
	logoutQuery   = `mutation($t: String) { logout(refreshToken: $t) }`
	sessionsQuery = `{ sessions { id current } }`
)

type meResult struct {
	Me struct {
		ID    string   `json:"id"`
		Email string   `json:"email"`
		Roles []string `json:"roles"`
	} `json:"me"`
}

// TestRegisterAndLogin: register answers a complete AuthPayload for the normalised email, and
// its access token works on me; login starts a second session of the same user; sessions marks
// the asking one as current.
func TestRegisterAndLogin(t *testing.T) {
	a := newTestAPI(t)
	reg := a.register(t, "  Ada@Example.COM ")
	if reg.TokenType != "Bearer" || reg.ExpiresIn != int(testAccessTTL/time.Second) ||
		reg.AccessToken == "" || reg.RefreshToken == "" {
		t.Fatalf("register payload: %+v", reg)
	}
	if reg.User.Email != "ada@example.com" || !slices.Equal(reg.User.Roles, []string{"USER"}) || reg.User.ID == "" {
		t.Fatalf("register user: %+v", reg.User)
	}
	var me meResult
	a.query(t, reg.AccessToken, meQuery, nil, &me)
	if me.Me.ID != reg.User.ID || me.Me.Email != "ada@example.com" {
		t.Fatalf("me: %+v", me.Me)
	}

	in := a.login(t, "ADA@example.com")
	if in.User.ID != reg.User.ID || in.RefreshToken == reg.RefreshToken || in.AccessToken == reg.AccessToken {
		t.Fatalf("login: %+v, register: %+v", in, reg)
	}
	var s struct {
		Sessions []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"sessions"`
	}
	a.query(t, in.AccessToken, sessionsQuery, nil, &s)
	if len(s.Sessions) != 2 {
		t.Fatalf("sessions: %+v, want the register's and the login's", s.Sessions)
	}
	current := 0
	for _, x := range s.Sessions {
		if x.Current {
			current++
		}
	}
	if current != 1 {
		t.Errorf("sessions: %+v, want exactly one current", s.Sessions)
	}
}

// TestRefreshRotates: refresh answers a new pair for the same user; the old refresh token is
// spent, and presenting it after the grace window ends the session, so even the newest tokens
// of that session are refused from then on.
func TestRefreshRotates(t *testing.T) {
	a := newTestAPI(t)
	first := a.register(t, "ada@example.com")

	var out struct{ Refresh payload }
	a.query(t, "", refreshQuery, map[string]any{"t": first.RefreshToken}, &out)
	next := out.Refresh
	if next.RefreshToken == first.RefreshToken || next.AccessToken == "" || next.User.ID != first.User.ID {
		t.Fatalf("refresh: %+v after %+v", next, first)
	}
	a.query(t, next.AccessToken, meQuery, nil, nil)

	a.clock.Add(11 * time.Second) // past the 10 s retry grace
	e := a.refusal(t, "", refreshQuery, map[string]any{"t": first.RefreshToken})
	wantError(t, e, CodeUnauthenticated, "reason", "REFRESH_TOKEN_REUSED")

	e = a.refusal(t, "", refreshQuery, map[string]any{"t": next.RefreshToken})
	wantError(t, e, CodeUnauthenticated, "reason", "REFRESH_TOKEN_INVALID")
	e = a.refusal(t, next.AccessToken, meQuery, nil)
	wantError(t, e, CodeUnauthenticated, "reason", "TOKEN_REVOKED")
}

// TestLogoutEndsTheSession: logout with a refresh token ends that session only: its access
// token is refused at once, the other session's keeps working.
func TestLogoutEndsTheSession(t *testing.T) {
	a := newTestAPI(t)
	one := a.register(t, "ada@example.com")
	two := a.login(t, "ada@example.com")

	var out struct{ Logout bool }
	a.query(t, "", logoutQuery, map[string]any{"t": one.RefreshToken}, &out)
	if !out.Logout {
		t.Fatal("logout of a live session answered false")
	}
	e := a.refusal(t, one.AccessToken, meQuery, nil)
	wantError(t, e, CodeUnauthenticated, "reason", "TOKEN_REVOKED")
	a.query(t, two.AccessToken, meQuery, nil, nil)

	// Again: nothing left to end.
	a.query(t, "", logoutQuery, map[string]any{"t": one.RefreshToken}, &out)
	if out.Logout {
		t.Error("a second logout of the same session answered true")
	}
}

// wantError checks an error's code and, when key is not "", one more extension.
func wantError(t *testing.T, e gqlError, code, key string, value any) {
	t.Helper()
	if e.Extensions["code"] != code {
		t.Errorf("%q: code %v, want %s (extensions %v)", e.Message, e.Extensions["code"], code, e.Extensions)
		return
	}
	if key != "" && e.Extensions[key] != value {
		t.Errorf("%q: %s = %v, want %v (extensions %v)", e.Message, key, e.Extensions[key], value, e.Extensions)
	}
}
