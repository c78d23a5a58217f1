package auth_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/example/gqlauth/auth"
)

func forwardedRequest(peer string, xff ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/query", nil)
	r.RemoteAddr = peer
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	return r
}

var testProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}

func TestClientIPForwardedEntries(t *testing.T) {
	c := auth.NewClientIP(testProxies, nil)
	long := strings.Repeat("10.0.0.1, ", maxHopsForTest)
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no header", "127.0.0.1:5000", nil, "127.0.0.1"},
		{"IPv4", "127.0.0.1:5000", []string{"198.51.100.7"}, "198.51.100.7"},
		{"IPv4 with a port", "127.0.0.1:5000", []string{"198.51.100.7:51234"}, "198.51.100.7"},
		{"IPv6", "127.0.0.1:5000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"bracketed IPv6", "127.0.0.1:5000", []string{"[2001:db8::1]"}, "2001:db8::1"},
		{"bracketed IPv6 with a port", "127.0.0.1:5000", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"IPv6 written long", "127.0.0.1:5000", []string{"2001:0db8:0000:0000:0000:0000:0000:0001"}, "2001:db8::1"},
		{"spaces and tabs", "127.0.0.1:5000", []string{" \t198.51.100.7:1 \t"}, "198.51.100.7"},
		{"IPv4-mapped", "127.0.0.1:5000", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
		{"IPv4-mapped bracketed with a port", "127.0.0.1:5000", []string{"[::ffff:198.51.100.7]:80"}, "198.51.100.7"},
		{"right-most untrusted", "127.0.0.1:5000", []string{"203.0.113.9, 198.51.100.7"}, "198.51.100.7"},
		{"trusted hops skipped", "127.0.0.1:5000", []string{"198.51.100.7:1, 10.0.0.5, [::ffff:10.1.2.3]:8080"}, "198.51.100.7"},
		{"several header lines", "127.0.0.1:5000", []string{"203.0.113.9", "198.51.100.7, 10.0.0.5"}, "198.51.100.7"},
		{"empty entries skipped", "127.0.0.1:5000", []string{"198.51.100.7, ,", ""}, "198.51.100.7"},
		{"blank header", "127.0.0.1:5000", []string{"  "}, "127.0.0.1"},
		{"garbage stops at the last good hop", "127.0.0.1:5000", []string{"198.51.100.7, garbage, 10.0.0.5"}, "10.0.0.5"},
		{"garbage right away", "127.0.0.1:5000", []string{"198.51.100.7, garbage"}, "127.0.0.1"},
		{"port out of range", "127.0.0.1:5000", []string{"198.51.100.7:65536"}, "127.0.0.1"},
		{"port not a number", "127.0.0.1:5000", []string{"198.51.100.7:http"}, "127.0.0.1"},
		{"empty port", "127.0.0.1:5000", []string{"198.51.100.7:"}, "127.0.0.1"},
		{"two ports", "127.0.0.1:5000", []string{"198.51.100.7:80:90"}, "127.0.0.1"},
		{"zone refused", "127.0.0.1:5000", []string{"fe80::1%eth0"}, "127.0.0.1"},
		{"bracketed zone refused", "127.0.0.1:5000", []string{"[fe80::1%25eth0]:80"}, "127.0.0.1"},
		{"bracketed IPv4 refused", "127.0.0.1:5000", []string{"[198.51.100.7]:80"}, "127.0.0.1"},
		{"unclosed bracket", "127.0.0.1:5000", []string{"[2001:db8::1:443"}, "127.0.0.1"},
		{"junk after the bracket", "127.0.0.1:5000", []string{"[2001:db8::1]x"}, "127.0.0.1"},
		{"space inside", "127.0.0.1:5000", []string{"198.51.100.7 :80"}, "127.0.0.1"},
		{"every hop trusted: the first of them", "127.0.0.1:5000", []string{"10.0.0.9, 10.0.0.5"}, "10.0.0.9"},
		{"hops past the cap are not read", "127.0.0.1:5000", []string{"198.51.100.7, " + long}, "10.0.0.1"},
		{"huge entry", "127.0.0.1:5000", []string{strings.Repeat("1", 1<<20)}, "127.0.0.1"},
		{"untrusted peer: header ignored", "203.0.113.5:5000", []string{"198.51.100.7"}, "203.0.113.5"},
		{"IPv4-mapped peer is IPv4 and trusted", "[::ffff:127.0.0.1]:5000", []string{"198.51.100.7"}, "198.51.100.7"},
		{"IPv4-mapped untrusted peer", "[::ffff:203.0.113.5]:5000", nil, "203.0.113.5"},
		{"peer with a zone", "[fe80::1%eth0]:5000", nil, "fe80::1"},
		{"peer not an address", "pipe", []string{"198.51.100.7"}, "pipe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.Of(forwardedRequest(tc.peer, tc.xff...)); got != tc.want {
				t.Errorf("Of(peer %s, X-Forwarded-For %.80q) = %q, want %q", tc.peer, tc.xff, got, tc.want)
			}
		})
	}
}

