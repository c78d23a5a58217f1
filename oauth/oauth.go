// Package oauth is the OAuth 2.0 adapter of the auth service: the token endpoint (RFC 6749),
// revocation (RFC 7009), the JWKS (RFC 7517) and authorization server metadata (RFC 8414).
// Like the GraphQL adapter it only translates; the rules live in package auth, so /token and
// the GraphQL mutations share limits and checks.
package oauth

import (
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"
)

// Handler serves the OAuth endpoints.
type Handler struct {
	Auth          *auth.Service
	Keys          *auth.KeySet
	Issuer        string // also the base URL of the endpoints
	PasswordGrant bool   // grant_type=password allowed (RFC 9700 advises it only for first-party tools)
	Logger        *slog.Logger
}

// tokenResponse is RFC 6749 §5.1.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	// DeviceToken is AuthPayload.deviceToken (an extension member, RFC 6749 §5.1 allows them):
	// sent back in X-Device-Token, it gives this client's password attempts a budget of their
	// own. A password grant carries a new one; a refresh grant the one it presented, if valid.
	DeviceToken string `json:"device_token,omitempty"`
}

// bearer is the response carrying a bearer access token that expires in ttl (expires_in is
// in whole seconds).
func bearer(accessToken string, ttl time.Duration) tokenResponse {
	return tokenResponse{AccessToken: accessToken, TokenType: "Bearer", ExpiresIn: int(ttl / time.Second)}
}

// errorResponse is RFC 6749 §5.2.
type errorResponse struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
	// MFAToken (error mfa_required, an extension member as RFC 6749 §5.2 allows): the right
	// password of an account with a second factor; finish with GrantMFAOTP.
	MFAToken string `json:"mfa_token,omitempty"`
}

// GrantMFAOTP is the grant that finishes a password grant answered mfa_required: mfa_token
// and otp (a TOTP or a recovery code).
const GrantMFAOTP = "urn:gqlauth:params:oauth:grant-type:mfa-otp"

// Token is POST /token: grant_type=password (username = email, password), its second step
// GrantMFAOTP (mfa_token, otp) for an account with a second factor, grant_type=refresh_token
// and grant_type=client_credentials (clientcredentials.go). A request that carries client
// authentication which fails is answered 401 invalid_client whatever its grant: a client that
// believes it authenticated must learn that it did not.
func (h *Handler) Token(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	for _, p := range []string{"grant_type", "username", "password", "refresh_token", "scope", "mfa_token", "otp"} {
		if len(r.PostForm[p]) > 1 { // RFC 6749 §3.2: parameters must not be repeated
			writeError(w, http.StatusBadRequest, "invalid_request", p+" is repeated")
			return
		}
	}
	client, err := h.AuthenticateClient(r)
	authenticated := err == nil
	if err != nil && !errors.Is(err, ErrNoClientAuth) {
		h.WriteClientError(w, r, err)
		return
	}
	gt := r.PostForm.Get("grant_type")
	// GrantMFAOTP is the password grant's second step: turned off with it.
	if (gt == "password" || gt == GrantMFAOTP) && !h.PasswordGrant {
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "the password grant is turned off")
		return
	}
	var g auth.Grant
	switch gt {
	case "password":
		v, ok := requiredForm(w, r, "username", "password")
		if !ok {
			return
		}
		g, err = h.Auth.Login(r.Context(), v[0], v[1])
	case GrantMFAOTP:
		v, ok := requiredForm(w, r, "mfa_token", "otp")
		if !ok {
			return
		}
		g, err = h.Auth.VerifyMFA(r.Context(), v[0], v[1])
	case "refresh_token":
		v, ok := requiredForm(w, r, "refresh_token")
		if !ok {
			return
		}
		g, err = h.Auth.Refresh(r.Context(), v[0])
	case "client_credentials":
		if !authenticated {
			h.WriteClientError(w, r, ErrNoClientAuth)
			return
		}
		h.clientCredentials(w, r, client)
		return
	case "":
		writeError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
		return
	default:
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "supported: "+strings.Join(h.grantTypes(), ", "))
		return
	}
	if err != nil {
		h.writeAuthError(w, r, err)
		return
	}
	resp := bearer(g.AccessToken, g.ExpiresIn)
	resp.RefreshToken, resp.DeviceToken = g.RefreshToken, g.DeviceToken
	writeUncached(w, resp)
}

