package verify

import (
	"errors"

	"github.com/example/gqlauth/internal/tokenrules"
)

// Refusals of a token by the service's token rules (docs/tokens.md), the same values the service
// itself uses. Every one but ErrExpired wraps ErrInvalid.
var (
	ErrInvalid        = tokenrules.ErrInvalid
	ErrExpired        = tokenrules.ErrExpired
	ErrMalformed      = tokenrules.ErrMalformed
	ErrAlgorithm      = tokenrules.ErrAlgorithm
	ErrType           = tokenrules.ErrType
	ErrUnknownKey     = tokenrules.ErrUnknownKey
	ErrCritical       = tokenrules.ErrCritical
	ErrEmbeddedKey    = tokenrules.ErrEmbeddedKey
	ErrSignature      = tokenrules.ErrSignature
	ErrIssuer         = tokenrules.ErrIssuer
	ErrAudience       = tokenrules.ErrAudience
	ErrNotYetValid    = tokenrules.ErrNotYetValid
	ErrIssuedInFuture = tokenrules.ErrIssuedInFuture
	ErrClaims         = tokenrules.ErrClaims
)

// Refusals that depend on what the service said.
var (
	// ErrMissing: the request carries no bearer token (Middleware and Identify only).
	ErrMissing = errors.New("no bearer token")
	// ErrSessionEnded: the revocation feed reported the token's session ended.
	ErrSessionEnded = errors.New("the token's session has ended")
	// ErrUserDisabled: the revocation feed reported the token's user disabled.
	ErrUserDisabled = errors.New("the token's user is disabled")
	// ErrClientRevoked: the revocation feed reported the client of a client_credentials token
	// revoked.
	ErrClientRevoked = errors.New("the token's client is revoked")
	// ErrFeedUnavailable: the revocation feed has not answered for longer than
	// Options.StaleAfter (or not yet since the start), and Options.FailOpen is false.
	ErrFeedUnavailable = errors.New("revocation feed unavailable")
	// ErrKeysUnavailable: no signing key could be loaded from the JWKS yet.
	ErrKeysUnavailable = errors.New("signing keys unavailable")
)
