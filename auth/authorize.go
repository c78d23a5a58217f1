package auth

import (
	"context"
	"errors"
)

// PrincipalKind says what kind of credential a request was authorised with.
type PrincipalKind int

const (
	// PrincipalSession is an access token of a user's login session.
	PrincipalSession PrincipalKind = iota
	// PrincipalAPIKey is a user's personal API key; acts as the user, except on fields that
	// manage credentials.
	PrincipalAPIKey
	// PrincipalClient is an OAuth client's own token (client_credentials); no user.
	PrincipalClient
)

// Principal is the caller of an authorised operation.
type Principal struct {
	Kind      PrincipalKind
	User      User   // zero for PrincipalClient
	SessionID string // PrincipalSession only
	Claims    *Claims
	APIKeyID  string // PrincipalAPIKey only
	ClientID  string // PrincipalClient only
}

// Requirement is what an operation needs of its caller, beyond a valid credential of an
// enabled account.
type Requirement struct {
	Role Role // USER when empty
	// MFA: the session's sign-in used a second factor (amr contains "mfa").
	MFA bool
	// Session: the operation manages credentials, so only a user's own session may call it,
	// not an API key.
	Session bool
	// Recent: the session's sign-in (auth_time) is at most RecentSignIn old.
	Recent bool
	// AllowUnverified: an account whose email is not verified may call it even when
	// verification is required.
	AllowUnverified bool
}

// Authorize decides whether the request's identity may use something that needs req. It
// checks, in memory: a verified token that has not expired yet, a live session, an enabled
// account, the user's current roles (not only the token's claim, so changes apply at once),
// and what req asks of the session.
func (s *Service) Authorize(ctx context.Context, req Requirement) (Principal, error) {
	id := IdentityFrom(ctx)
	if id.APIKey != nil {
		return s.authorizeAPIKey(ctx, id.APIKey, req)
	}
	if id.Claims == nil {
		return Principal{}, id.Err
	}
	// The claims may have been verified long ago (a WebSocket's, at connection_init); an HTTP
	// request's were verified moments ago, so for it this repeats Verify's answer.
	if s.tokens != nil && s.tokens.expired(id.Claims) {
		return Principal{}, ErrTokenExpired
	}
	if id.Claims.IsClient() { // a client's own token: no user, so none of our fields (check)
		if s.view.clientRevoked(id.Claims.ClientID) {
			return Principal{}, ErrTokenRevoked
		}
		p := Principal{Kind: PrincipalClient, ClientID: id.Claims.ClientID, Claims: id.Claims}
		return p, s.check(p, req)
	}
	// A disabled account is reported before its ended sessions: disabling ends every session,
	// so checking the session first would make ACCOUNT_DISABLED unreachable.
	u, err := s.credentialUser(ctx, id.Claims.Subject)
	if err != nil {
		return Principal{}, err
	}
	if s.view.sessionEnded(id.Claims.SessionID) {
		return Principal{}, ErrTokenRevoked
	}
	p := Principal{Kind: PrincipalSession, User: u, SessionID: id.Claims.SessionID, Claims: id.Claims}
	return p, s.check(p, req)
}

// check applies req to an authenticated principal: role first (the answer a client of the
// original API knows), then what the session must have.
func (s *Service) check(p Principal, req Requirement) error {
	role := req.Role
	if role == "" {
		role = RoleUser
	}
	if p.Kind == PrincipalClient {
		return &ForbiddenError{Reason: ReasonUserRequired}
	}
	if !p.User.HasRole(role) {
		return &ForbiddenError{Requires: role}
	}
	if s.cfg.Mail.Verification == VerificationRequired && !req.AllowUnverified && !p.User.EmailVerified {
		return &ForbiddenError{Reason: ReasonEmailNotVerified}
	}
	if req.Session && p.Kind != PrincipalSession {
		return &ForbiddenError{Reason: ReasonSessionRequired}
	}
	// An API key carries no second factor: created from a password-only session, it must not
	// open what that session could not (an @auth(mfa: true) field, or ADMIN under ADMIN_MFA).
	needsMFA := req.MFA || (role == RoleAdmin && s.cfg.AdminMFA)
	if p.Kind != PrincipalSession {
		if needsMFA {
			return &ForbiddenError{Reason: ReasonMFARequired}
		}
		return nil // recency is about a session's sign-in; credential fields refuse keys above
	}
	if needsMFA && !HasMFA(p.Claims.AMR) {
		return &ForbiddenError{Reason: ReasonMFARequired}
	}
	if req.Recent {
		at := p.Claims.AuthTime
		if at == nil || s.cfg.Now().Sub(at.Time) > RecentSignIn {
			return &ForbiddenError{Reason: ReasonReauthenticationRequired}
		}
	}
	return nil
}

// credentialUser is the account a credential (an access token, an API key) acts for, as the
// view knows it now: ErrTokenInvalid when there is no such account any more,
// ErrAccountDisabled when it is disabled.
func (s *Service) credentialUser(ctx context.Context, userID string) (User, error) {
	u, err := s.view.user(ctx, userID)
	switch {
	case errors.Is(err, ErrNotFound):
		return User{}, ErrTokenInvalid
	case err != nil:
		return User{}, err
	case u.Disabled:
		return User{}, ErrAccountDisabled
	}
	return u, nil
}
