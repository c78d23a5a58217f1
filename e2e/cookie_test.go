package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// cookieOf returns the refresh cookie a response sets (nil when none) and its raw header.
func cookieOf(t *testing.T, r gqlResponse) (*http.Cookie, string) {
	t.Helper()
	return setCookie(t, r, refreshCookieName)
}

// withCookie is a request header carrying the refresh cookie and, when preflight is set, the
// header that proves a CORS preflight.
func withCookie(value, preflight string) http.Header {
	h := http.Header{}
	if value != "" {
		h.Set("Cookie", (&http.Cookie{Name: refreshCookieName, Value: value}).String())
	}
	if preflight != "" {
		h.Set(preflight, "1")
	}
	return h
}

// The cookies of REFRESH_COOKIE=on, by their documented names.
const (
	refreshCookieName = "refresh_token"
	deviceCookieName  = "device_token"
)

// checkRefreshCookie fails unless c is the refresh cookie for token with the documented
// attributes: HttpOnly, Secure, SameSite=Strict, Path=/query, lifetime REFRESH_TOKEN_TTL.
func checkRefreshCookie(t *testing.T, c *http.Cookie, raw, token string) {
	t.Helper()
	if c == nil {
		t.Fatal("no refresh cookie set")
	}
	if c.Value != token {
		t.Errorf("cookie value %q, want the refresh token %q", c.Value, token)
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/query" {
		t.Errorf("cookie attributes: %q", raw)
	}
	if c.MaxAge != int((48 * time.Hour).Seconds()) {
		t.Errorf("cookie Max-Age %d, want REFRESH_TOKEN_TTL (48h)", c.MaxAge)
	}
	if c.Domain != "" {
		t.Errorf("cookie has a Domain (%q): it must stay host-only", c.Domain)
	}
}

func checkCleared(t *testing.T, r gqlResponse) {
	t.Helper()
	c, raw := cookieOf(t, r)
	if c == nil {
		t.Fatal("the refresh cookie was not cleared")
	}
	if c.Value != "" || c.MaxAge >= 0 || c.Path != "/query" || !c.Secure || !c.HttpOnly {
		t.Errorf("clearing cookie: %q", raw)
	}
}

