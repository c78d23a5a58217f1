package auth

import (
	"errors"
	"fmt"
	"time"
)

// Refusals of a request's credentials. The GraphQL and OAuth adapters translate each into the
// API's code and reason in one place (graph's error presenter, the token endpoint); this
// package never speaks in those terms.
var (
	ErrTokenMissing        = errors.New("authentication required")
	ErrTokenInvalid        = errors.New("access token is invalid")
	ErrTokenExpired        = errors.New("access token has expired")
	ErrTokenRevoked        = errors.New("access token's session has ended")
	ErrInvalidCredentials  = errors.New("invalid email or password")
	ErrRefreshTokenInvalid = errors.New("refresh token is invalid or expired")
	ErrRefreshTokenReused  = errors.New("refresh token was already used; the session has been ended")
	ErrAccountDisabled     = errors.New("account is disabled")
	// ErrRefreshTokenRetry answers a refresh token presented again within the grace window after
	// its rotation, when the first answer cannot be repeated: the session stays alive.
	ErrRefreshTokenRetry = fmt.Errorf("%w: it was rotated moments ago; use the newest refresh token", ErrRefreshTokenInvalid)
	// ErrBusy: the server could not get a password-hashing slot in time.
	ErrBusy = errors.New("server busy, try again")
)

// ForbiddenError is a refusal of a caller who is signed in but lacks a role.
type ForbiddenError struct{ Requires Role }

func (e *ForbiddenError) Error() string { return fmt.Sprintf("requires role %s", e.Requires) }

// InputError says a user-supplied field is invalid. Field is the input field's name as the client
// sent it (email, password, newPassword, ...).
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Message }

// RateLimitedError means too many attempts; the client may try again after RetryAfter.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string { return "too many attempts, try again later" }

// RetryAfterSeconds is RetryAfter rounded up to a positive whole number of seconds.
func (e *RateLimitedError) RetryAfterSeconds() int {
	s := int((e.RetryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}
