package auth

import (
	"context"
	"net/http"
	"strings"

	"github.com/example/gqlauth/internal/refreshcookie"

	"github.com/example/gqlauth/internal/tokenrules"
)

// CookieNames are the cookies requests are read for; "" when that cookie is off.
type CookieNames struct {
	Refresh string // the refresh cookie (REFRESH_COOKIE=true)
	Device  string // the device cookie, set beside it
}

// DeviceTokenHeader is the request header that presents a device token on a login or /token
// password attempt (see device.go).
const DeviceTokenHeader = "X-Device-Token"

// RequestContext identifies a request; it never refuses. It verifies the bearer token, if
// any, and returns ctx carrying the identity (IdentityFrom) and the client (ClientFrom) of r.
// Access decisions belong to Service.Authorize (called by the GraphQL directive), so `login`
// still works with a stale Authorization header.
func RequestContext(ctx context.Context, r *http.Request, tokens *Tokens, clientIP ClientIP, cookies CookieNames) context.Context {
	rc := &requestContext{Context: ctx, id: IdentifyRequest(tokens, r.Header.Values("Authorization"))}
	rc.client = Client{IP: clientIP.Of(r), UserAgent: r.UserAgent(), DeviceToken: deviceTokenOf(r, cookies.Device)}
	if cookies.Refresh != "" {
		if c, err := r.Cookie(cookies.Refresh); err == nil {
			if refreshcookie.Preflighted(r) { // CSRF: see internal/refreshcookie
				rc.client.RefreshCookie = c.Value
			} else {
				rc.client.RefreshCookieIgnored = true
			}
		}
	}
	return rc
}

// deviceTokenOf returns the device token r presents, unverified: the X-Device-Token header, or
// else the device cookie, read under the refresh cookie's CSRF rule (only with a header that
// forces a CORS preflight). More than one header, or a value longer than any device token, is
// no token: the attempt then counts against the account, as without one.
func deviceTokenOf(r *http.Request, cookie string) string {
	bounded := func(v string) string {
		if len(v) > MaxDeviceTokenChars {
			return ""
		}
		return v
	}
	switch h := r.Header.Values(DeviceTokenHeader); len(h) {
	case 0:
	case 1:
		if v := strings.TrimSpace(h[0]); v != "" {
			return bounded(v)
		}
	default:
		return ""
	}
	if cookie != "" && refreshcookie.Preflighted(r) {
		if c, err := r.Cookie(cookie); err == nil {
			return bounded(c.Value)
		}
	}
	return ""
}

// IdentifyRequest verifies the Authorization header values of one request (also used for the
// WebSocket connection_init payload). More than one header is refused outright: proxies and
// frameworks disagree about which one counts.
func IdentifyRequest(tokens *Tokens, headers []string) Identity {
	raw, missing, err := tokenrules.Bearer(headers)
	switch {
	case missing:
		return Identity{Err: ErrTokenMissing}
	case err != nil:
		return Identity{Err: ErrTokenInvalid}
	}
	if IsAPIKey(raw) { // never a JWS: no point verifying it as one
		hash, ok := ParseAPIKey(raw)
		if !ok {
			return Identity{Err: ErrTokenInvalid}
		}
		return Identity{APIKey: hash}
	}
	claims, err := tokens.Verify(raw)
	if err != nil {
		return Identity{Err: err}
	}
	return Identity{Claims: claims}
}
