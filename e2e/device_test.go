package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/example/gqlauth/internal/itest"
)

const deviceHeader = "X-Device-Token"

// withDevice is a request header presenting each of tokens in X-Device-Token (none: no header).
func withDevice(tokens ...string) http.Header {
	h := http.Header{}
	for _, tok := range tokens {
		h.Add(deviceHeader, tok)
	}
	return h
}

// loginFrom runs login with the request header h.
func (s *testServer) loginFrom(t testing.TB, h http.Header, email, password string) (payload, gqlResponse) {
	t.Helper()
	r := s.gqlWithHeader(t, h, loginMutation, map[string]any{"e": email, "p": password})
	var p payload
	if len(r.Errors) == 0 {
		r.decode(t, "login", &p)
	}
	return p, r
}

// guess makes n wrong-password logins for email in one request, with header h, and returns the
// counts of their answers.
func (s *testServer) guess(t testing.TB, h http.Header, n int, email string) map[string]int {
	t.Helper()
	return codes(s.gqlWithHeader(t, h, aliasedLogins(n, email, "wrong guess 123"), nil))
}

func expectLocked(t testing.TB, got map[string]int, checked, limited int) {
	t.Helper()
	if got["UNAUTHENTICATED/INVALID_CREDENTIALS"] != checked || got["RATE_LIMITED"] != limited || len(got) > 2 {
		t.Fatalf("want %d invalid credentials and %d rate limited, got %v", checked, limited, got)
	}
}

// TestDeviceTokenKeepsOwnerSignedIn: an attacker's failures exhaust the account's budget (10
// per 15 minutes, from anywhere), whether they send no device token or a forged, garbage,
// oversized, repeated or other account's one (never an error: they count against the account).
// Yet the owner's device, presenting the device token of an earlier sign-in, still signs in,
// through GraphQL and /token; without it the owner is refused.
func TestDeviceTokenKeepsOwnerSignedIn(t *testing.T) {
	s := startServer(t, nil)
	const email = "owner@example.com"
	reg := s.register(t, email)
	if reg.DeviceToken == "" {
		t.Fatal("register returned no device token")
	}
	own := reg.DeviceToken
	other := s.register(t, "attacker@example.com").DeviceToken
	forged := own[:len(own)-1] + "A" // the tag's last bits changed
	if forged == own {
		forged = own[:len(own)-1] + "Q"
	}
	bad := map[string]http.Header{
		"another account's": withDevice(other),
		"forged":            withDevice(forged),
		"garbage":           withDevice("not a device token"),
		"oversized":         withDevice(own + strings.Repeat("A", 300)),
		"sent twice":        withDevice(own, own),
		"empty":             withDevice(""),
	}
	for name, h := range bad {
		_, r := s.loginFrom(t, h, email, "wrong guess 123")
		if r.code() != "UNAUTHENTICATED" || r.reason() != "INVALID_CREDENTIALS" {
			t.Fatalf("%s device token: %+v", name, r.Errors)
		}
	}
	for _, tok := range []string{"", other, forged, "x"} { // and through /token: 10 failures in all
		if status, body := s.tokenGrant(t, tok, email, "wrong guess 123"); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("/token with device token %q: %d %v", tok, status, body)
		}
	}

	// The account is locked, with or without a bad device token ...
	_, r := s.login(t, email, testPassword)
	expectError(t, r, "RATE_LIMITED", "")
	_, r = s.loginFrom(t, withDevice(other), email, testPassword)
	expectError(t, r, "RATE_LIMITED", "")
	for _, tok := range []string{"", forged} {
		if status, body := s.tokenGrant(t, tok, email, testPassword); status != http.StatusTooManyRequests {
			t.Fatalf("/token with device token %q on a locked account: %d %v", tok, status, body)
		}
	}
	// ... but not for the owner's device, whose token the attacker could only forge.
	p, r := s.loginFrom(t, withDevice(own), email, testPassword)
	expectOK(t, r)
	if p.DeviceToken == "" || p.DeviceToken == own {
		t.Fatalf("login returned device token %q (register's was %q): every sign-in gets a new one", p.DeviceToken, own)
	}
	status, body := s.tokenGrant(t, p.DeviceToken, email, testPassword)
	if status != http.StatusOK || body["access_token"] == nil {
		t.Fatalf("/token with the device token: %d %v", status, body)
	}
	fromToken, _ := body["device_token"].(string)
	if fromToken == "" || fromToken == p.DeviceToken {
		t.Fatalf("/token password grant: device_token %q", fromToken)
	}
	_, r = s.loginFrom(t, withDevice(fromToken), email, testPassword)
	expectOK(t, r)
}

