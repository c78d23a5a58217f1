package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

type tokenBody struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
}

func decodeToken(t testing.TB, r httpResult) tokenBody {
	t.Helper()
	var b tokenBody
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("status %d, body not JSON: %s", r.status, r.body)
	}
	return b
}

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// postFormWith posts a form to u with header.
func postFormWith(t testing.TB, u string, header http.Header, form url.Values) httpResult {
	t.Helper()
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return doRequest(t, http.MethodPost, u, h, []byte(form.Encode()), false)
}

// TestClientCredentials: a client registered on the command line gets tokens by
// client_credentials (HTTP Basic and client_secret_post, and through golang.org/x/oauth2's
// clientcredentials package), with sub = client_id, its scopes, no sid, roles or refresh token;
// our own @auth fields refuse them (USER_REQUIRED); `clients list` shows it without secrets;
// after `clients revoke` its credentials and its tokens are refused at once.
func TestClientCredentials(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	c := s.CreateClient(t, "billing service", "read:users", "feed")

	code, out, _ := runCLI(t, s.Env, "clients", "list")
	if code != 0 || !strings.Contains(out, c.ID) || !strings.Contains(out, "billing service") ||
		!strings.Contains(out, "feed read:users") || strings.Contains(out, c.Secret) || strings.Contains(out, "cs_") {
		t.Fatalf("clients list (exit %d):\n%s", code, out)
	}

	basic := postFormWith(t, s.URL+"/token", headerOf("Authorization", basicAuth(c.ID, c.Secret)), url.Values{"grant_type": {"client_credentials"}})
	tb := decodeToken(t, basic)
	if basic.status != 200 || tb.TokenType != "Bearer" || tb.RefreshToken != "" || tb.Scope != "feed read:users" ||
		basic.header.Get("Cache-Control") != "no-store" || tb.ExpiresIn <= 0 {
		t.Fatalf("basic: %d %s", basic.status, basic.body)
	}
	claims := jwtClaims(t, tb.AccessToken)
	if claims["sub"] != c.ID || claims["client_id"] != c.ID || claims["scope"] != "feed read:users" {
		t.Fatalf("claims %v", claims)
	}
	for _, k := range []string{"sid", "roles", "amr", "auth_time"} {
		if _, ok := claims[k]; ok {
			t.Errorf("client token has %s: %v", k, claims)
		}
	}

	post := postFormWith(t, s.URL+"/token", nil, url.Values{"grant_type": {"client_credentials"},
		"client_id": {c.ID}, "client_secret": {c.Secret}, "scope": {"feed"}})
	if pb := decodeToken(t, post); post.status != 200 || pb.Scope != "feed" || jwtClaims(t, pb.AccessToken)["scope"] != "feed" {
		t.Fatalf("post: %d %s", post.status, post.body)
	}

	// The real third-party client: golang.org/x/oauth2's clientcredentials, both auth styles.
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams, oauth2.AuthStyleAutoDetect} {
		cfg := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.URL + "/token",
			Scopes: []string{"read:users"}, AuthStyle: style}
		tok, err := cfg.Token(t.Context())
		if err != nil {
			t.Fatalf("clientcredentials (style %d): %v", style, err)
		}
		if tok.TokenType != "Bearer" || tok.RefreshToken != "" || tok.Extra("scope") != "read:users" || time.Until(tok.Expiry) <= 0 {
			t.Fatalf("clientcredentials token %+v", tok)
		}
		bad := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.URL + "/token",
			Scopes: []string{"admin"}, AuthStyle: style}
		_, err = bad.Token(t.Context())
		var re *oauth2.RetrieveError
		if !asRetrieveError(err, &re) || re.ErrorCode != "invalid_scope" {
			t.Fatalf("scope the client lacks (style %d): %v", style, err)
		}
	}

	// Our own fields are a user's.
	expectError(t, s.me(t, tb.AccessToken), "FORBIDDEN", "USER_REQUIRED")

	code, out, errOut := runCLI(t, s.Env, "clients", "revoke", "--id", c.ID)
	if code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("clients revoke: %d %s %s", code, out, errOut)
	}
	again := postFormWith(t, s.URL+"/token", headerOf("Authorization", basicAuth(c.ID, c.Secret)), url.Values{"grant_type": {"client_credentials"}})
	if again.status != 401 || decodeToken(t, again).Error != "invalid_client" || !strings.HasPrefix(again.header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("revoked client: %d %v %s", again.status, again.header, again.body)
	}
	deadline := time.Now().Add(time.Second)
	for {
		r := s.me(t, tb.AccessToken)
		if r.code() == "UNAUTHENTICATED" && r.reason() == "TOKEN_REVOKED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked client's token after 1 s: %+v", r.Errors)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, out, _ := runCLI(t, s.Env, "clients", "revoke", "--id", c.ID); code != 0 || !strings.Contains(out, "already revoked") {
		t.Fatalf("second revoke: %d %s", code, out)
	}
	if code, _, errOut := runCLI(t, s.Env, "clients", "revoke", "--id", "cl_nope"); code != 1 || !strings.Contains(errOut, "no client") {
		t.Fatalf("unknown client: %d %s", code, errOut)
	}
}