// Revoke is POST /revoke (RFC 7009): ends the session of a refresh token. Unknown tokens get
// 200 too, so the endpoint reveals nothing.
func (h *Handler) Revoke(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	// Client authentication is optional here (a public client may revoke its own token), but
	// credentials that fail are refused, as at /token (RFC 7009 §2.1).
	if _, err := h.AuthenticateClient(r); err != nil && !errors.Is(err, ErrNoClientAuth) {
		h.WriteClientError(w, r, err)
		return
	}
	v, ok := requiredForm(w, r, "token")
	if !ok {
		return
	}
	token := v[0]
	if hint := r.PostForm.Get("token_type_hint"); hint != "" && hint != "refresh_token" && hint != "access_token" {
		writeError(w, http.StatusBadRequest, "unsupported_token_type", "only refresh tokens can be revoked")
		return
	}
	if err := h.Auth.RevokeRefreshToken(r.Context(), token); err != nil {
		h.writeAuthError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// writeAuthError maps auth's errors to RFC 6749 §5.2. Wrong credentials and bad refresh tokens
// are all invalid_grant with one fixed description, so an unknown user and a wrong password
// answer byte for byte the same.
func (h *Handler) writeAuthError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		limited *auth.RateLimitedError
		input   *auth.InputError
		mfa     *auth.MFARequiredError
	)
	switch {
	case errors.As(err, &mfa):
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusBadRequest, errorResponse{
			Error: "mfa_required", MFAToken: mfa.Token,
			ErrorDescription: "a second factor is required: send grant_type=" + GrantMFAOTP + " with mfa_token and otp",
		})
	case errors.Is(err, auth.ErrMFACodeInvalid):
		writeError(w, http.StatusBadRequest, "invalid_grant", "the code is wrong, expired or already used")
	case errors.Is(err, auth.ErrMFATokenInvalid):
		writeError(w, http.StatusBadRequest, "invalid_grant", "mfa_token is invalid, expired, used or out of attempts; sign in again")
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(limited.RetryAfterSeconds()))
		writeError(w, http.StatusTooManyRequests, "slow_down", "too many attempts, try again later")
	case errors.Is(err, auth.ErrBusy):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "slow_down", "server busy, try again")
	case errors.As(err, &input), errors.Is(err, auth.ErrInvalidCredentials):
		// A malformed username cannot belong to anyone: answered like a wrong password.
		writeError(w, http.StatusBadRequest, "invalid_grant", "invalid username or password")
	case errors.Is(err, auth.ErrAccountDisabled):
		writeError(w, http.StatusBadRequest, "invalid_grant", "account is disabled")
	case errors.Is(err, auth.ErrRefreshTokenReused), errors.Is(err, auth.ErrRefreshTokenInvalid):
		writeError(w, http.StatusBadRequest, "invalid_grant", "refresh token is invalid, expired or revoked")
	default:
		h.Logger.ErrorContext(r.Context(), "token endpoint failed", "err", err)
		writeError(w, http.StatusInternalServerError, "server_error", "internal server error")
	}
}

// JWKS is GET /.well-known/jwks.json.
func (h *Handler) JWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	// Short enough that a rotated-in key is picked up well within an access token's lifetime.
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(h.Keys.JWKS())
}

// Metadata is GET /.well-known/oauth-authorization-server (RFC 8414).
func (h *Handler) Metadata(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                           h.Issuer,
		"token_endpoint":                                   h.Issuer + "/token",
		"jwks_uri":                                         h.Issuer + "/.well-known/jwks.json",
		"revocation_endpoint":                              h.Issuer + "/revoke",
		"introspection_endpoint":                           h.Issuer + "/introspect",
		"grant_types_supported":                            h.grantTypes(),
		"response_types_supported":                         []string{},
		"scopes_supported":                                 []string{},
		"token_endpoint_auth_methods_supported":            clientAuthMethods(true),
		"revocation_endpoint_auth_methods_supported":       clientAuthMethods(true),
		"introspection_endpoint_auth_methods_supported":    clientAuthMethods(false),
		"token_endpoint_auth_signing_alg_values_supported": []string{h.Keys.Alg()},
	})
}

// grantTypes are the grant types /token accepts.
func (h *Handler) grantTypes() []string {
	grants := []string{"refresh_token", "client_credentials"}
	if h.PasswordGrant {
		grants = append([]string{"password"}, append(grants, GrantMFAOTP)...)
	}
	return grants
}

// clientAuthMethods: "none" where a public client may call without authenticating (the
// password and refresh grants, revocation), never at /introspect.
func clientAuthMethods(public bool) []string {
	m := []string{"client_secret_basic", "client_secret_post"}
	if public {
		m = append(m, "none")
	}
	return m
}

// parseForm reads the form body the endpoints take (RFC 6749 §3.2, RFC 7009 §2.1, RFC 7662); a body of
// another type, or one that does not parse, is answered invalid_request and parseForm is false.
func parseForm(w http.ResponseWriter, r *http.Request) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return false
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body is not a valid form")
		return false
	}
	return true
}

// MethodNotAllowed answers a method other than POST at /token or /revoke: 405 with an RFC 6749
// error object, not text, since OAuth clients read the body as one.
func MethodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	writeError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
}

// WriteTooLarge answers a body over limitText ("1 MiB") at an OAuth endpoint: 413 with an RFC
// 6749 error object, and the connection closed (the rest of the body is not read).
func WriteTooLarge(w http.ResponseWriter, limitText string) {
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusRequestEntityTooLarge, "invalid_request", "request body is larger than "+limitText)
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, errorResponse{Error: code, ErrorDescription: description})
}

// requiredForm returns the named form fields in order, or answers invalid_request naming them
// (RFC 6749 §5.2) when any is empty.
func requiredForm(w http.ResponseWriter, r *http.Request, names ...string) ([]string, bool) {
	v := make([]string, len(names))
	for i, name := range names {
		if v[i] = r.PostForm.Get(name); v[i] == "" {
			verb := " is required"
			if len(names) > 1 {
				verb = " are required"
			}
			writeError(w, http.StatusBadRequest, "invalid_request", strings.Join(names, " and ")+verb)
			return nil, false
		}
	}
	return v, true
}

// writeUncached answers 200 with v and the headers RFC 6749 §5.1 asks of a response that
// carries tokens (or, at /introspect, what a token is): nothing caches it.
func writeUncached(w http.ResponseWriter, v any) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
