// Package refreshcookie is the one home of the optional refresh cookie (REFRESH_COOKIE=true),
// which lets a browser keep its refresh token where no script can read it: its names and
// attributes, the CSRF rule for reading it, and the per-request holder that sets it. Whoever
// issues or ends a session (the GraphQL resolvers) only says so through SetRefresh and
// ClearRefresh; the HTTP layer places the holder (Middleware). Without the holder — cookies off,
// WebSocket operations, tests — both calls do nothing. auth.RequestContext reads the cookies
// the server names (auth.CookieNames) under Preflighted's rule.
//
// CSRF: the cookie is SameSite=Strict, HttpOnly, Secure and scoped to the GraphQL path, and it
// is only read from a request that carries a header a browser sends cross-site only after a
// CORS preflight (PreflightHeaders), which only CORS_ALLOWED_ORIGINS pass. POST /query executes
// only application/json bodies, another preflight trigger.
//
// The device cookie (SetDevice) follows the same rules: set beside the refresh cookie by
// every sign-in, read only with a preflight-forcing header, and the X-Device-Token header wins
// over it. A script cannot read it, so a stolen page cannot carry the device's budget away.
package refreshcookie

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The cookies' names.
const (
	Name       = "refresh_token"
	DeviceName = "device_token"
)

// PreflightHeaders are the request headers that make the refresh cookie count: custom headers
// that a cross-site form or simple request cannot send (Apollo Client's csrfPrevention and
// Apollo Server use the second). Any non-empty value will do.
var PreflightHeaders = []string{"X-Requested-With", "Apollo-Require-Preflight"}

// Preflighted reports whether r carries one of PreflightHeaders.
func Preflighted(r *http.Request) bool {
	for _, h := range PreflightHeaders {
		if r.Header.Get(h) != "" {
			return true
		}
	}
	return false
}

// Config describes the refresh cookie and the device cookie set beside it (same
// attributes and path, the device token's lifetime). The device cookie is never cleared by a
// logout: the device stays known to the account, which is its purpose.
type Config struct {
	Name         string        // "refresh_token"
	Path         string        // "/query": sent only to the GraphQL endpoint
	MaxAge       time.Duration // the refresh token's lifetime (REFRESH_TOKEN_TTL)
	DeviceName   string        // "device_token"; "" sets no device cookie
	DeviceMaxAge time.Duration // the device token's lifetime
}

// holder is the per-request holder that sets the refresh cookie on the response.
// Set-Cookie goes into the response's header map, which the GraphQL transport writes after the
// operation has run.
type holder struct {
	cfg    Config
	mu     sync.Mutex
	header http.Header
}

type holderKey struct{}

// Middleware places a holder for w into each request's context.
func Middleware(cfg Config) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := &holder{cfg: cfg, header: w.Header()}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), holderKey{}, rc)))
		})
	}
}

// SetRefresh sets the refresh cookie to token on the response of ctx's request.
func SetRefresh(ctx context.Context, token string) {
	if rc, ok := ctx.Value(holderKey{}).(*holder); ok {
		rc.set(rc.cfg.Name, token, int(rc.cfg.MaxAge/time.Second))
	}
}

// ClearRefresh deletes the refresh cookie in the response of ctx's request.
func ClearRefresh(ctx context.Context) {
	if rc, ok := ctx.Value(holderKey{}).(*holder); ok {
		rc.set(rc.cfg.Name, "", -1)
	}
}

// SetDevice sets the device cookie to token ("": nothing) on the response of ctx's request.
func SetDevice(ctx context.Context, token string) {
	if rc, ok := ctx.Value(holderKey{}).(*holder); ok && rc.cfg.DeviceName != "" && token != "" {
		rc.set(rc.cfg.DeviceName, token, int(rc.cfg.DeviceMaxAge/time.Second))
	}
}

func (rc *holder) set(name, value string, maxAge int) {
	c := &http.Cookie{
		Name: name, Value: value, Path: rc.cfg.Path, MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	}
	v := c.String()
	if v == "" {
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	// One answer per request: a later call (rotation after login in one batch) replaces the
	// earlier one.
	kept := rc.header.Values("Set-Cookie")[:0:0]
	for _, old := range rc.header.Values("Set-Cookie") {
		if n, _, _ := strings.Cut(old, "="); n != name {
			kept = append(kept, old)
		}
	}
	rc.header["Set-Cookie"] = append(kept, v)
	rc.header.Set("Cache-Control", "no-store")
}