// maxHopsForTest is more entries than the resolver reads.
const maxHopsForTest = 40

// A header of a megabyte costs what a short one does: entries are not split or copied, and
// only the last few are read.
func TestClientIPHugeHeaderIsCheap(t *testing.T) {
	c := auth.NewClientIP(testProxies, nil)
	for _, h := range []string{
		strings.Repeat("10.0.0.1,", 1<<17),
		strings.Repeat(",", 1<<20),
		strings.Repeat(" ", 1<<20),
		strings.Repeat("1", 1<<20) + ", 10.0.0.1",
	} {
		r := forwardedRequest("127.0.0.1:1", h, h)
		if allocs := testing.AllocsPerRun(20, func() { c.Of(r) }); allocs > 2 {
			t.Errorf("%.0f allocations for a header of %d bytes (%.20q…)", allocs, 2*len(h), h)
		}
	}
}

// The misconfiguration warning: once, only for a proxy-like peer that sends the header while
// no proxy is trusted.
func TestClientIPWarnsOnceAboutAnUntrustedProxy(t *testing.T) {
	var log bytes.Buffer
	c := auth.NewClientIP(nil, slog.New(slog.NewTextHandler(&log, nil)))
	quiet := []*http.Request{
		forwardedRequest("127.0.0.1:1"),                        // no header: a direct client, a test
		forwardedRequest("127.0.0.1:1", " ", ""),               // blank header
		forwardedRequest("203.0.113.5:1", "198.51.100.7"),      // a public peer: a client's own claim
		forwardedRequest("[2001:db8::5]:1", "198.51.100.7"),    // likewise over IPv6
		forwardedRequest("pipe", "198.51.100.7"),               // not an IP connection
		forwardedRequest("[::ffff:203.0.113.5]:1", "10.0.0.1"), // mapped public peer
	}
	for _, r := range quiet {
		if got := c.Of(r); strings.Contains(log.String(), "WARN") {
			t.Fatalf("warned for peer %s (resolved %s): %s", r.RemoteAddr, got, log.String())
		}
	}
	for _, peer := range []string{"10.1.2.3", "127.0.0.1", "fd00::1", "100.64.0.1", "::1", "fe80::1"} {
		r := forwardedRequest(netip.AddrPortFrom(netip.MustParseAddr(peer), 1).String(), "198.51.100.7")
		if got := c.Of(r); got != peer {
			t.Errorf("peer %s resolved to %s: with no proxy trusted the header must be ignored", peer, got)
		}
	}
	if n := strings.Count(log.String(), "level=WARN"); n != 1 || !strings.Contains(log.String(), "TRUSTED_PROXIES") || !strings.Contains(log.String(), "peer=10.1.2.3") {
		t.Errorf("want one warning naming TRUSTED_PROXIES and the first peer, got %d:\n%s", n, log.String())
	}

	log.Reset()
	trusting := auth.NewClientIP(testProxies, slog.New(slog.NewTextHandler(&log, nil)))
	trusting.Of(forwardedRequest("10.9.9.9:1", "198.51.100.7")) // trusted proxies are configured
	trusting.Of(forwardedRequest("192.168.1.1:1", "198.51.100.7"))
	if log.Len() != 0 {
		t.Errorf("warned with TRUSTED_PROXIES set: %s", log.String())
	}
}
