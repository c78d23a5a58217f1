package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/itest"
	"github.com/example/gqlauth/internal/servertest"
)

// introspect asks s about token as client c.
func (s *testServer) introspect(t testing.TB, c servertest.Client, token string) (map[string]any, []byte) {
	t.Helper()
	r := postFormWith(t, s.URL+"/introspect", headerOf("Authorization", basicAuth(c.ID, c.Secret)), url.Values{"token": {token}})
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("introspect: %d %v %s", r.status, r.header, r.body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("introspect body: %s", r.body)
	}
	return m, r.body
}

// expectInactive fails unless the answer is exactly {"active":false}.
func expectInactive(t testing.TB, what string, body []byte) {
	t.Helper()
	if string(bytes.TrimSpace(body)) != `{"active":false}` {
		t.Fatalf("%s: %s, want {\"active\":false} and nothing more", what, body)
	}
}

func expectActive(t testing.TB, what string, m map[string]any, want map[string]any) {
	t.Helper()
	if m["active"] != true {
		t.Fatalf("%s: %v, want active", what, m)
	}
	for k, v := range want {
		got, _ := json.Marshal(m[k])
		exp, _ := json.Marshal(v)
		if v == nil {
			if _, ok := m[k]; ok {
				t.Errorf("%s: has %s = %s", what, k, got)
			}
			continue
		}
		if !bytes.Equal(got, exp) {
			t.Errorf("%s: %s = %s, want %s", what, k, got, exp)
		}
	}
	for _, k := range []string{"iat", "exp", "iss", "aud", "sub", "token_type"} {
		if _, ok := m[k]; !ok && !(k == "exp" && m["token_type"] == "api_key") {
			t.Errorf("%s: no %s in %v", what, k, m)
		}
	}
}

// TestIntrospection: /introspect answers for access tokens, API keys, refresh tokens and client
// tokens with the members that apply, and {"active":false} alone for anything not active: after
// logout, rotation, key revocation, client revocation, a disabled account; bad requests get RFC
// errors.
func TestIntrospection(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	c := s.CreateClient(t, "resource server", "read")
	p := s.register(t, "intro@example.com")
	iss := s.Env["JWT_ISSUER"]

	m, _ := s.introspect(t, c, p.AccessToken)
	expectActive(t, "access token", m, map[string]any{
		"token_type": "access_token", "sub": p.User.ID, "username": "intro@example.com", "roles": []string{"USER"},
		"iss": iss, "aud": "graphql-api", "client_id": nil, "scope": nil,
	})
	if m["sid"] == nil || m["sid"] != jwtClaims(t, p.AccessToken)["sid"] || m["exp"] != jwtClaims(t, p.AccessToken)["exp"] {
		t.Fatalf("access token: %v", m)
	}
	m, _ = s.introspect(t, c, p.RefreshToken)
	expectActive(t, "refresh token", m, map[string]any{"token_type": "refresh_token", "sub": p.User.ID, "username": "intro@example.com"})

	key, secret, r := s.createAPIKey(t, p.AccessToken, "intro", 30)
	expectOK(t, r)
	m, _ = s.introspect(t, c, secret)
	expectActive(t, "API key", m, map[string]any{"token_type": "api_key", "sub": p.User.ID, "username": "intro@example.com",
		"exp": float64(key.ExpiresAt.Unix()), "iat": float64(key.CreatedAt.Unix()), "sid": nil})
	_, forever, r := s.createAPIKey(t, p.AccessToken, "forever", nil)
	expectOK(t, r)
	m, _ = s.introspect(t, c, forever)
	expectActive(t, "API key without expiry", m, map[string]any{"token_type": "api_key", "exp": nil})

	cc := decodeToken(t, postFormWith(t, s.URL+"/token", headerOf("Authorization", basicAuth(c.ID, c.Secret)), url.Values{"grant_type": {"client_credentials"}}))
	m, _ = s.introspect(t, c, cc.AccessToken)
	expectActive(t, "client token", m, map[string]any{"token_type": "access_token", "sub": c.ID, "client_id": c.ID, "scope": "read",
		"sid": nil, "roles": nil, "username": nil})

	for _, garbage := range []string{"nonsense", "rt_" + strings.Repeat("A", 43), "gqa_" + strings.Repeat("A", 43), "gqa_x",
		"eyJhbGciOiJub25lIn0.e30.", strings.Repeat("x", 500_000), p.AccessToken + "x"} {
		_, body := s.introspect(t, c, garbage)
		expectInactive(t, "garbage "+garbage[:min(len(garbage), 20)], body)
	}

	// Rotation: the old refresh token is no longer active, the new one is.
	rotated := decodeToken(t, postFormWith(t, s.URL+"/token", nil, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p.RefreshToken}}))
	_, body := s.introspect(t, c, p.RefreshToken)
	expectInactive(t, "rotated refresh token", body)
	m, _ = s.introspect(t, c, rotated.RefreshToken)
	expectActive(t, "new refresh token", m, map[string]any{"token_type": "refresh_token"})

	// Logout ends the session: its access and refresh tokens are inactive at once.
	expectOK(t, logout(t, s, rotated.RefreshToken))
	for what, tok := range map[string]string{"access token": p.AccessToken, "new access token": rotated.AccessToken, "refresh token": rotated.RefreshToken} {
		_, body := s.introspect(t, c, tok)
		expectInactive(t, what+" after logout", body)
	}

	// Key revocation.
	fresh, _ := s.login(t, "intro@example.com", testPassword)
	expectOK(t, s.revokeAPIKey(t, fresh.AccessToken, key.ID))
	_, body = s.introspect(t, c, secret)
	expectInactive(t, "revoked API key", body)

	// A disabled account: none of its tokens.
	if code, _, errOut := runCLI(t, s.Env, "user", "disable", "--email", "intro@example.com"); code != 0 {
		t.Fatal(errOut)
	}
	for what, tok := range map[string]string{"access token": fresh.AccessToken, "refresh token": fresh.RefreshToken, "API key": forever} {
		_, body := s.introspect(t, c, tok)
		expectInactive(t, what+" of a disabled user", body)
	}

	// Client revocation: its tokens are inactive at once; it may no longer introspect.
	other := s.CreateClient(t, "another")
	if code, _, errOut := runCLI(t, s.Env, "clients", "revoke", "--id", c.ID); code != 0 {
		t.Fatal(errOut)
	}
	_, body = s.introspect(t, other, cc.AccessToken)
	expectInactive(t, "a revoked client's token", body)
	r2 := postFormWith(t, s.URL+"/introspect", headerOf("Authorization", basicAuth(c.ID, c.Secret)), url.Values{"token": {cc.AccessToken}})
	if r2.status != 401 || decodeToken(t, r2).Error != "invalid_client" {
		t.Fatalf("a revoked client introspecting: %d %s", r2.status, r2.body)
	}
}

