package oauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/auth/limitertest"
	"github.com/example/gqlauth/internal/authtest"
	"github.com/example/gqlauth/oauth"
	"github.com/example/gqlauth/store/sqlite"
)

const testPassword = "correct horse battery staple"

// testServer is the OAuth handler on a real auth service over a real SQLite file, on
// 127.0.0.1:0, with the routes the program gives it.
type testServer struct {
	svc    *auth.Service
	store  *sqlite.Store
	tokens *auth.Tokens
	clock  *limitertest.Clock
	url    string
}

func newTestServer(t *testing.T, configure ...func(*oauth.Handler, *auth.Config)) *testServer {
	t.Helper()
	h := &oauth.Handler{Issuer: "http://issuer.test", PasswordGrant: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	env := authtest.New(t, func(c *auth.Config) {
		for _, configure := range configure {
			configure(h, c)
		}
	})
	h.Auth, h.Keys = env.Service, env.Keys
	if _, err := env.Service.Register(context.Background(), "ada@example.com", testPassword); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", h.Token)
	mux.HandleFunc("POST /revoke", h.Revoke)
	mux.HandleFunc("GET /.well-known/jwks.json", h.JWKS)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", h.Metadata)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &testServer{svc: env.Service, store: env.Store, tokens: env.Tokens, clock: env.Clock, url: srv.URL}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// form posts values to path as application/x-www-form-urlencoded.
func (s *testServer) form(t *testing.T, path string, values url.Values) response {
	t.Helper()
	return s.post(t, path, "application/x-www-form-urlencoded", values.Encode())
}

func (s *testServer) post(t *testing.T, path, contentType, body string) response {
	t.Helper()
	resp, err := http.Post(s.url+path, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

func (s *testServer) get(t *testing.T, path string) response {
	t.Helper()
	resp, err := http.Get(s.url + path)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

func read(t *testing.T, resp *http.Response) response {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// tokenResponse is RFC 6749 §5.1.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// wantGrant checks a successful token response (RFC 6749 §5.1: JSON, no-store) and returns it.
func wantGrant(t *testing.T, r response) tokenResponse {
	t.Helper()
	var g tokenResponse
	if r.status != http.StatusOK || json.Unmarshal(r.body, &g) != nil {
		t.Fatalf("token endpoint: %d %s", r.status, r.body)
	}
	if g.AccessToken == "" || g.TokenType != "Bearer" || g.ExpiresIn != 60 || g.RefreshToken == "" {
		t.Errorf("token response: %s", r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
		t.Errorf("Cache-Control %q, Pragma %q; want no-store, no-cache", r.header.Get("Cache-Control"), r.header.Get("Pragma"))
	}
	return g
}

// wantError checks an error response (RFC 6749 §5.2): the status, a JSON body whose error is
// code, a description, and no caching.
func wantError(t *testing.T, r response, status int, code string) {
	t.Helper()
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || r.status != status || e.Error != code || e.Description == "" {
		t.Errorf("want %d %s, got %d %s", status, code, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
}

func password(user, pass string) url.Values {
	return url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}}
}

func refresh(token string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
}

// TestPasswordGrant: the password grant signs in with the normalised email and returns an
// access token that verifies for the account.
func TestPasswordGrant(t *testing.T) {
	s := newTestServer(t)
	g := wantGrant(t, s.form(t, "/token", password(" ADA@example.com", testPassword)))
	claims, err := s.tokens.Verify(g.AccessToken)
	if err != nil {
		t.Fatalf("the access token does not verify: %v", err)
	}
	u, err := s.svc.UserByEmail(context.Background(), "ada@example.com")
	if err != nil || claims.Subject != u.ID {
		t.Errorf("sub %q, want %q (%v)", claims.Subject, u.ID, err)
	}
}

// TestTokenRequestErrors: each malformed or refused request gets the RFC 6749 §5.2 error it
// names, with status 400.
func TestTokenRequestErrors(t *testing.T) {
	s := newTestServer(t)
	for _, c := range []struct {
		name   string
		values url.Values
		code   string
	}{
		{"no grant_type", url.Values{"username": {"ada@example.com"}, "password": {testPassword}}, "invalid_request"},
		{"unknown grant", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, "unsupported_grant_type"},
		{"no password", url.Values{"grant_type": {"password"}, "username": {"ada@example.com"}}, "invalid_request"},
		{"no username", url.Values{"grant_type": {"password"}, "password": {testPassword}}, "invalid_request"},
		{"repeated parameter", url.Values{"grant_type": {"password"}, "username": {"ada@example.com", "bob@example.com"}, "password": {testPassword}}, "invalid_request"},
		{"repeated grant_type", url.Values{"grant_type": {"password", "refresh_token"}}, "invalid_request"},
		{"no refresh_token", url.Values{"grant_type": {"refresh_token"}}, "invalid_request"},
		{"bad refresh_token", refresh("not-a-refresh-token"), "invalid_grant"},
		{"wrong password", password("ada@example.com", "not the password"), "invalid_grant"},
		{"malformed username", password("not an email", testPassword), "invalid_grant"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, s.form(t, "/token", c.values), http.StatusBadRequest, c.code)
		})
	}
	t.Run("not a form", func(t *testing.T) {
		wantError(t, s.post(t, "/token", "application/json", `{"grant_type":"password"}`), http.StatusBadRequest, "invalid_request")
	})
	t.Run("no content type", func(t *testing.T) {
		wantError(t, s.post(t, "/token", "", "grant_type=password"), http.StatusBadRequest, "invalid_request")
	})
}

// TestUnknownUserAnswersLikeAWrongPassword: the token endpoint does not tell whether an account
// exists: an unknown user and a wrong password answer byte for byte the same.
func TestUnknownUserAnswersLikeAWrongPassword(t *testing.T) {
	s := newTestServer(t)
	wrong := s.form(t, "/token", password("ada@example.com", "not the password"))
	unknown := s.form(t, "/token", password("nobody@example.com", "not the password"))
	if wrong.status != unknown.status || !bytes.Equal(wrong.body, unknown.body) ||
		wrong.header.Get("Content-Type") != unknown.header.Get("Content-Type") {
		t.Errorf("wrong password: %d %s\nunknown user: %d %s", wrong.status, wrong.body, unknown.status, unknown.body)
	}
}

// TestPasswordGrantOff: with the password grant turned off it is an unsupported grant, and
// the metadata does not list it.
func TestPasswordGrantOff(t *testing.T) {
	s := newTestServer(t, func(h *oauth.Handler, _ *auth.Config) { h.PasswordGrant = false })
	wantError(t, s.form(t, "/token", password("ada@example.com", testPassword)), http.StatusBadRequest, "unsupported_grant_type")
	var md struct {
		Grants []string `json:"grant_types_supported"`
	}
	if r := s.get(t, "/.well-known/oauth-authorization-server"); json.Unmarshal(r.body, &md) != nil || strings.Join(md.Grants, " ") != "refresh_token client_credentials" {
		t.Errorf("metadata grants %v", md.Grants)
	}
}

// TestTokenRateLimited: once the account's failures are used up, the endpoint answers 429
// slow_down with Retry-After, for the right password too, without checking it.
func TestTokenRateLimited(t *testing.T) {
	s := newTestServer(t, func(_ *oauth.Handler, c *auth.Config) {
		c.Limiter = auth.NewMemoryLimiter(nil)
		c.LoginPerAccount = auth.Limit{N: 1, Window: time.Hour}
	})
	wantError(t, s.form(t, "/token", password("ada@example.com", "not the password")), http.StatusBadRequest, "invalid_grant")
	r := s.form(t, "/token", password("ada@example.com", testPassword))
	wantError(t, r, http.StatusTooManyRequests, "slow_down")
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
}

// TestTokenDisabledAccount: a disabled account's right password is invalid_grant, saying so.
func TestTokenDisabledAccount(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	u, err := s.svc.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	root, err := s.svc.CreateUser(ctx, "root@example.com", testPassword, []auth.Role{auth.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.SetUserDisabled(ctx, auth.Principal{User: root}, u.ID, true); err != nil {
		t.Fatal(err)
	}
	r := s.form(t, "/token", password("ada@example.com", testPassword))
	wantError(t, r, http.StatusBadRequest, "invalid_grant")
	if !strings.Contains(string(r.body), "disabled") {
		t.Errorf("body %s does not say the account is disabled", r.body)
	}
}

// TestRefreshGrant: the refresh grant rotates; the spent token presented again after the grace
// window is invalid_grant and ends the session, so its successor is refused too.
func TestRefreshGrant(t *testing.T) {
	s := newTestServer(t)
	first := wantGrant(t, s.form(t, "/token", password("ada@example.com", testPassword)))
	next := wantGrant(t, s.form(t, "/token", refresh(first.RefreshToken)))
	if next.RefreshToken == first.RefreshToken || next.AccessToken == first.AccessToken {
		t.Fatal("the refresh grant did not rotate")
	}
	s.clock.Add(11 * time.Second) // past the retry grace
	wantError(t, s.form(t, "/token", refresh(first.RefreshToken)), http.StatusBadRequest, "invalid_grant")
	wantError(t, s.form(t, "/token", refresh(next.RefreshToken)), http.StatusBadRequest, "invalid_grant")
}

// TestRevoke: RFC 7009. Revoking a refresh token ends its session; revoking it again, or an
// unknown token, answers 200 all the same (the endpoint reveals nothing); a request without a
// token, or for a token type it cannot revoke, is an error.
func TestRevoke(t *testing.T) {
	s := newTestServer(t)
	g := wantGrant(t, s.form(t, "/token", password("ada@example.com", testPassword)))
	r := s.form(t, "/revoke", url.Values{"token": {g.RefreshToken}, "token_type_hint": {"refresh_token"}})
	if r.status != http.StatusOK || len(r.body) != 0 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("revoke: %d %q %v", r.status, r.body, r.header)
	}
	wantError(t, s.form(t, "/token", refresh(g.RefreshToken)), http.StatusBadRequest, "invalid_grant")
	for _, tok := range []string{g.RefreshToken, "unknown-token", strings.Repeat("A", 43)} {
		if r := s.form(t, "/revoke", url.Values{"token": {tok}}); r.status != http.StatusOK {
			t.Errorf("revoke %q: %d %s", tok, r.status, r.body)
		}
	}
	wantError(t, s.form(t, "/revoke", url.Values{}), http.StatusBadRequest, "invalid_request")
	wantError(t, s.form(t, "/revoke", url.Values{"token": {"x"}, "token_type_hint": {"id_token"}}), http.StatusBadRequest, "unsupported_token_type")
	wantError(t, s.post(t, "/revoke", "text/plain", "token=x"), http.StatusBadRequest, "invalid_request")
}

// TestMetadata: RFC 8414 metadata names the issuer, the endpoints under it, the grants and the
// signing algorithm; the JWKS is served as JSON (empty under HS256: a shared secret is never
// published).
func TestMetadata(t *testing.T) {
	s := newTestServer(t)
	r := s.get(t, "/.well-known/oauth-authorization-server")
	var md map[string]any
	if r.status != http.StatusOK || json.Unmarshal(r.body, &md) != nil {
		t.Fatalf("metadata: %d %s", r.status, r.body)
	}
	for k, want := range map[string]string{
		"issuer":              "http://issuer.test",
		"token_endpoint":      "http://issuer.test/token",
		"jwks_uri":            "http://issuer.test/.well-known/jwks.json",
		"revocation_endpoint": "http://issuer.test/revoke",
	} {
		if md[k] != want {
			t.Errorf("%s = %v, want %s", k, md[k], want)
		}
	}
	if g, _ := json.Marshal(md["grant_types_supported"]); string(g) != `["password","refresh_token","client_credentials","urn:gqlauth:params:oauth:grant-type:mfa-otp"]` {
		t.Errorf("grant_types_supported %s", g)
	}
	if a, _ := json.Marshal(md["token_endpoint_auth_signing_alg_values_supported"]); string(a) != `["HS256"]` {
		t.Errorf("signing algorithms %s", a)
	}

	j := s.get(t, "/.well-known/jwks.json")
	if j.status != http.StatusOK || j.header.Get("Content-Type") != "application/json" || strings.TrimSpace(string(j.body)) != `{"keys":[]}` {
		t.Errorf("jwks: %d %q %s", j.status, j.header.Get("Content-Type"), j.body)
	}
}

// TestTokenServerError: a failure the endpoint does not know (the database is gone) is 500
// server_error, with nothing of its cause in the body.
func TestTokenServerError(t *testing.T) {
	s := newTestServer(t)
	if err := s.store.Close(); err != nil {
		t.Fatal(err)
	}
	r := s.form(t, "/token", password("ada@example.com", testPassword))
	wantError(t, r, http.StatusInternalServerError, "server_error")
	if strings.Contains(strings.ToLower(string(r.body)), "closed") || strings.Contains(string(r.body), "sql") {
		t.Errorf("the body tells the cause: %s", r.body)
	}
}