func asRetrieveError(err error, re **oauth2.RetrieveError) bool {
	e, ok := err.(*oauth2.RetrieveError)
	if !ok {
		return false
	}
	*re = e
	return true
}

// TestTokenClientAuthentication: any /token request whose client authentication fails is 401
// invalid_client with WWW-Authenticate: Basic, whatever the grant (a password grant with
// unknown Basic credentials included); malformed headers, repeated or mixed methods, huge or
// missing parameters and unknown grants get RFC 6749 errors, never a 500.
func TestTokenClientAuthentication(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	c := s.CreateClient(t, "svc", "a")
	s.register(t, "cred@example.com")
	password := url.Values{"grant_type": {"password"}, "username": {"cred@example.com"}, "password": {testPassword}}
	cc := url.Values{"grant_type": {"client_credentials"}}
	with := func(v url.Values, kv ...string) url.Values {
		out := url.Values{}
		for k, vs := range v {
			out[k] = append([]string(nil), vs...)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	huge := strings.Repeat("x", 100_000)
	for _, tc := range []struct {
		name   string
		auth   []string // Authorization header values
		form   url.Values
		status int
		error  string
	}{
		{"password grant, no client", nil, password, 200, ""},
		{"password grant, right client", []string{basicAuth(c.ID, c.Secret)}, password, 200, ""},
		{"password grant, unknown Basic client", []string{basicAuth("cl_unknown", "whatever")}, password, 401, "invalid_client"},
		{"password grant, wrong secret", []string{basicAuth(c.ID, "cs_wrong")}, password, 401, "invalid_client"},
		{"password grant, wrong post secret", nil, with(password, "client_id", c.ID, "client_secret", "nope"), 401, "invalid_client"},
		{"password grant, public client_id only", nil, with(password, "client_id", "my-app"), 200, ""},
		{"refresh grant, unknown client", []string{basicAuth("someone", "x")}, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rt_x"}}, 401, "invalid_client"},
		{"client_credentials without client", nil, cc, 401, "invalid_client"},
		{"client_credentials, client_id only", nil, with(cc, "client_id", c.ID), 401, "invalid_client"},
		{"client_credentials, unknown scope", []string{basicAuth(c.ID, c.Secret)}, with(cc, "scope", "a b"), 400, "invalid_scope"},
		{"client_credentials, garbage scope", []string{basicAuth(c.ID, c.Secret)}, with(cc, "scope", "a\"\x01"), 400, "invalid_scope"},
		{"client_credentials, huge scope", []string{basicAuth(c.ID, c.Secret)}, with(cc, "scope", huge), 400, "invalid_scope"},
		{"client_credentials, repeated scope", []string{basicAuth(c.ID, c.Secret)}, with(cc, "scope", "a", "scope", "a"), 400, "invalid_request"},
		{"both methods", []string{basicAuth(c.ID, c.Secret)}, with(cc, "client_id", c.ID, "client_secret", c.Secret), 401, "invalid_client"},
		{"two client ids", []string{basicAuth(c.ID, c.Secret)}, with(cc, "client_id", "cl_other"), 401, "invalid_client"},
		{"repeated client_secret", nil, with(cc, "client_id", c.ID, "client_secret", c.Secret, "client_secret", c.Secret), 401, "invalid_client"},
		{"secret without id", nil, with(cc, "client_secret", c.Secret), 401, "invalid_client"},
		{"huge client_id", nil, with(cc, "client_id", huge, "client_secret", "x"), 401, "invalid_client"},
		{"huge Basic", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(huge[:3000]+":"+huge[:3000]))}, cc, 401, "invalid_client"},
		{"Basic not base64", []string{"Basic %%%"}, password, 401, "invalid_client"},
		{"Basic without colon", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(c.ID))}, cc, 401, "invalid_client"},
		{"Basic empty", []string{"Basic "}, cc, 401, "invalid_client"},
		{"Basic bare", []string{"Basic"}, cc, 401, "invalid_client"},
		{"Basic bad percent-encoding", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("%zz:%"))}, cc, 401, "invalid_client"},
		{"Basic empty id", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(":secret"))}, cc, 401, "invalid_client"},
		{"Basic lower-case scheme", []string{"basic " + base64.StdEncoding.EncodeToString([]byte(c.ID+":"+c.Secret))}, cc, 200, ""},
		{"two Authorization headers", []string{basicAuth(c.ID, c.Secret), basicAuth(c.ID, c.Secret)}, cc, 401, "invalid_client"},
		{"Bearer header is not client auth", []string{"Bearer abc"}, password, 200, ""},
		{"unknown grant", nil, url.Values{"grant_type": {"urn:example:nope"}}, 400, "unsupported_grant_type"},
		{"unknown grant, right client", []string{basicAuth(c.ID, c.Secret)}, url.Values{"grant_type": {"implicit"}}, 400, "unsupported_grant_type"},
		{"missing grant", nil, url.Values{}, 400, "invalid_request"},
		{"huge grant", nil, url.Values{"grant_type": {huge}}, 400, "unsupported_grant_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, a := range tc.auth {
				h.Add("Authorization", a)
			}
			r := postFormWith(t, s.URL+"/token", h, tc.form)
			b := decodeToken(t, r)
			if r.status != tc.status || b.Error != tc.error {
				t.Fatalf("status %d error %q, want %d %q: %s", r.status, b.Error, tc.status, tc.error, r.body)
			}
			if r.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
				t.Fatalf("401 without WWW-Authenticate: Basic: %v", r.header)
			}
		})
	}
}

