package auth

import (
	"context"
	"net/netip"
)

// ipKey is the limiter key of the client's address for an action ("" when the address is
// unknown). Every per-client-address rule, in memory or in Redis, gets its key here, so they
// all group addresses alike (addressGroup).
func ipKey(ctx context.Context, action string) string {
	ip := ClientFrom(ctx).IP
	if ip == "" {
		return ""
	}
	return action + ":ip:" + addressGroup(ip)
}

// addressGroup is what one client address counts as: an IPv4 address stands for itself (an
// IPv4-mapped IPv6 address is its IPv4 address), an IPv6 address for its /64. A /64 is the
// smallest network a home, a mobile line or a server is given, and one holder picks freely among
// its 2^64 addresses: counting them one by one would give an attacker 2^64 budgets. (The
// session still records the full address.) Anything else is its own group.
func addressGroup(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64) // cannot fail for IPv6
	return p.String()
}
