package auth

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
)

const (
	// maxForwardedHops is how many X-Forwarded-For entries, from the right, are looked at. A
	// real chain of proxies is a few hops; a longer list (up to the 1 MB header limit) would
	// only cost work, so the search stops there as it does at garbage.
	maxForwardedHops = 16
	// maxForwardedEntry is the longest entry considered, whitespace included: the longest
	// well-formed one, a bracketed IPv6 address of 45 characters with a port, has 53.
	maxForwardedEntry = 128
)

// ClientIP resolves the client address: the connection's peer, or, when that peer is a trusted
// proxy, the right-most X-Forwarded-For entry that is not itself a trusted proxy (entries left
// of it were written by the client and prove nothing). Build it with NewClientIP.
type ClientIP struct {
	TrustedProxies []netip.Prefix
	warn           *proxyWarning // nil: no warning
}

// proxyWarning logs, once, that a proxy seems to be in front while none is trusted.
type proxyWarning struct {
	log  *slog.Logger
	done atomic.Bool
}

// NewClientIP returns the resolver for trusted. When log is set and no proxy is trusted, the
// first request that carries X-Forwarded-For from a loopback, private, link-local or
// shared-address-space (100.64.0.0/10) peer (where a proxy or load balancer usually is) logs
// one warning: every client behind such a proxy would share the proxy's address, and its rate
// limits. Requests without the header (direct clients, tests) never trigger it, nor do public
// peers (a client sending the header itself proves nothing).
func NewClientIP(trusted []netip.Prefix, log *slog.Logger) ClientIP {
	c := ClientIP{TrustedProxies: trusted}
	if log != nil && len(trusted) == 0 {
		c.warn = &proxyWarning{log: log}
	}
	return c
}

// Of returns the client IP of r, without port or zone, IPv4-mapped addresses as IPv4.
func (c ClientIP) Of(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host // not an IP connection (a test's request, a Unix socket)
	}
	peer = peer.Unmap().WithZone("")
	if !c.trusted(peer) {
		if c.warn != nil {
			c.warn.check(peer, r.Header.Values("X-Forwarded-For"))
		}
		return peer.String()
	}
	return c.forwardedClient(peer, r.Header.Values("X-Forwarded-For")).String()
}

// forwardedClient walks the X-Forwarded-For entries (the header's lines joined by commas) from
// the right, as a proxy chain appended them: the first one not a trusted proxy is the client.
// Empty entries are skipped (HTTP list syntax). At an entry that is not an address, or after
// maxForwardedHops entries, it stops at the last good hop, the left-most trusted proxy seen
// (as nginx's real_ip_recursive does): the best known address, never the client's own claim.
func (c ClientIP) forwardedClient(peer netip.Addr, values []string) netip.Addr {
	client, hops := peer, 0
	for v := len(values) - 1; v >= 0; v-- {
		for rest, more := values[v], true; more; {
			if hops == maxForwardedHops {
				return client
			}
			hops++
			var entry string
			rest, entry, more = cutLastEntry(rest)
			if len(entry) <= maxForwardedEntry && isBlank(entry) {
				continue
			}
			a, ok := parseForwardedEntry(entry)
			if !ok {
				return client
			}
			client = a
			if !c.trusted(a) {
				return a
			}
		}
	}
	return client
}

// cutLastEntry splits s at its last comma, looking at no more than maxForwardedEntry+1 bytes: a
// longer entry is returned whole and refused by its length, so a huge header costs little.
func cutLastEntry(s string) (rest, entry string, more bool) {
	from := max(0, len(s)-maxForwardedEntry-1)
	i := strings.LastIndexByte(s[from:], ',')
	if i < 0 {
		return "", s, false
	}
	return s[:from+i], s[from+i+1:], true
}

// parseForwardedEntry reads one X-Forwarded-For entry: an IPv4 or IPv6 address, optionally
// with a port ("198.51.100.7:51234", "[2001:db8::1]:443", "[2001:db8::1]"), within optional
// spaces or tabs. An IPv6 address with a port must be bracketed (without brackets, its last
// group would be taken for a port). IPv4-mapped IPv6 becomes IPv4. Zones ("fe80::1%eth0") are
// refused: they name an interface of the proxy, not a client.
func parseForwardedEntry(e string) (netip.Addr, bool) {
	if len(e) > maxForwardedEntry {
		return netip.Addr{}, false
	}
	e = strings.Trim(e, " \t")
	host, bracketed := e, false
	if rest, ok := strings.CutPrefix(e, "["); ok {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		host, bracketed = rest[:end], true
		if tail := rest[end+1:]; tail != "" {
			port, ok := strings.CutPrefix(tail, ":")
			if !ok || !validPort(port) {
				return netip.Addr{}, false
			}
		}
	} else if h, port, ok := strings.Cut(e, ":"); ok && !strings.Contains(port, ":") {
		if !validPort(port) {
			return netip.Addr{}, false
		}
		host = h // IPv4 with a port; two colons or more make it IPv6
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" || (bracketed && !a.Is6()) || (!bracketed && host != e && !a.Is4()) {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

func isBlank(s string) bool { return strings.Trim(s, " \t") == "" }

func (c ClientIP) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range c.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// sharedAddressSpace is RFC 6598's 100.64.0.0/10, where carrier and cloud load balancers live.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

func (w *proxyWarning) check(peer netip.Addr, forwarded []string) {
	if w.done.Load() || !(peer.IsLoopback() || peer.IsPrivate() || peer.IsLinkLocalUnicast() || sharedAddressSpace.Contains(peer)) {
		return
	}
	if !slices.ContainsFunc(forwarded, func(v string) bool { return !isBlank(v) }) || w.done.Swap(true) {
		return
	}
	w.log.Warn("X-Forwarded-For received from a proxy-like address while TRUSTED_PROXIES is empty: "+
		"every client behind that proxy shares its address and its rate limits; set TRUSTED_PROXIES to the proxy's addresses",
		"peer", peer.String())
}
