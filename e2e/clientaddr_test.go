package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/example/gqlauth/internal/itest"
)

// Client addresses behind a proxy: X-Forwarded-For read defensively, IPv6 grouped by /64.

// loginVia logs in through the proxy (the test client is 127.0.0.1, trusted) on behalf of the
// client named by xff ("" sends no header: the proxy itself).
func (s *testServer) loginVia(t testing.TB, xff, email, password string) gqlResponse {
	t.Helper()
	h := http.Header{}
	if xff != "" {
		h.Set("X-Forwarded-For", xff)
	}
	return s.gqlWithHeader(t, h, loginMutation, map[string]any{"e": email, "p": password})
}

// sessionAddresses is the ipAddress of each of the bearer's sessions.
func (s *testServer) sessionAddresses(t testing.TB, token string) []string {
	t.Helper()
	r := s.gql(t, token, `{ sessions { ipAddress } }`, nil)
	var sessions []struct{ IPAddress string }
	r.decode(t, "sessions", &sessions)
	var out []string
	for _, x := range sessions {
		out = append(out, x.IPAddress)
	}
	return out
}

// 400 failed logins from 400 addresses of one IPv6 /64 count as one client's: the per-address
// limit stops them (rotating through a /64 buys no budget); another /64 keeps its own, an
// IPv4-mapped address is its IPv4 address, and the session records the full address.
func TestLoginLimitGroupsIPv6By64(t *testing.T) {
	s := startServer(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32", "LOGIN_FAILURES_PER_IP": "5"})
	s.register(t, "owner@example.com")

	got := map[string]int{}
	for i := range 400 {
		xff := fmt.Sprintf("2001:db8:1:2:%x:%x:%x:%x", i, i*7, i*13, i*31+1)
		got[s.loginVia(t, xff, fmt.Sprintf("target%d@example.com", i%40), "Summer2026!x").code()]++
	}
	if got["UNAUTHENTICATED"] != 5 || got["RATE_LIMITED"] != 395 {
		t.Fatalf("400 failures from one /64: %v; want 5 checked, 395 RATE_LIMITED", got)
	}

	if r := s.loginVia(t, "2001:db8:1:3::1", "target0@example.com", "Summer2026!x"); r.code() != "UNAUTHENTICATED" {
		t.Fatalf("the next /64 is limited too: %+v", r.Errors)
	}
	for i, xff := range []string{"198.51.100.9", "[::ffff:198.51.100.9]:4000", "::ffff:198.51.100.9", "198.51.100.9:1", "[::ffff:c633:6409]"} {
		if r := s.loginVia(t, xff, "target1@example.com", "Summer2026!x"); r.code() != "UNAUTHENTICATED" {
			t.Fatalf("failure %d of 198.51.100.9 (as %s): %+v", i+1, xff, r.Errors)
		}
	}
	if r := s.loginVia(t, "::ffff:198.51.100.9", "target1@example.com", "Summer2026!x"); r.code() != "RATE_LIMITED" {
		t.Fatalf("IPv4-mapped 198.51.100.9 has a budget of its own: %+v", r.Errors)
	}

	r := s.loginVia(t, "[2001:db8:1:3:aaaa:bbbb:cccc:dddd]:443", "owner@example.com", testPassword)
	var p payload
	r.decode(t, "login", &p)
	if addrs := s.sessionAddresses(t, p.AccessToken); !strings.Contains(strings.Join(addrs, " "), "2001:db8:1:3:aaaa:bbbb:cccc:dddd") {
		t.Fatalf("session addresses %v: want the full address, not its /64", addrs)
	}
}

// X-Forwarded-For entries with ports are those addresses: two attackers behind the proxy get
// a budget each, and neither touches the proxy's own (before, their entries were unreadable,
// so everyone behind the proxy shared its bucket and one attacker locked all of them out).
func TestForwardedForWithPorts(t *testing.T) {
	s := startServer(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32", "LOGIN_FAILURES_PER_IP": "3"})
	s.register(t, "user@example.com")

	for _, attacker := range [][]string{
		{"198.51.100.7:51234", "198.51.100.7:51235", " 198.51.100.7:1 ", "203.0.113.250, 198.51.100.7:2"},
		{"[2001:db8::1]:443", "[2001:db8::1]:8443", "[2001:db8::1]", "10.0.0.66, [2001:db8::1]:1"},
	} {
		for i, xff := range attacker {
			want := "UNAUTHENTICATED"
			if i == 3 {
				want = "RATE_LIMITED"
			}
			if r := s.loginVia(t, xff, fmt.Sprintf("victim%d@example.com", i), "wrong password 1"); r.code() != want {
				t.Fatalf("attempt %d as %q: want %s, got %+v", i+1, xff, want, r.Errors)
			}
		}
	}
	for i := range 3 { // the proxy's own address has its whole budget
		if r := s.loginVia(t, "", fmt.Sprintf("proxy%d@example.com", i), "wrong password 1"); r.code() != "UNAUTHENTICATED" {
			t.Fatalf("the proxy's attempt %d: %+v", i+1, r.Errors)
		}
	}

	r := s.loginVia(t, "203.0.113.50:40000", "user@example.com", testPassword)
	var p payload
	r.decode(t, "login", &p)
	if addrs := s.sessionAddresses(t, p.AccessToken); !strings.Contains(strings.Join(addrs, " "), "203.0.113.50") {
		t.Fatalf("session addresses %v: want 203.0.113.50", addrs)
	}
	if strings.Contains(s.Log(), "TRUSTED_PROXIES is empty") {
		t.Errorf("warned about an untrusted proxy with TRUSTED_PROXIES set:\n%s", s.Log())
	}
}

// Behind a proxy that is not trusted, every client shares the proxy's address: the log says so,
// once, when a request from a proxy-like address carries X-Forwarded-For. Requests without it
// (a direct client, most tests) never trigger it.
func TestUntrustedProxyWarning(t *testing.T) {
	s := startServer(t, nil)
	for range 3 {
		s.loginVia(t, "", "someone@example.com", "wrong password 1")
	}
	if strings.Contains(s.Log(), "X-Forwarded-For") {
		t.Fatalf("warned without an X-Forwarded-For header:\n%s", s.Log())
	}
	for i := range 5 {
		s.loginVia(t, fmt.Sprintf("198.51.100.%d", i), "someone@example.com", "wrong password 1")
	}
	var warnings []string
	for _, line := range strings.Split(s.Log(), "\n") {
		if strings.Contains(line, "X-Forwarded-For") {
			warnings = append(warnings, line)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "WARN") || !strings.Contains(warnings[0], "TRUSTED_PROXIES") ||
		!strings.Contains(warnings[0], "127.0.0.1") {
		t.Fatalf("want one WARN line naming TRUSTED_PROXIES and the peer, got %d:\n%s", len(warnings), strings.Join(warnings, "\n"))
	}
}

// A malformed refresh token is refused before the per-address refresh limit is consulted: it
// costs nothing to check, and reserving a slot for it let rotating addresses fill the limiter.
// 1,300 of them (over the limit of 1,200 a minute) leave the address's budget whole.
func TestGarbageRefreshTokensSpendNoBudget(t *testing.T) {
	s := startServer(t, nil)
	reg := s.register(t, "refresher@example.com")
	var doc strings.Builder
	doc.WriteString("mutation {")
	for i := range 100 {
		fmt.Fprintf(&doc, ` a%d: refresh(refreshToken: "rt_garbage%d") { accessToken }`, i, i)
	}
	doc.WriteString(" }")
	for range 13 {
		r := s.gql(t, "", doc.String(), nil)
		if got := codes(r); got["UNAUTHENTICATED/REFRESH_TOKEN_INVALID"] != 100 {
			t.Fatalf("100 garbage refreshes: %v", got)
		}
	}
	if _, r := s.refresh(t, reg.RefreshToken); len(r.Errors) > 0 {
		t.Fatalf("a real refresh after garbage ones: %+v", r.Errors)
	}
}

// With Redis, the instances share per-address budgets under the same /64 key: failures from
// one /64 through either instance count together.
func TestPerNetworkLimitSharedThroughRedis(t *testing.T) {
	t.Parallel()
	shared := sharedEnv(t, itest.RedisURL(t))
	shared["TRUSTED_PROXIES"], shared["LOGIN_FAILURES_PER_IP"] = "127.0.0.1/32", "4"
	a, b := startPair(t, shared)
	for i := range 6 {
		s := a
		if i%2 == 1 {
			s = b
		}
		want := "UNAUTHENTICATED"
		if i >= 4 {
			want = "RATE_LIMITED"
		}
		xff := fmt.Sprintf("2001:db8:77:1::%x", i+1)
		if r := s.loginVia(t, xff, fmt.Sprintf("shared%d@example.com", i), "wrong password 1"); r.code() != want {
			t.Fatalf("attempt %d from %s: want %s, got %+v", i+1, xff, want, r.Errors)
		}
	}
}
