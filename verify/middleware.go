package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/example/gqlauth/internal/tokenrules"
)

type ctxKey struct{}

type verdict struct {
	claims Claims
	err    error
}

// NewContext returns ctx carrying claims, as Identify and Middleware store them (tests of
// handlers use it).
func NewContext(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, verdict{claims: c})
}

// ClaimsFrom returns the verified claims Identify or Middleware stored in ctx.
func ClaimsFrom(ctx context.Context) (Claims, bool) {
	v, ok := ctx.Value(ctxKey{}).(verdict)
	return v.claims, ok && v.err == nil
}

// ErrorFrom returns why ctx carries no claims: ErrMissing without a bearer token, else the
// refusal (nil when it carries claims).
func ErrorFrom(ctx context.Context) error {
	v, ok := ctx.Value(ctxKey{}).(verdict)
	if !ok {
		return ErrMissing
	}
	return v.err
}

// Identify verifies the request's bearer token, if any, and records the claims or the refusal
// in the request's context (ClaimsFrom, ErrorFrom); it never refuses. Handlers that decide per
// operation (a GraphQL server's directive) use it.
func (v *Verifier) Identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, v.identify(r))))
	})
}

func (v *Verifier) identify(r *http.Request) verdict {
	raw, missing, err := tokenrules.Bearer(r.Header.Values("Authorization"))
	switch {
	case missing:
		return verdict{err: ErrMissing}
	case err != nil:
		return verdict{err: err}
	}
	c, err := v.Verify(r.Context(), raw)
	return verdict{claims: c, err: err}
}

// Middleware lets through only requests with a valid bearer token, with its claims in the
// context (ClaimsFrom). Others get 401 and an RFC 6750 challenge: `WWW-Authenticate: Bearer`
// without a token, `Bearer error="invalid_token"` with a bad, expired or revoked one; or 503
// while the keys or the feed are unavailable (not the client's fault).
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vd := v.identify(r)
		if vd.err != nil {
			Refuse(w, vd.err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, vd)))
	})
}

// Refuse writes the answer Middleware gives for err.
func Refuse(w http.ResponseWriter, err error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	body := map[string]string{"error": "invalid_token", "error_description": Describe(err)}
	status := http.StatusUnauthorized
	switch {
	case errors.Is(err, ErrMissing):
		h.Set("WWW-Authenticate", `Bearer`)
		body = map[string]string{"error": "unauthorized", "error_description": Describe(err)}
	case errors.Is(err, ErrFeedUnavailable), errors.Is(err, ErrKeysUnavailable):
		status = http.StatusServiceUnavailable
		h.Set("Retry-After", "5")
		body = map[string]string{"error": "temporarily_unavailable", "error_description": Describe(err)}
	default:
		h.Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+Describe(err)+`"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// Describe is a short, client-safe description of a refusal (no quotes or backslashes, so it
// fits an RFC 6750 challenge).
func Describe(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMissing):
		return "no bearer token"
	case errors.Is(err, ErrExpired):
		return "the access token expired"
	case errors.Is(err, ErrSessionEnded):
		return "the session has ended"
	case errors.Is(err, ErrUserDisabled):
		return "the account is disabled"
	case errors.Is(err, ErrClientRevoked):
		return "the client is revoked"
	case errors.Is(err, ErrFeedUnavailable), errors.Is(err, ErrKeysUnavailable):
		return "token verification is temporarily unavailable"
	}
	return "the access token is invalid"
}
