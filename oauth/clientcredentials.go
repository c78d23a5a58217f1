package oauth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/example/gqlauth/auth"
)

// clientCredentials answers grant_type=client_credentials (RFC 6749 §4.4) for an
// authenticated client: an access token whose sub and client_id are the client's id, with the
// granted scopes (all of the client's when the request names none), and no refresh token.
func (h *Handler) clientCredentials(w http.ResponseWriter, r *http.Request, c auth.OAuthClient) {
	scopes, err := auth.GrantedScopes(c, r.PostForm.Get("scope"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_scope", "the requested scope is not one of this client's")
		return
	}
	g, err := h.Auth.ClientToken(r.Context(), c, scopes)
	if errors.Is(err, auth.ErrInvalidClient) {
		h.WriteClientError(w, r, err)
		return
	}
	if err != nil {
		h.writeAuthError(w, r, err)
		return
	}
	resp := bearer(g.AccessToken, g.ExpiresIn)
	resp.Scope = strings.Join(g.Scopes, " ")
	writeUncached(w, resp)
}