// TestClientAuthenticationLimits: failed client authentications are limited like logins: after
// 20 failures for one client id, its attempts answer 429 without the secret being checked, the
// right secret included; other clients are unaffected.
func TestClientAuthenticationLimits(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	c := s.CreateClient(t, "victim")
	other := s.CreateClient(t, "other")
	cc := url.Values{"grant_type": {"client_credentials"}}
	for i := range 20 {
		r := postFormWith(t, s.URL+"/token", headerOf("Authorization", basicAuth(c.ID, "cs_guess")), cc)
		if r.status != 401 {
			t.Fatalf("failure %d: %d %s", i, r.status, r.body)
		}
	}
	r := postFormWith(t, s.URL+"/token", headerOf("Authorization", basicAuth(c.ID, c.Secret)), cc)
	if r.status != 429 || decodeToken(t, r).Error != "slow_down" || r.header.Get("Retry-After") == "" {
		t.Fatalf("after 20 failures: %d %s", r.status, r.body)
	}
	r = postFormWith(t, s.URL+"/token", headerOf("Authorization", basicAuth(other.ID, other.Secret)), cc)
	if r.status != 200 {
		t.Fatalf("another client: %d %s", r.status, r.body)
	}
}

// TestMetadataNamesClientEndpoints: RFC 8414 metadata names introspection, the grants and the
// client authentication methods.
func TestMetadataNamesClientEndpoints(t *testing.T) {
	t.Parallel()
	s := startServer(t, reachableIssuer(t, nil)) // the endpoints are the issuer's: here, the server's own address
	r := doRequest(t, http.MethodGet, s.URL+"/.well-known/oauth-authorization-server", nil, nil, false)
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if m["introspection_endpoint"] != s.URL+"/introspect" {
		t.Errorf("introspection_endpoint = %v", m["introspection_endpoint"])
	}
	has := func(k, v string) {
		for _, x := range m[k].([]any) {
			if x == v {
				return
			}
		}
		t.Errorf("%s = %v, missing %s", k, m[k], v)
	}
	has("grant_types_supported", "client_credentials")
	has("grant_types_supported", "refresh_token")
	has("token_endpoint_auth_methods_supported", "client_secret_basic")
	has("token_endpoint_auth_methods_supported", "client_secret_post")
	has("introspection_endpoint_auth_methods_supported", "client_secret_basic")
}

// TestRevokeClientAuthentication: /revoke takes no client authentication, but credentials that
// fail are refused (401 invalid_client), and a registered client may send its own.
func TestRevokeClientAuthentication(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	c := s.CreateClient(t, "svc")
	p := s.register(t, "revoke-client@example.com")
	bad := postFormWith(t, s.URL+"/revoke", headerOf("Authorization", basicAuth("cl_unknown", "x")), url.Values{"token": {p.RefreshToken}})
	if bad.status != 401 || decodeToken(t, bad).Error != "invalid_client" {
		t.Fatalf("unknown client: %d %s", bad.status, bad.body)
	}
	expectOK(t, s.me(t, p.AccessToken)) // nothing was revoked
	good := postFormWith(t, s.URL+"/revoke", headerOf("Authorization", basicAuth(c.ID, c.Secret)), url.Values{"token": {p.RefreshToken}})
	if good.status != 200 {
		t.Fatalf("registered client: %d %s", good.status, good.body)
	}
	expectError(t, s.me(t, p.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")
}