// TestIntrospectionRequests: bad requests to /introspect get RFC 6749 errors, never a 500.
func TestIntrospectionRequests(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	c := s.CreateClient(t, "rs")
	auth := headerOf("Authorization", basicAuth(c.ID, c.Secret))
	for _, tc := range []struct {
		name   string
		header http.Header
		ctype  string
		body   string
		status int
		error  string
	}{
		{"no client authentication", nil, "application/x-www-form-urlencoded", "token=x", 401, "invalid_client"},
		{"wrong secret", headerOf("Authorization", basicAuth(c.ID, "cs_no")), "application/x-www-form-urlencoded", "token=x", 401, "invalid_client"},
		{"client_secret_post", nil, "application/x-www-form-urlencoded", "token=x&client_id=" + c.ID + "&client_secret=" + c.Secret, 200, ""},
		{"malformed Basic", headerOf("Authorization", "Basic !!"), "application/x-www-form-urlencoded", "token=x", 401, "invalid_client"},
		{"no token", auth, "application/x-www-form-urlencoded", "", 400, "invalid_request"},
		{"empty token", auth, "application/x-www-form-urlencoded", "token=", 400, "invalid_request"},
		{"repeated token", auth, "application/x-www-form-urlencoded", "token=a&token=b", 400, "invalid_request"},
		{"unknown hint", auth, "application/x-www-form-urlencoded", "token=a&token_type_hint=whatever", 200, ""},
		{"JSON body", auth, "application/json", `{"token":"x"}`, 400, "invalid_request"},
		{"bad form", auth, "application/x-www-form-urlencoded", "token=%zz", 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header.Clone()
			if h == nil {
				h = http.Header{}
			}
			h.Set("Content-Type", tc.ctype)
			r := doRequest(t, http.MethodPost, s.URL+"/introspect", h, []byte(tc.body), false)
			b := decodeToken(t, r)
			if r.status != tc.status || b.Error != tc.error {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tc.status, tc.error)
			}
		})
	}
	if r := doRequest(t, http.MethodGet, s.URL+"/introspect", nil, nil, false); r.status != 405 {
		t.Fatalf("GET: %d %s", r.status, r.body)
	}
}

// TestIntrospectionExpiry: an access token is inactive once expired (with the verifier's
// leeway), without anything being revoked.
func TestIntrospectionExpiry(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"ACCESS_TOKEN_TTL": "1s"})
	c := s.CreateClient(t, "rs")
	p := s.register(t, "expiry@example.com")
	m, _ := s.introspect(t, c, p.AccessToken)
	if m["active"] != true {
		t.Fatalf("fresh: %v", m)
	}
	itest.Eventually(t, 10*time.Second, "the expired access token is inactive", func() bool {
		_, body := s.introspect(t, c, p.AccessToken)
		return string(bytes.TrimSpace(body)) == `{"active":false}`
	})
}

// TestIntrospectionAcrossInstances: a logout or key revocation on B makes A's introspection
// answer inactive at once (no wait: introspection asks the database), on PostgreSQL.
func TestIntrospectionAcrossInstances(t *testing.T) {
	t.Parallel()
	shared := sharedEnv(t, "")
	shared["RATE_LIMITS"] = "off"
	a, b := startPair(t, shared)
	c := a.CreateClient(t, "rs")
	p := a.register(t, "across-intro@example.com")
	_, secret, r := a.createAPIKey(t, p.AccessToken, "k", 1)
	expectOK(t, r)
	for _, tok := range []string{p.AccessToken, secret} {
		if m, _ := a.introspect(t, c, tok); m["active"] != true {
			t.Fatalf("before: %v", m)
		}
	}
	expectOK(t, logout(t, b, p.RefreshToken))
	_, body := a.introspect(t, c, p.AccessToken)
	expectInactive(t, "A, right after the logout on B", body)
	if code, _, errOut := runCLI(t, shared, "apikeys", "revoke", "--user", "across-intro@example.com"); code != 0 {
		t.Fatal(errOut)
	}
	_, body = a.introspect(t, c, secret)
	expectInactive(t, "A, right after the command revoked the key", body)
}
