package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TokenStore answers what introspection needs to know of a refresh token beyond its session.
type TokenStore interface {
	// RefreshTokenByHash returns the refresh token stored under hash (current, or rotated and
	// remembered: see SessionStore); ErrNotFound when none is.
	RefreshTokenByHash(ctx context.Context, hash []byte) (RefreshToken, error)
}

// RefreshToken is one stored refresh token.
type RefreshToken struct {
	SessionID string
	CreatedAt time.Time
	RotatedAt time.Time // zero for the session's current token
}

// Token types of an Introspection.
const (
	TokenTypeAccess  = "access_token"
	TokenTypeAPIKey  = "api_key"
	TokenTypeRefresh = "refresh_token"
)

// Introspection is what RFC 7662 introspection says of a token. Only Active is meaningful
// when it is false.
type Introspection struct {
	Active    bool
	TokenType string // TokenTypeAccess, TokenTypeAPIKey or TokenTypeRefresh
	Subject   string
	ClientID  string // a client's own token
	Scope     string // a client's own token
	SessionID string // a user's access or refresh token
	Username  string // the user's email
	Roles     []Role // the user's current roles
	IssuedAt  time.Time
	ExpiresAt time.Time // zero: an API key that never expires
}

// Introspect says whether token (an access token, an API key or a refresh token) is active at
// this moment and what it stands for. Unlike Authorize it asks the store, not the in-memory
// view, so a revocation on any instance applies at once. A token that is unknown, malformed,
// expired, revoked, of an ended session, a disabled user or a revoked client is not active;
// only a store failure is an error.
func (s *Service) Introspect(ctx context.Context, token string) (Introspection, error) {
	token = strings.TrimSpace(token)
	switch {
	case IsAPIKey(token):
		return s.introspectAPIKey(ctx, token)
	case strings.HasPrefix(token, refreshTokenPrefix):
		return s.introspectRefresh(ctx, token)
	}
	if s.tokens == nil {
		return Introspection{}, nil
	}
	claims, err := s.tokens.Verify(token)
	if err != nil {
		return Introspection{}, nil
	}
	out := Introspection{
		TokenType: TokenTypeAccess, Subject: claims.Subject,
		IssuedAt: claims.IssuedAt.Time, ExpiresAt: claims.ExpiresAt.Time,
	}
	if claims.IsClient() {
		c, err := s.store.ClientByID(ctx, claims.ClientID)
		if errors.Is(err, ErrNotFound) || (err == nil && c.Revoked()) {
			return Introspection{}, nil
		}
		if err != nil {
			return Introspection{}, fmt.Errorf("load client: %w", err)
		}
		out.Active, out.ClientID, out.Scope = true, c.ID, claims.Scope
		return out, nil
	}
	if s.view.sessionEnded(claims.SessionID) {
		return Introspection{}, nil
	}
	sess, err := s.store.SessionByID(ctx, claims.SessionID)
	if errors.Is(err, ErrNotFound) || (err == nil && (!sess.Live(s.cfg.Now()) || sess.UserID != claims.Subject)) {
		return Introspection{}, nil
	}
	if err != nil {
		return Introspection{}, fmt.Errorf("load session: %w", err)
	}
	return s.withUser(ctx, out, sess.UserID, sess.ID)
}

func (s *Service) introspectAPIKey(ctx context.Context, token string) (Introspection, error) {
	hash, ok := ParseAPIKey(token)
	if !ok {
		return Introspection{}, nil
	}
	k, err := s.store.APIKeyByHash(ctx, hash)
	if errors.Is(err, ErrNotFound) || (err == nil && (k.Revoked() || k.ExpiredAt(s.cfg.Now()))) {
		return Introspection{}, nil
	}
	if err != nil {
		return Introspection{}, fmt.Errorf("load api key: %w", err)
	}
	out := Introspection{TokenType: TokenTypeAPIKey, Subject: k.UserID, IssuedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt}
	return s.withUser(ctx, out, k.UserID, "")
}

func (s *Service) introspectRefresh(ctx context.Context, token string) (Introspection, error) {
	ref, ok := s.refresh.parse(token)
	if !ok {
		return Introspection{}, nil
	}
	// Only a current token is active, and the store finds every current token by its hash.
	rt, err := s.store.RefreshTokenByHash(ctx, ref.Sum)
	if errors.Is(err, ErrNotFound) || (err == nil && !rt.RotatedAt.IsZero()) {
		return Introspection{}, nil
	}
	if err != nil {
		return Introspection{}, fmt.Errorf("load refresh token: %w", err)
	}
	sess, err := s.store.SessionByID(ctx, rt.SessionID)
	if errors.Is(err, ErrNotFound) || (err == nil && !sess.Live(s.cfg.Now())) {
		return Introspection{}, nil
	}
	if err != nil {
		return Introspection{}, fmt.Errorf("load session: %w", err)
	}
	out := Introspection{TokenType: TokenTypeRefresh, Subject: sess.UserID, IssuedAt: rt.CreatedAt, ExpiresAt: sess.ExpiresAt}
	return s.withUser(ctx, out, sess.UserID, sess.ID)
}

// withUser completes an active answer about a user's token with the user as stored now; a
// disabled or deleted user's tokens are not active.
func (s *Service) withUser(ctx context.Context, out Introspection, userID, sessionID string) (Introspection, error) {
	u, err := s.store.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) || (err == nil && u.Disabled) {
		return Introspection{}, nil
	}
	if err != nil {
		return Introspection{}, fmt.Errorf("load user: %w", err)
	}
	out.Active, out.SessionID, out.Username, out.Roles = true, sessionID, u.Email, u.Roles
	return out, nil
}

// Issuer and Audience are those of the tokens this service issues ("" without tokens).
func (s *Service) Issuer() string {
	if s.tokens == nil {
		return ""
	}
	return s.tokens.cfg.Issuer
}

// Audience is the aud of the tokens this service issues.
func (s *Service) Audience() string {
	if s.tokens == nil {
		return ""
	}
	return s.tokens.cfg.Audience
}
