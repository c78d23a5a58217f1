package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// APIKey is a user's personal API key: presented as `Authorization: Bearer gqa_…`, it acts as
// its user (with the user's current roles and status) on every field that does not manage
// credentials. Only the SHA-256 of the secret is stored: the secret is 256 random bits, so a
// slow hash would add nothing but a cost per request.
type APIKey struct {
	ID         string
	UserID     string
	Name       string
	Prefix     string // the secret's first characters, to tell keys apart
	Hash       []byte
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero while active
}

// Revoked reports whether the key was revoked.
func (k APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// ExpiredAt reports whether the key has expired at now.
func (k APIKey) ExpiredAt(now time.Time) bool {
	return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)
}

// APIKeyStore keeps API keys.
type APIKeyStore interface {
	// CreateAPIKey inserts k.
	CreateAPIKey(ctx context.Context, k APIKey) error
	// APIKeyByHash and APIKeyByID return a key, revoked or not; ErrNotFound when unknown.
	APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error)
	APIKeyByID(ctx context.Context, id string) (APIKey, error)
	// ListAPIKeys returns the user's keys that are not revoked (expired ones included), newest
	// first.
	ListAPIKeys(ctx context.Context, userID string) ([]APIKey, error)
	// RevokeAPIKey revokes an active key and, in the same transaction, appends a
	// ChangeAPIKeyRevoked entry (UserID the owner, SessionID the key's id). It reports whether
	// this call revoked it; ErrNotFound for an unknown id.
	RevokeAPIKey(ctx context.Context, id string, now time.Time) (bool, error)
	// RevokeUserAPIKeys revokes every active key of the user, one ChangeAPIKeyRevoked entry
	// each, in one transaction, and returns their ids, sorted.
	RevokeUserAPIKeys(ctx context.Context, userID string, now time.Time) ([]string, error)
	// TouchAPIKey sets the key's LastUsedAt to now, unless it is already at or after
	// notBefore (so that instances together write it at most once per interval).
	TouchAPIKey(ctx context.Context, id string, now, notBefore time.Time) error
}

// API key secrets: "gqa_" and 32 random bytes in base64url (47 characters). The prefix makes
// them recognisable to people and to secret scanners.
const (
	apiKeyPrefix     = "gqa_"
	apiKeyShownChars = len(apiKeyPrefix) + 8
	// MaxAPIKeyNameBytes bounds a key's name; MaxAPIKeysPerUser the live keys of one user.
	MaxAPIKeyNameBytes = 100
	MaxAPIKeysPerUser  = 100
	// MaxAPIKeyDays is the longest expiry createApiKey accepts.
	MaxAPIKeyDays = 366
	// apiKeyTouchEvery: LastUsedAt is written at most this often per key.
	apiKeyTouchEvery = time.Minute
)

// IsAPIKey reports whether a bearer token is shaped as an API key (its prefix), so the
// middleware hands it to the API key check rather than to the JWT verifier.
func IsAPIKey(raw string) bool { return strings.HasPrefix(raw, apiKeyPrefix) }

// ParseAPIKey validates the shape of a presented API key and returns the hash it is stored
// under.
func ParseAPIKey(raw string) ([]byte, bool) {
	return parseOpaque(raw, apiKeyPrefix)
}

// NewAPIKey is a just-created key with its secret, which exists only here.
type NewAPIKey struct {
	Key    APIKey
	Secret string
}

