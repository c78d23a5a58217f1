package auth

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// FuzzXForwardedFor: whatever the header, resolving never panics and gives the peer or a
// canonical address read from one of the entries; ports, brackets, spaces and the split into
// header lines do not change it; what the client wrote left of its own entry cannot change it.
//
//	go test ./auth -run '^$' -fuzz '^FuzzXForwardedFor$' -fuzztime 120s -parallel 1
func FuzzXForwardedFor(f *testing.F) {
	for _, s := range []string{
		"", " ", ",", "198.51.100.7", "198.51.100.7:51234", "[2001:db8::1]:443", "[2001:db8::1]",
		"2001:db8::1", "::ffff:198.51.100.7", "[::ffff:198.51.100.7]:80", "203.0.113.9, 198.51.100.7",
		"198.51.100.7, 10.0.0.5", "198.51.100.7, garbage, 10.0.0.5", "fe80::1%eth0", "[fe80::1%25eth0]:1",
		"198.51.100.7:65536", "198.51.100.7:", "[198.51.100.7]:80", "[2001:db8::1", "10.0.0.9, 10.0.0.5",
		"unknown", "1.2.3.4:80:90", " \t198.51.100.7 ,\t", "2001:db8:ffff::1, 127.0.0.1",
		strings.Repeat("10.0.0.1,", 40) + "198.51.100.7", "198.51.100.7," + strings.Repeat(" ", 200),
	} {
		f.Add(s, 0)
	}
	c := ClientIP{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("2001:db8:ffff::/48"),
	}}
	const peer = "127.0.0.1"
	of := func(lines ...string) string {
		r := &http.Request{RemoteAddr: peer + ":5000", Header: http.Header{}}
		for _, l := range lines {
			r.Header.Add("X-Forwarded-For", l)
		}
		return c.Of(r)
	}
	f.Fuzz(func(t *testing.T, xff string, cut int) {
		got := of(xff)

		// The peer, or a canonical address (no zone, IPv4-mapped as IPv4) that an entry names.
		entries := strings.Split(xff, ",")
		if got != peer {
			a, err := netip.ParseAddr(got)
			if err != nil || a.String() != got || a.Zone() != "" || a.Is4In6() {
				t.Fatalf("%q resolved to %q: not a canonical address", xff, got)
			}
			named := false
			for _, e := range entries {
				if b, ok := parseForwardedEntry(e); ok && b == a {
					named = true
				}
			}
			if !named {
				t.Fatalf("%q resolved to %q, which no entry names", xff, got)
			}
		}

		// Reading an entry is idempotent, and its port and brackets do not matter.
		canonical := make([]string, len(entries))
		for i, e := range entries {
			canonical[i] = e
			a, ok := parseForwardedEntry(e)
			if !ok {
				continue
			}
			forms := []string{a.String(), netip.AddrPortFrom(a, 443).String(), " " + a.String() + "\t"}
			if a.Is6() {
				forms = append(forms, "["+a.String()+"]")
			}
			for _, form := range forms {
				if b, ok := parseForwardedEntry(form); !ok || b != a {
					t.Fatalf("entry %q reads as %s, but %q reads as %s (%v)", e, a, form, b, ok)
				}
			}
			canonical[i] = netip.AddrPortFrom(a, 1).String()
		}
		if again := of(strings.Join(canonical, ",")); again != got {
			t.Fatalf("%q resolved to %q, its entries rewritten with ports to %q", xff, got, again)
		}

		// One line or two: the same list.
		if i := strings.IndexByte(xff, ','); i >= 0 && cut%2 == 1 {
			if split := of(xff[:i], xff[i+1:]); split != got {
				t.Fatalf("%q resolved to %q, split into two lines to %q", xff, got, split)
			}
		}

		// A client's own entry found, nothing it wrote further left counts, and another
		// trusted hop on the right changes nothing (as long as the chain is not over the cap).
		if a, err := netip.ParseAddr(got); err == nil && got != peer && !c.trusted(a) {
			if prefixed := of("6.6.6.6, garbage,[::1]:1," + xff); prefixed != got {
				t.Fatalf("%q resolved to %q, with a forged prefix to %q", xff, got, prefixed)
			}
			if len(entries) < maxForwardedHops-1 {
				if hop := of(xff + ", 10.0.0.7"); hop != got {
					t.Fatalf("%q resolved to %q, through one more trusted proxy to %q", xff, got, hop)
				}
			}
		}

		// An untrusted peer's header is never read.
		r := &http.Request{RemoteAddr: "203.0.113.1:5000", Header: http.Header{"X-Forwarded-For": {xff}}}
		if direct := c.Of(r); direct != "203.0.113.1" {
			t.Fatalf("an untrusted peer with %q resolved to %q", xff, direct)
		}
	})
}
