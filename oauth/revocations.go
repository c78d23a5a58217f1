package oauth

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/example/gqlauth/auth"
)

// revocationsResponse is the feed's answer (docs/api.md, GET /revocations).
type revocationsResponse struct {
	Cursor   string           `json:"cursor"`
	More     bool             `json:"more"`
	Sessions []revokedSession `json:"sessions"`
	Users    []changedUser    `json:"users"`
}

type revokedSession struct {
	SID   string `json:"sid"`
	Until string `json:"until"`
}

type changedUser struct {
	Sub      string      `json:"sub"`
	Disabled bool        `json:"disabled"`
	Roles    []auth.Role `json:"roles"`
	Client   bool        `json:"client,omitempty"` // a revoked OAuth client: sub is its client_id
	Until    string      `json:"until"`
}

// Revocations is GET /revocations?after=CURSOR&wait=SECONDS, the revocation feed for the
// verifiers of registered clients (package verify follows it): the sessions ended and the
// users changed after the cursor, waiting up to wait seconds (at most 30) for one.
func (h *Handler) Revocations(w http.ResponseWriter, r *http.Request) {
	if !h.feedClient(w, r) {
		return
	}
	q := r.URL.Query()
	for _, p := range []string{"after", "wait"} {
		if len(q[p]) > 1 {
			writeError(w, http.StatusBadRequest, "invalid_request", p+" is repeated")
			return
		}
	}
	wait := time.Duration(0)
	if s := q.Get("wait"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || len(s) > 4 {
			writeError(w, http.StatusBadRequest, "invalid_request", "wait is a whole number of seconds, 0 to 30")
			return
		}
		wait = min(time.Duration(n)*time.Second, auth.MaxRevocationWait)
	}
	page, err := h.Auth.Revocations(r.Context(), q.Get("after"), wait)
	switch {
	case errors.Is(err, auth.ErrFutureCursor):
		writeError(w, http.StatusBadRequest, "invalid_cursor", "the cursor is past the end of the change log; start again without one")
		return
	case errors.Is(err, auth.ErrInvalidCursor):
		writeError(w, http.StatusBadRequest, "invalid_cursor", "the cursor is not one this service gave out; start again without one")
		return
	case err != nil:
		h.Logger.ErrorContext(r.Context(), "revocation feed failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the change log cannot be read; try again")
		return
	}
	resp := revocationsResponse{Cursor: page.Cursor, More: page.More, Sessions: []revokedSession{}, Users: []changedUser{}}
	for _, s := range page.Sessions {
		resp.Sessions = append(resp.Sessions, revokedSession{SID: s.ID, Until: rfc3339Up(s.Until)})
	}
	for _, u := range page.Users {
		roles := u.Roles
		if roles == nil {
			roles = []auth.Role{}
		}
		resp.Users = append(resp.Users, changedUser{Sub: u.ID, Disabled: u.Disabled, Roles: roles, Client: u.Client, Until: rfc3339Up(u.Until)})
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// feedClient authenticates the registered client a feed request comes from (HTTP Basic),
// answering 401 invalid_client (or 429 when rate limited) when it fails.
func (h *Handler) feedClient(w http.ResponseWriter, r *http.Request) bool {
	_, err := h.AuthenticateClient(r)
	var limited *auth.RateLimitedError
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrNoClientAuth), errors.Is(err, auth.ErrInvalidClient), errors.As(err, &limited):
		h.WriteClientError(w, r, err)
	default: // the clients cannot be read (the database is away): the follower retries
		h.Logger.WarnContext(r.Context(), "revocation feed: client authentication failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "clients cannot be checked now; try again")
	}
	return false
}

// rfc3339Up is t in whole seconds, rounded up: an entry must not stop mattering early.
func rfc3339Up(t time.Time) string {
	return t.UTC().Add(time.Second - 1).Truncate(time.Second).Format(time.RFC3339)
}
