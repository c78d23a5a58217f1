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

// ForbiddenError is a refusal of a caller who is signed in but lacks a role (Requires), or whose session or
// credential lacks what the operation needs (Reason, one of the Reason constants).
type ForbiddenError struct {
	Requires Role
	Reason   string
}

// Reasons of a ForbiddenError that are not about roles.
const (
	ReasonMFARequired              = "MFA_REQUIRED"              // the session's sign-in had one factor
	ReasonReauthenticationRequired = "REAUTHENTICATION_REQUIRED" // the sign-in is older than RecentSignIn
	ReasonSessionRequired          = "SESSION_REQUIRED"          // an API key on a credential-managing field
	ReasonUserRequired             = "USER_REQUIRED"             // a client's token on a user's field
	ReasonEmailNotVerified         = "EMAIL_NOT_VERIFIED"        // EMAIL_VERIFICATION=required
)

func (e *ForbiddenError) Error() string {
	switch e.Reason {
	case "":
		return fmt.Sprintf("requires role %s", e.Requires)
	case ReasonMFARequired:
		return "this operation needs a sign-in with a second factor"
	case ReasonReauthenticationRequired:
		return "this operation needs a recent sign-in; sign in again"
	case ReasonSessionRequired:
		return "this operation needs a signed-in session, not an API key"
	case ReasonUserRequired:
		return "this operation needs a user, not a client"
	case ReasonEmailNotVerified:
		return "verify your email address first"
	}
	return "forbidden: " + e.Reason
}

// InputError says a user-supplied field is invalid. Field is the input field's name as the client
// sent it (email, password, newPassword, ...).
type InputError struct {
	Field   string
	Message string
	// Reason, when set, says more (ReasonTokenInvalid, ReasonTokenExpired for a mail token).
	Reason string
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