// TestDeviceOwnBudget: a device's own 10 failures, through GraphQL and /token, lock that device
// only; the account and the owner's other devices keep their budgets.
func TestDeviceOwnBudget(t *testing.T) {
	s := startServer(t, nil)
	const email = "devices@example.com"
	first := s.register(t, email).DeviceToken
	second, r := s.login(t, email, testPassword)
	expectOK(t, r)

	expectLocked(t, s.guess(t, withDevice(first), 5, email), 5, 0)
	for i := range 6 {
		status, body := s.tokenGrant(t, first, email, "wrong guess 123")
		want := http.StatusBadRequest
		if i == 5 {
			want = http.StatusTooManyRequests
		}
		if status != want {
			t.Fatalf("/token attempt %d with the first device: %d %v, want %d", 5+i, status, body, want)
		}
	}
	_, r = s.loginFrom(t, withDevice(first), email, testPassword)
	expectError(t, r, "RATE_LIMITED", "")
	_, r = s.login(t, email, testPassword) // the account's budget is untouched
	expectOK(t, r)
	_, r = s.loginFrom(t, withDevice(second.DeviceToken), email, testPassword)
	expectOK(t, r)
	if status, body := s.tokenGrant(t, second.DeviceToken, email, testPassword); status != http.StatusOK {
		t.Fatalf("/token with the second device: %d %v", status, body)
	}
}

// TestDeviceTokenRetiredByPasswordChange: changePassword returns a new device token; those
// issued before it fall back to the account's budget. refresh hands back a valid presented
// device token and issues none.
func TestDeviceTokenRetiredByPasswordChange(t *testing.T) {
	s := startServer(t, nil)
	const email = "changer@example.com"
	const newPassword = "a brand new passphrase 42"
	old := s.register(t, email)
	r := s.gql(t, old.AccessToken, `mutation($c:String!,$n:String!){ changePassword(input:{currentPassword:$c,newPassword:$n}) { `+payloadFields+` } }`,
		map[string]any{"c": testPassword, "n": newPassword})
	var changed payload
	r.decode(t, "changePassword", &changed)
	if changed.DeviceToken == "" || changed.DeviceToken == old.DeviceToken {
		t.Fatalf("changePassword returned device token %q", changed.DeviceToken)
	}

	// The retired token's failures count against the account, which they lock ...
	expectLocked(t, s.guess(t, withDevice(old.DeviceToken), 11, email), 10, 1)
	_, r = s.login(t, email, newPassword)
	expectError(t, r, "RATE_LIMITED", "")
	// ... but not the new token's device.
	_, r = s.loginFrom(t, withDevice(changed.DeviceToken), email, newPassword)
	expectOK(t, r)

	for _, tc := range []struct {
		name, presented, want string
	}{
		{"valid", changed.DeviceToken, changed.DeviceToken},
		{"retired", old.DeviceToken, ""},
		{"none", "", ""},
	} {
		h := withDevice(tc.presented)
		if tc.presented == "" {
			h = http.Header{}
		}
		rr := s.gqlWithHeader(t, h, refreshMutation, map[string]any{"t": changed.RefreshToken})
		var p payload
		rr.decode(t, "refresh", &p)
		changed.RefreshToken = p.RefreshToken
		if p.DeviceToken != tc.want {
			t.Errorf("refresh presenting a %s device token returned %q, want %q", tc.name, p.DeviceToken, tc.want)
		}
	}
}

