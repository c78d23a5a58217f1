package auth

import (
	"context"
)

type contextKey int

// The request-scoped values of the domain live here, one key each: the identity the HTTP
// middleware read, the client it described, and the principal an authorised field runs as.
// Transport state (the refresh-cookie holder, the WebSocket connection holder, the request id)
// keeps its key in the package that owns it; docs/design.md lists them all.
const (
	identityKey contextKey = iota
	clientKey
	principalKey
)

// Identity is what the middleware learnt from the request's bearer token: verified claims, or
// the reason there are none. Public operations ignore it; the @auth directive turns Err into
// the API's error (code and reason).
type Identity struct {
	Claims *Claims
	// APIKey is the stored hash of a well-formed API key the request presented (Claims nil):
	// whether it is a live key is for Authorize to find out, in the view.
	APIKey []byte
	Err    error // ErrTokenMissing, ErrTokenInvalid or ErrTokenExpired when both are nil
}

// Present reports whether the identity carries a credential to authorise (a verified token's
// claims or an API key).
func (id Identity) Present() bool { return id.Claims != nil || id.APIKey != nil }

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey, id)
}

// IdentityFrom returns the identity the middleware stored, or a missing-token identity.
func IdentityFrom(ctx context.Context) Identity {
	return valueOf(ctx, identityKey, Identity{Err: ErrTokenMissing})
}

// WithPrincipal returns ctx carrying p, the caller Authorize accepted for the field being
// resolved.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// PrincipalFrom returns the principal WithPrincipal stored; ok is false when there is none
// (the field was not authorised).
func PrincipalFrom(ctx context.Context) (p Principal, ok bool) {
	p, ok = ctx.Value(principalKey).(Principal)
	return p, ok
}

// valueOf is the value ctx holds under key: a T (WithIdentity, WithClient) or a *T (a
// requestContext, which hands out pointers to its fields); otherwise none.
func valueOf[T any](ctx context.Context, key contextKey, none T) T {
	switch v := ctx.Value(key).(type) {
	case T:
		return v
	case *T:
		return *v
	}
	return none
}

// requestContext carries a request's identity and client in one allocation; it answers Value
// for identityKey and clientKey as WithIdentity and WithClient on top of its parent would.
type requestContext struct {
	context.Context
	id     Identity
	client Client
}

func (c *requestContext) Value(key any) any {
	if k, ok := key.(contextKey); ok {
		switch k {
		case identityKey:
			return &c.id
		case clientKey:
			return &c.client
		}
	}
	return c.Context.Value(key)
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
	// DeviceToken is the device token the request presented (X-Device-Token, or the device
	// cookie under the refresh cookie's rules), unverified; at most MaxDeviceTokenChars.
	DeviceToken string
}

// WithClient returns ctx carrying c.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey, c)
}

// ClientFrom returns the client stored by the middleware (zero when none).
func ClientFrom(ctx context.Context) Client { return valueOf(ctx, clientKey, Client{}) }