// CreateAPIKey makes a key for the caller named name, expiring after expiresInDays days (nil:
// never). The caller must be a user's session (the GraphQL field says so: @credential).
func (s *Service) CreateAPIKey(ctx context.Context, p Principal, name string, expiresInDays *int) (NewAPIKey, error) {
	if p.Kind != PrincipalSession {
		return NewAPIKey{}, &ForbiddenError{Reason: ReasonSessionRequired}
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxAPIKeyNameBytes || !utf8.ValidString(name) || strings.ContainsFunc(name, isControl) {
		return NewAPIKey{}, &InputError{Field: "name", Message: fmt.Sprintf("a name of 1 to %d bytes without control characters is required", MaxAPIKeyNameBytes)}
	}
	if expiresInDays != nil && (*expiresInDays < 1 || *expiresInDays > MaxAPIKeyDays) {
		return NewAPIKey{}, &InputError{Field: "expiresInDays", Message: fmt.Sprintf("between 1 and %d days, or null for a key that never expires", MaxAPIKeyDays)}
	}
	live, err := s.store.ListAPIKeys(ctx, p.User.ID)
	if err != nil {
		return NewAPIKey{}, fmt.Errorf("list api keys: %w", err)
	}
	if len(live) >= MaxAPIKeysPerUser {
		return NewAPIKey{}, &InputError{Field: "name", Message: fmt.Sprintf("at most %d API keys; revoke one first", MaxAPIKeysPerUser)}
	}
	now := s.cfg.Now().UTC()
	secret := apiKeyPrefix + randomID(32)
	k := APIKey{
		ID: newID(now), UserID: p.User.ID, Name: name, Prefix: secret[:apiKeyShownChars],
		Hash: hashOpaque(secret), CreatedAt: now,
	}
	if expiresInDays != nil {
		k.ExpiresAt = now.Add(time.Duration(*expiresInDays) * 24 * time.Hour)
	}
	if err := s.store.CreateAPIKey(ctx, k); err != nil {
		return NewAPIKey{}, fmt.Errorf("create api key: %w", err)
	}
	return NewAPIKey{Key: k, Secret: secret}, nil
}

// APIKeys lists the keys of userID that are not revoked, newest first (the caller's own, or any
// user's for an administrator: the GraphQL fields decide who may ask).
func (s *Service) APIKeys(ctx context.Context, userID string) ([]APIKey, error) {
	return s.store.ListAPIKeys(ctx, userID)
}

// RevokeAPIKey revokes one key of the caller, or any user's key when the caller is an
// administrator. It reports false for an unknown key, one already revoked, or another user's
// (to a non-administrator: no one learns whether another user's key exists).
func (s *Service) RevokeAPIKey(ctx context.Context, p Principal, id string) (bool, error) {
	k, err := s.store.APIKeyByID(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && k.UserID != p.User.ID && !p.User.HasRole(RoleAdmin)) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load api key: %w", err)
	}
	revoked, err := s.store.RevokeAPIKey(ctx, id, s.cfg.Now().UTC())
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("revoke api key: %w", err)
	}
	if revoked {
		s.view.forgetAPIKeys(id)
	}
	return revoked, nil
}

// RevokeUserAPIKeys revokes every key of a user (the `apikeys revoke` command) and returns
// their ids.
func (s *Service) RevokeUserAPIKeys(ctx context.Context, userID string) ([]string, error) {
	ids, err := s.store.RevokeUserAPIKeys(ctx, userID, s.cfg.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("revoke api keys: %w", err)
	}
	if len(ids) > 0 {
		s.view.forgetAPIKeys(ids...)
	}
	return ids, nil
}

// authorizeAPIKey is Authorize for a request presenting an API key: answered from the
// in-memory view (the first use of a key on this instance reads it once).
func (s *Service) authorizeAPIKey(ctx context.Context, hash []byte, req Requirement) (Principal, error) {
	k, err := s.view.apiKey(ctx, hash, func() (Reservation, error) {
		return s.reserve(ctx, s.cfg.UnknownAPIKeyPerIP, ipKey(ctx, "apikey"))
	})
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrTokenInvalid
	}
	if err != nil {
		return Principal{}, err
	}
	now := s.cfg.Now()
	switch {
	case k.Revoked():
		return Principal{}, ErrTokenRevoked
	case k.ExpiredAt(now):
		return Principal{}, ErrTokenExpired
	}
	u, err := s.credentialUser(ctx, k.UserID)
	if err != nil {
		return Principal{}, err
	}
	s.keyUses.used(k.ID, now)
	p := Principal{Kind: PrincipalAPIKey, User: u, APIKeyID: k.ID}
	return p, s.check(p, req)
}
