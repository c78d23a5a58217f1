package oauth

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/example/gqlauth/auth"
)

// Client authentication (RFC 6749 §2.3.1): client_secret_basic (HTTP Basic, the id and secret
// form-urlencoded before base64) or client_secret_post (client_id and client_secret in the
// form body). A request uses at most one method.

// ErrNoClientAuth: the request carries no client authentication at all.
var ErrNoClientAuth = errors.New("no client authentication")

// errMalformedClientAuth: client authentication is present but unreadable, repeated, or uses
// two methods at once. Answered like a wrong secret (invalid_client).
var errMalformedClientAuth = errors.New("malformed client authentication")

// clientCredentials are the id and secret a request presents.
type clientCredentials struct {
	ID, Secret string
	Method     string // "client_secret_basic" or "client_secret_post"
}

// maxBasicHeaderBytes bounds the Authorization value read for Basic credentials.
const maxBasicHeaderBytes = 4 * auth.MaxClientCredentialBytes

// clientCredentialsOf reads the client authentication of r. The form is read only when it has
// been parsed already (r.PostForm set: POST /token, /introspect); a GET has only the header.
// ErrNoClientAuth when there is none. A client_id without a client_secret is a public client
// identifying itself (RFC 6749 §2.3, §3.2.1), not authentication: it is ignored.
func clientCredentialsOf(r *http.Request) (clientCredentials, error) {
	var (
		basic      clientCredentials
		hasBasic   bool
		basicError error
	)
	switch hs := r.Header.Values("Authorization"); {
	case len(hs) > 1:
		// Two Authorization headers: proxies disagree about which one counts. Only a problem
		// here if one of them is Basic; a Bearer header is the GraphQL middleware's business.
		for _, h := range hs {
			if isBasic(h) {
				return clientCredentials{}, errMalformedClientAuth
			}
		}
	case len(hs) == 1 && isBasic(hs[0]):
		hasBasic = true
		basic, basicError = parseBasic(hs[0])
	}
	var post clientCredentials
	hasPost := false
	if r.PostForm != nil {
		ids, secrets := r.PostForm["client_id"], r.PostForm["client_secret"]
		if len(ids) > 1 || len(secrets) > 1 {
			return clientCredentials{}, errMalformedClientAuth
		}
		if len(secrets) == 1 {
			if len(ids) != 1 {
				return clientCredentials{}, errMalformedClientAuth
			}
			hasPost = true
			post = clientCredentials{ID: ids[0], Secret: secrets[0], Method: "client_secret_post"}
		}
		if hasBasic && len(ids) == 1 && basicError == nil && ids[0] != basic.ID {
			return clientCredentials{}, errMalformedClientAuth // two different clients
		}
	}
	switch {
	case hasBasic && hasPost:
		return clientCredentials{}, errMalformedClientAuth // RFC 6749 §2.3: one method only
	case hasBasic:
		return basic, basicError
	case hasPost:
		if post.ID == "" || len(post.ID) > auth.MaxClientCredentialBytes || len(post.Secret) > auth.MaxClientCredentialBytes {
			return clientCredentials{}, errMalformedClientAuth
		}
		return post, nil
	}
	return clientCredentials{}, ErrNoClientAuth
}

func isBasic(h string) bool {
	scheme, _, _ := strings.Cut(strings.TrimLeft(h, " "), " ")
	return strings.EqualFold(scheme, "Basic")
}

// parseBasic reads `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 7617, with RFC
// 6749 §2.3.1's encoding). Anything else, a missing colon, an empty id or oversized parts is
// errMalformedClientAuth.
func parseBasic(h string) (clientCredentials, error) {
	if len(h) > maxBasicHeaderBytes {
		return clientCredentials{}, errMalformedClientAuth
	}
	scheme, rest, ok := strings.Cut(strings.TrimLeft(h, " "), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return clientCredentials{}, errMalformedClientAuth
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(strings.Trim(rest, " "))
	if err != nil {
		return clientCredentials{}, errMalformedClientAuth
	}
	encID, encSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return clientCredentials{}, errMalformedClientAuth
	}
	id, err1 := url.QueryUnescape(encID)
	secret, err2 := url.QueryUnescape(encSecret)
	if err1 != nil || err2 != nil || id == "" ||
		len(id) > auth.MaxClientCredentialBytes || len(secret) > auth.MaxClientCredentialBytes {
		return clientCredentials{}, errMalformedClientAuth
	}
	return clientCredentials{ID: id, Secret: secret, Method: "client_secret_basic"}, nil
}

// AuthenticateClient authenticates the OAuth client of r by HTTP Basic or, when the form has
// been parsed (r.ParseForm before calling), client_secret_post. It returns the client, or
// ErrNoClientAuth when r carries no client authentication, or an error for WriteClientError:
// auth.ErrInvalidClient (unknown, wrong secret, revoked, malformed), *auth.RateLimitedError.
// Secrets are compared in constant time against their stored hashes, and failures are limited
// per client and per address (auth.Service.AuthenticateClient).
func (h *Handler) AuthenticateClient(r *http.Request) (auth.OAuthClient, error) {
	creds, err := clientCredentialsOf(r)
	switch {
	case errors.Is(err, ErrNoClientAuth):
		return auth.OAuthClient{}, err
	case err != nil:
		// Still counted against the address, like any failed attempt.
		_, _ = h.Auth.AuthenticateClient(r.Context(), "", "")
		return auth.OAuthClient{}, auth.ErrInvalidClient
	}
	return h.Auth.AuthenticateClient(r.Context(), creds.ID, creds.Secret)
}

// WriteClientError answers a request whose client authentication failed (an error of
// AuthenticateClient, ErrNoClientAuth included): 401 invalid_client with WWW-Authenticate:
// Basic (RFC 6749 §5.2), 429 when rate limited, 500 for anything unexpected.
func (h *Handler) WriteClientError(w http.ResponseWriter, r *http.Request, err error) {
	var limited *auth.RateLimitedError
	switch {
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(limited.RetryAfterSeconds()))
		writeError(w, http.StatusTooManyRequests, "slow_down", "too many failed client authentications, try again later")
	case errors.Is(err, ErrNoClientAuth), errors.Is(err, auth.ErrInvalidClient):
		w.Header().Set("WWW-Authenticate", `Basic realm="`+h.realm()+`", charset="UTF-8"`)
		writeError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
	default:
		h.Logger.ErrorContext(r.Context(), "client authentication failed", "err", err)
		writeError(w, http.StatusInternalServerError, "server_error", "internal server error")
	}
}

// realm is the Basic realm: the issuer, without characters a quoted-string cannot carry.
func (h *Handler) realm() string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, h.Issuer)
}