// TestDeviceCookie: with REFRESH_COOKIE=true every sign-in also sets the device token as an
// HttpOnly, Secure, SameSite=Strict cookie for /query, a year long; it counts only from a request
// with a preflight-forcing header (as the refresh cookie), and logout leaves it.
func TestDeviceCookie(t *testing.T) {
	s := startServer(t, map[string]string{"REFRESH_COOKIE": "true"})
	const email = "browser@example.com"
	r := s.gqlWithHeader(t, http.Header{}, registerMutation, map[string]any{"e": email, "p": testPassword})
	var reg payload
	r.decode(t, "register", &reg)
	c := namedCookie(t, r, deviceCookieName)
	if c == nil || c.Value != reg.DeviceToken {
		t.Fatalf("device cookie %+v, want the device token", c)
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/query" || c.Domain != "" || c.MaxAge != 365*24*3600 {
		t.Errorf("device cookie attributes: %+v", c)
	}
	r = s.gqlWithHeader(t, http.Header{}, logoutMutation, map[string]any{"t": reg.RefreshToken})
	expectOK(t, r)
	if namedCookie(t, r, deviceCookieName) != nil {
		t.Error("logout touched the device cookie")
	}

	cookie := func(preflight string) http.Header {
		h := http.Header{}
		h.Set("Cookie", (&http.Cookie{Name: deviceCookieName, Value: reg.DeviceToken}).String())
		if preflight != "" {
			h.Set(preflight, "1")
		}
		return h
	}
	// Without the preflight header (a cross-site form could send such a request) the cookie is
	// not read: these failures lock the account.
	expectLocked(t, s.guess(t, cookie(""), 10, email), 10, 0)
	_, r = s.loginFrom(t, cookie(""), email, testPassword)
	expectError(t, r, "RATE_LIMITED", "")
	p, r := s.loginFrom(t, cookie("X-Requested-With"), email, testPassword)
	expectOK(t, r)
	if c := namedCookie(t, r, deviceCookieName); c == nil || c.Value != p.DeviceToken {
		t.Fatalf("login set device cookie %+v, want its new device token", c)
	}
	_, r = s.loginFrom(t, cookie("Apollo-Require-Preflight"), email, testPassword)
	expectOK(t, r)
}

// namedCookie returns the cookie called name that r sets (nil when none).
func namedCookie(t testing.TB, r gqlResponse, name string) *http.Cookie {
	t.Helper()
	c, _ := setCookie(t, r, name)
	return c
}

// setCookie returns the cookie called name that r sets (nil when none) and its raw header; two
// of them fail the test.
func setCookie(t testing.TB, r gqlResponse, name string) (*http.Cookie, string) {
	t.Helper()
	var found *http.Cookie
	raw := ""
	for _, v := range r.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(v)
		if err != nil {
			t.Fatalf("bad Set-Cookie %q: %v", v, err)
		}
		if c.Name == name {
			if found != nil {
				t.Fatalf("two %s cookies in one response: %q", name, r.Header.Values("Set-Cookie"))
			}
			found, raw = c, v
		}
	}
	return found, raw
}

// TestDeviceTokenAcrossInstances: a device token from one instance counts on another of the
// deployment (same JWT_SECRET, shared database and Redis limiter): the account locked through
// one instance, the owner's device still signs in through the other.
func TestDeviceTokenAcrossInstances(t *testing.T) {
	t.Parallel()
	a, b := startPair(t, sharedEnv(t, itest.RedisURL(t)))
	const email = "roaming@example.com"
	tok := a.register(t, email).DeviceToken
	expectLocked(t, a.guess(t, http.Header{}, 10, email), 10, 0)
	_, r := b.login(t, email, testPassword)
	expectError(t, r, "RATE_LIMITED", "")
	_, r = b.loginFrom(t, withDevice(tok), email, testPassword)
	expectOK(t, r)
}
