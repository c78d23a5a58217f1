package oauth

import "net/http"

// introspectionResponse is RFC 7662 §2.2. An inactive token is {"active":false} and nothing
// more: every other member is omitted.
type introspectionResponse struct {
	Active    bool     `json:"active"`
	TokenType string   `json:"token_type,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Scope     string   `json:"scope,omitempty"`
	SID       string   `json:"sid,omitempty"`
	Username  string   `json:"username,omitempty"`
	Roles     []string `json:"roles,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	Aud       string   `json:"aud,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
}

// Introspect is POST /introspect (RFC 7662), for registered clients: whether `token` (an
// access token, an API key or a refresh token) is active now, and what it stands for. The
// answer comes from the database, so a revocation on any instance applies at once.
func (h *Handler) Introspect(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	// Authenticate first: who may not ask learns nothing, not even that the request was bad.
	if _, err := h.AuthenticateClient(r); err != nil {
		h.WriteClientError(w, r, err)
		return
	}
	for _, p := range []string{"token", "token_type_hint"} {
		if len(r.PostForm[p]) > 1 {
			writeError(w, http.StatusBadRequest, "invalid_request", p+" is repeated")
			return
		}
	}
	v, ok := requiredForm(w, r, "token")
	if !ok {
		return
	}
	token := v[0]
	// token_type_hint is only a hint (RFC 7662 §2.1): every kind is recognised by its shape.
	in, err := h.Auth.Introspect(r.Context(), token)
	if err != nil {
		h.writeAuthError(w, r, err)
		return
	}
	if !in.Active {
		writeUncached(w, introspectionResponse{})
		return
	}
	out := introspectionResponse{
		Active: true, TokenType: in.TokenType, Sub: in.Subject, ClientID: in.ClientID, Scope: in.Scope,
		SID: in.SessionID, Username: in.Username, Iss: h.Auth.Issuer(), Aud: h.Auth.Audience(),
		Iat: in.IssuedAt.Unix(),
	}
	if !in.ExpiresAt.IsZero() {
		out.Exp = in.ExpiresAt.Unix()
	}
	for _, role := range in.Roles {
		out.Roles = append(out.Roles, string(role))
	}
	writeUncached(w, out)
}
