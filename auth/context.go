package auth

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

type contextKey int

const (
	identityKey contextKey = iota
	clientKey
)

// Identity is what the middleware learnt from the request's bearer token: verified claims, or
// the reason there are none. Public operations ignore it; the @auth directive turns Err into
// the contract's error.
type Identity struct {
	Claims *Claims
	Err    error // ErrTokenMissing, ErrTokenInvalid or ErrTokenExpired when Claims is nil
}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey, id)
}

// IdentityFrom returns the identity the middleware stored, or a missing-token identity.
func IdentityFrom(ctx context.Context) Identity {
	if id, ok := ctx.Value(identityKey).(Identity); ok {
		return id
	}
	return Identity{Err: ErrTokenMissing}
}

// Client describes the requesting client, recorded with new sessions.
type Client struct {
	IP        string // without port
	UserAgent string
	// RefreshCookie is the refresh token from the refresh cookie, when cookies are on and the
	// request carries a preflight-forcing header (Preflighted).
	RefreshCookie string
	// RefreshCookieIgnored: a refresh cookie came without that header, so it was not read.
	RefreshCookieIgnored bool
}

// WithClient returns ctx carrying c.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey, c)
}

// ClientFrom returns the client stored by the middleware (zero when none).
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey).(Client)
	return c
}

// ClientIP resolves the client address: the connection's peer, or, when that peer is a trusted
// proxy, the right-most X-Forwarded-For entry that is not itself a trusted proxy.
type ClientIP struct {
	TrustedProxies []netip.Prefix
}

// Of returns the client IP of r.
func (c ClientIP) Of(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !c.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !c.trusted(a) {
			return a.Unmap().String()
		}
	}
	return host
}

func (c ClientIP) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range c.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