// TestRefreshCookie: with REFRESH_COOKIE=true, every operation that issues a refresh token also
// sets it as an HttpOnly, Secure, SameSite=Strict cookie for /query; refresh and logout with a
// null token use the cookie, but only from a request with a preflight-forcing header (CSRF);
// logout and logoutAll clear it.
func TestRefreshCookie(t *testing.T) {
	s := startServer(t, map[string]string{"REFRESH_COOKIE": "true", "REFRESH_TOKEN_TTL": "48h", "REFRESH_REUSE_GRACE": "1ms"})
	const email = "cookie@example.com"

	r := s.gqlWithHeader(t, http.Header{}, registerMutation, map[string]any{"e": email, "p": testPassword})
	var reg payload
	r.decode(t, "register", &reg)
	c, raw := cookieOf(t, r)
	checkRefreshCookie(t, c, raw, reg.RefreshToken)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("a response setting the cookie has Cache-Control %q, want no-store", cc)
	}

	r = s.gqlWithHeader(t, http.Header{}, loginMutation, map[string]any{"e": email, "p": testPassword})
	var login payload
	r.decode(t, "login", &login)
	c, raw = cookieOf(t, r)
	checkRefreshCookie(t, c, raw, login.RefreshToken)
	cookie := c.Value

	t.Run("refresh with a null token uses the cookie and rotates it", func(t *testing.T) {
		r := s.gqlWithHeader(t, withCookie(cookie, "X-Requested-With"), refreshMutation, map[string]any{"t": nil})
		var p payload
		r.decode(t, "refresh", &p)
		c, raw := cookieOf(t, r)
		checkRefreshCookie(t, c, raw, p.RefreshToken)
		if p.RefreshToken == cookie {
			t.Fatal("the refresh token was not rotated")
		}
		if p.User.Email != email {
			t.Errorf("refreshed %q", p.User.Email)
		}
		expectOK(t, s.me(t, p.AccessToken))
		cookie = c.Value

		// Apollo Client's csrfPrevention header counts too.
		r = s.gqlWithHeader(t, withCookie(cookie, "Apollo-Require-Preflight"), refreshMutation, map[string]any{"t": nil})
		r.decode(t, "refresh", &p)
		c, raw = cookieOf(t, r)
		checkRefreshCookie(t, c, raw, p.RefreshToken)
		cookie = c.Value
	})

	t.Run("a cookie-only refresh without a preflight header is refused", func(t *testing.T) {
		r := s.gqlWithHeader(t, withCookie(cookie, ""), refreshMutation, map[string]any{"t": nil})
		expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID")
		if !strings.Contains(r.Errors[0].Message, "X-Requested-With") {
			t.Errorf("the error does not say what is missing: %q", r.Errors[0].Message)
		}
		if c, _ := cookieOf(t, r); c != nil {
			t.Errorf("a refused refresh set a cookie")
		}
		// Refused before use: the cookie still works from a proper request.
		r = s.gqlWithHeader(t, withCookie(cookie, "X-Requested-With"), refreshMutation, map[string]any{"t": nil})
		var p payload
		r.decode(t, "refresh", &p)
		c, _ := cookieOf(t, r)
		cookie = c.Value
	})

	t.Run("an explicit refresh token wins over the cookie and also sets it", func(t *testing.T) {
		other, _ := s.login(t, email, testPassword)
		r := s.gqlWithHeader(t, withCookie("rt_garbage", ""), refreshMutation, map[string]any{"t": other.RefreshToken})
		var p payload
		r.decode(t, "refresh", &p)
		c, raw := cookieOf(t, r)
		checkRefreshCookie(t, c, raw, p.RefreshToken)
	})

	t.Run("a rotated cookie is refused as reused", func(t *testing.T) {
		p, _ := s.login(t, email, testPassword) // a session of its own: reuse ends it
		r := s.gqlWithHeader(t, withCookie(p.RefreshToken, "X-Requested-With"), refreshMutation, map[string]any{"t": nil})
		var rotated payload
		r.decode(t, "refresh", &rotated)
		time.Sleep(10 * time.Millisecond) // past REFRESH_REUSE_GRACE
		r = s.gqlWithHeader(t, withCookie(p.RefreshToken, "X-Requested-With"), refreshMutation, map[string]any{"t": nil})
		expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_REUSED")
		expectError(t, s.me(t, rotated.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")
	})

	t.Run("logout with a null token ends the cookie's session and clears it", func(t *testing.T) {
		r := s.gqlWithHeader(t, withCookie(cookie, "X-Requested-With"), refreshMutation, map[string]any{"t": nil})
		var p payload
		r.decode(t, "refresh", &p)
		c, _ := cookieOf(t, r)
		cookie = c.Value

		r = s.gqlWithHeader(t, withCookie(cookie, "X-Requested-With"), logoutMutation, map[string]any{"t": nil})
		expectOK(t, r)
		if string(r.Data["logout"]) != "true" {
			t.Fatalf("logout = %s", r.Data["logout"])
		}
		checkCleared(t, r)
		expectError(t, s.me(t, p.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")
		r = s.gqlWithHeader(t, withCookie(cookie, "X-Requested-With"), refreshMutation, map[string]any{"t": nil})
		expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID")
	})

	t.Run("logout without a preflight header ignores the cookie", func(t *testing.T) {
		p, _ := s.login(t, email, testPassword)
		// No bearer token, cookie not read: nothing to log out.
		r := s.gqlWithHeader(t, withCookie(p.RefreshToken, ""), logoutMutation, map[string]any{"t": nil})
		expectError(t, r, "UNAUTHENTICATED", "TOKEN_MISSING")
		expectOK(t, s.me(t, p.AccessToken))
	})

	t.Run("logoutAll and changePassword", func(t *testing.T) {
		p, _ := s.login(t, email, testPassword)
		h := withCookie(p.RefreshToken, "X-Requested-With")
		h.Set("Authorization", "Bearer "+p.AccessToken)
		newPassword := "another correct horse staple"
		r := s.gqlWithHeader(t, h, `mutation($c:String!,$n:String!){ changePassword(input:{currentPassword:$c,newPassword:$n}) { `+payloadFields+` } }`,
			map[string]any{"c": testPassword, "n": newPassword})
		var changed payload
		r.decode(t, "changePassword", &changed)
		c, raw := cookieOf(t, r)
		checkRefreshCookie(t, c, raw, changed.RefreshToken)

		h = withCookie(changed.RefreshToken, "X-Requested-With")
		h.Set("Authorization", "Bearer "+changed.AccessToken)
		r = s.gqlWithHeader(t, h, `mutation { logoutAll }`, nil)
		expectOK(t, r)
		checkCleared(t, r)
	})

	t.Run("a failed login sets no cookie", func(t *testing.T) {
		r := s.gqlWithHeader(t, http.Header{}, loginMutation, map[string]any{"e": email, "p": "wrong password!!"})
		expectError(t, r, "UNAUTHENTICATED", "")
		if c, _ := cookieOf(t, r); c != nil {
			t.Errorf("failed login set a cookie")
		}
	})
}

// TestRefreshCookieOff: by default no operation sets a cookie, and a refresh_token cookie is
// never read.
func TestRefreshCookieOff(t *testing.T) {
	s := startServer(t, nil)
	r := s.gqlWithHeader(t, http.Header{}, registerMutation, map[string]any{"e": "nocookie@example.com", "p": testPassword})
	var p payload
	r.decode(t, "register", &p)
	if v := r.Header.Values("Set-Cookie"); len(v) > 0 {
		t.Fatalf("Set-Cookie without REFRESH_COOKIE: %q", v)
	}
	r = s.gqlWithHeader(t, withCookie(p.RefreshToken, "X-Requested-With"), refreshMutation, map[string]any{"t": nil})
	expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID")
}

// TestCORS: only the origins in CORS_ALLOWED_ORIGINS get CORS headers (with credentials, never a
// wildcard); preflights name the headers our clients need; by default no origin is answered.
func TestCORS(t *testing.T) {
	const allowed, other = "https://app.example.com", "https://evil.example.net"
	s := startServer(t, map[string]string{"CORS_ALLOWED_ORIGINS": allowed + ", https://admin.example.com/"})
	plain := startServer(t, nil)

	do := func(t *testing.T, srv *testServer, method, origin string, h http.Header) *http.Response {
		t.Helper()
		var body *strings.Reader
		if method == http.MethodPost {
			body = strings.NewReader(`{"query":"{ __typename }"}`)
		} else {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequest(method, srv.URL+"/query", body)
		for k, v := range h {
			req.Header[k] = v
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	preflight := http.Header{
		"Access-Control-Request-Method":  {"POST"},
		"Access-Control-Request-Headers": {"content-type, authorization, x-requested-with"},
	}

	t.Run("allowed origin preflight", func(t *testing.T) {
		resp := do(t, s, http.MethodOptions, allowed, preflight)
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("status %d", resp.StatusCode)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != allowed {
			t.Errorf("Allow-Origin %q", got)
		}
		if resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("no Allow-Credentials")
		}
		allowHeaders := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
		for _, h := range []string{"authorization", "content-type", "x-requested-with", "apollo-require-preflight"} {
			if !strings.Contains(allowHeaders, h) {
				t.Errorf("Allow-Headers %q lacks %s", allowHeaders, h)
			}
		}
		if !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
			t.Errorf("Allow-Methods %q", resp.Header.Get("Access-Control-Allow-Methods"))
		}
	})

	t.Run("allowed origin request, trailing slash in the list ignored", func(t *testing.T) {
		for _, origin := range []string{allowed, "https://admin.example.com"} {
			resp := do(t, s, http.MethodPost, origin, nil)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != origin {
				t.Errorf("%s: status %d, Allow-Origin %q", origin, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
			}
			if !slices.Contains(resp.Header.Values("Vary"), "Origin") {
				t.Errorf("no Vary: Origin")
			}
		}
	})

	for _, tc := range []struct {
		name   string
		srv    *testServer
		origin string
	}{
		{"other origin", s, other},
		{"lookalike origin", s, allowed + ".evil.net"},
		{"scheme differs", s, "http://app.example.com"},
		{"null origin", s, "null"},
		{"no allow-list", plain, allowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, method := range []string{http.MethodOptions, http.MethodPost} {
				h := http.Header{}
				if method == http.MethodOptions {
					h = preflight
				}
				resp := do(t, tc.srv, method, tc.origin, h)
				for k := range resp.Header {
					if strings.HasPrefix(k, "Access-Control-Allow-") {
						t.Errorf("%s from %s: %s: %q", method, tc.origin, k, resp.Header.Get(k))
					}
				}
			}
		})
	}

	t.Run("never a wildcard", func(t *testing.T) {
		for _, srv := range []*testServer{s, plain} {
			for _, origin := range []string{allowed, other, ""} {
				resp := do(t, srv, http.MethodPost, origin, nil)
				if v := resp.Header.Get("Access-Control-Allow-Origin"); v == "*" {
					t.Errorf("wildcard for %q", origin)
				}
			}
		}
	})
}
