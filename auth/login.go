package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Register creates an account with the USER role and signs it in.
func (s *Service) Register(ctx context.Context, email, password string) (Grant, error) {
	u, err := s.createUser(ctx, email, password, []Role{RoleUser}, false)
	if err != nil {
		return Grant{}, err
	}
	g, err := s.newSession(ctx, u, PasswordSignIn())
	if err == nil {
		s.publish(ctx, EventUserRegistered, u.ID, g.SessionID, "")
		s.sendVerification(ctx, u)
	}
	return g, err
}

// CreateUser validates and stores a new account for the `user create` command. Its address
// counts as verified: the operator who creates an account vouches for it.
func (s *Service) CreateUser(ctx context.Context, email, password string, roles []Role) (User, error) {
	return s.createUser(ctx, email, password, roles, true)
}

func (s *Service) createUser(ctx context.Context, email, password string, roles []Role, verified bool) (User, error) {
	email, err := NormalizeEmail(email, "email")
	if err != nil {
		return User{}, err
	}
	if err := s.cfg.Passwords.Check(password, email, "password"); err != nil {
		return User{}, err
	}
	if len(roles) == 0 {
		roles = []Role{RoleUser}
	}
	res, err := s.reserve(ctx, s.cfg.RegisterPerIP, ipKey(ctx, "register"))
	if err != nil {
		return User{}, err
	}
	res.Done(true)
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	now := s.cfg.Now().UTC()
	u := User{ID: newID(now), Email: email, PasswordHash: hash, Roles: roles, CreatedAt: now, UpdatedAt: now, EmailVerified: verified}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrEmailTaken) {
			return User{}, &InputError{Field: "email", Message: "email is already registered"}
		}
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// Login checks an email and password and starts a session. For an account with a second
// factor the right password answers *MFARequiredError instead (see mfalogin.go).
//
// Failed attempts are limited per account and per client IP; attempts in flight count, so
// aliased, batched or concurrent guesses are limited like sequential ones. A limited attempt is
// refused before the password is looked at. Unknown emails cost a bcrypt comparison like wrong
// passwords and get the same error.
func (s *Service) Login(ctx context.Context, email, password string) (Grant, error) {
	email, err := NormalizeEmail(email, "email")
	if err != nil {
		return Grant{}, err
	}
	u, err := s.checkPassword(ctx, email, password)
	if err != nil {
		return Grant{}, err
	}
	if u.MFAEnabled { // the password was right; the session waits for the second step
		return Grant{}, s.challenge(ctx, u)
	}
	g, err := s.newSession(ctx, u, PasswordSignIn())
	switch {
	case err == nil:
		s.publish(ctx, EventLogin, u.ID, g.SessionID, "")
	case errors.Is(err, ErrInvalidCredentials): // the password changed while this was in flight
		s.publish(ctx, EventLoginFailed, u.ID, "", "INVALID_CREDENTIALS")
	case errors.Is(err, ErrAccountDisabled):
		s.publish(ctx, EventLoginFailed, u.ID, "", "ACCOUNT_DISABLED")
	}
	return g, err
}

// checkPassword verifies email's password under the login limits and returns the account as
// it was read for the check (its SecurityStamp says which version of the account was checked).
// A right password is not a failure against the limits, whatever happens to the sign-in after.
func (s *Service) checkPassword(ctx context.Context, email, password string) (User, error) {
	// The address first: once it is limited, its attempts read nothing and create no bucket
	// for the emails (or devices) they name, so one address cannot fill the limiter with
	// accounts (see DefaultLimiterBytes).
	perIP, err := s.reserveOrReport(ctx, s.cfg.LoginPerIP, ipKey(ctx, "login"), "", "login")
	if err != nil {
		return User{}, err
	}
	rule, key, loaded, err := s.loginBudget(ctx, email)
	if err != nil {
		perIP.Done(false)
		return User{}, fmt.Errorf("load user: %w", err)
	}
	perAccount, err := s.reserveOrReport(ctx, rule, key, "", "login")
	if err != nil {
		perIP.Done(false)
		return User{}, err
	}
	failed := true
	defer func() { perAccount.Done(failed); perIP.Done(failed) }()

	var u User
	if loaded != nil {
		u = *loaded
	} else {
		u, err = s.store.UserByEmail(ctx, email)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		u = User{} // compared against the dummy hash below
	case err != nil:
		failed = false // not the caller's fault
		return User{}, fmt.Errorf("load user: %w", err)
	}
	if len(password) > MaxPasswordBytes {
		password = "" // can never have been set; compare anyway so the time is the same
	}
	ok, rehash, err := s.hasher.Compare(ctx, u.PasswordHash, password)
	if err != nil {
		failed = false
		return User{}, err
	}
	if !ok || password == "" {
		s.publish(ctx, EventLoginFailed, u.ID, "", "INVALID_CREDENTIALS")
		return User{}, ErrInvalidCredentials
	}
	failed = false
	if u.Disabled {
		s.publish(ctx, EventLoginFailed, u.ID, "", "ACCOUNT_DISABLED")
		return User{}, ErrAccountDisabled
	}
	if rehash {
		s.upgradeHash(ctx, u, password)
	}
	return u, nil
}

// loginBudget picks what a password attempt for email counts against: the device's own budget
// when the request presents a device token issued to that account (at its current security
// stamp), otherwise the account's. Only a token whose signature verified makes the account be read
// before the limit is checked (to compare the binding); that read is returned for reuse (a
// zero User when there is no such account), nil when nothing was read.
func (s *Service) loginBudget(ctx context.Context, email string) (rule Limit, key string, loaded *User, err error) {
	rule, key = s.cfg.LoginPerAccount, "login:account:"+email
	dv, ok := s.devices.parse(ClientFrom(ctx).DeviceToken)
	if !ok {
		return rule, key, nil, nil
	}
	u, err := s.store.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, ErrNotFound):
		return rule, key, &User{}, nil
	case err != nil:
		return rule, key, nil, err
	}
	if dv.boundTo(u) {
		rule, key = s.cfg.LoginPerDevice, dv.limiterKey()
	}
	return rule, key, &u, nil
}

// upgradeHash re-hashes a password stored at another cost. It applies only to the account as it
// was checked (u's stamp): a password changed meanwhile is never overwritten with the old one.
// A failure only costs the upgrade.
func (s *Service) upgradeHash(ctx context.Context, u User, password string) {
	hash, err := s.hasher.Hash(ctx, password)
	if err == nil {
		err = s.store.UpgradePasswordHash(ctx, u.ID, u.SecurityStamp, hash, s.cfg.Now().UTC())
	}
	if errors.Is(err, ErrUserChanged) {
		s.cfg.Logger.Debug("password hash upgrade skipped: the account changed meanwhile", "user", u.ID)
		return
	}
	if err != nil {
		s.cfg.Logger.Warn("password hash upgrade failed", "user", u.ID, "err", err)
		return
	}
	s.view.invalidateUser(u.ID)
}

// Refresh rotates a refresh token: the presented one is retired and a new pair is issued.
//
// A token presented again after its rotation is a sign of theft, and the whole session ends
// (reuse detection), unless it comes within the grace window of the rotation: then it is a
// retried request, answered with the same grant when this instance still has it, or with a
// clear error; never with a second live token.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (Grant, error) {
	// Parsed first: a malformed token costs no store call, so it needs no slot, and reserving
	// one would let garbage from rotating addresses fill the limiter with buckets.
	old, ok := s.refresh.parse(strings.TrimSpace(refreshToken))
	if !ok {
		return Grant{}, ErrRefreshTokenInvalid
	}
	res, err := s.reserve(ctx, s.cfg.RefreshPerIP, ipKey(ctx, "refresh"))
	if err != nil {
		return Grant{}, err
	}
	res.Done(true)
	sessionID := old.SessionID
	if !old.Named() {
		// A token that names no session (from before the names, or tagged under a key no
		// longer listed) is found by its hash, so that its successor can name the session.
		sess, err := s.store.SessionByRefreshHash(ctx, old.Sum)
		if errors.Is(err, ErrNotFound) {
			return Grant{}, ErrRefreshTokenInvalid
		}
		if err != nil {
			return Grant{}, fmt.Errorf("find session: %w", err)
		}
		sessionID = sess.ID
	}
	now := s.cfg.Now().UTC()
	newToken, next := s.refresh.mint(sessionID)
	sess, err := s.store.RotateRefreshToken(ctx, old, next, now)
	var rotated *AlreadyRotatedError
	switch {
	case err == nil:
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrSessionEnded):
		return Grant{}, ErrRefreshTokenInvalid
	case errors.As(err, &rotated):
		return s.rotatedAgain(ctx, old.Sum, rotated)
	default:
		return Grant{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	u, err := s.view.user(ctx, sess.UserID)
	if err != nil {
		return Grant{}, fmt.Errorf("load user: %w", err)
	}
	if u.Disabled {
		return Grant{}, ErrAccountDisabled
	}
	g, err := s.grant(u, sess, newToken)
	if err != nil {
		return Grant{}, err
	}
	// A refresh is no sign-in: it issues no device token (a stolen refresh token must not
	// mint guessing budgets), but hands back a valid one the client presented.
	g.DeviceToken = s.presentedDevice(ctx, u)
	s.grace.put(old.Sum, g)
	s.publish(ctx, EventRefreshed, u.ID, sess.ID, "")
	return g, nil
}

func (s *Service) rotatedAgain(ctx context.Context, oldHash []byte, r *AlreadyRotatedError) (Grant, error) {
	if s.cfg.Now().Sub(r.RotatedAt) <= s.cfg.ReuseGrace {
		if s.view.sessionEnded(r.SessionID) {
			return Grant{}, ErrRefreshTokenInvalid
		}
		if g, ok := s.grace.get(oldHash); ok {
			return g, nil
		}
		return Grant{}, ErrRefreshTokenRetry
	}
	ended, err := s.endSessions(ctx, EndTokenReuse, r.SessionID)
	if err != nil {
		return Grant{}, err
	}
	if ended {
		s.publish(ctx, EventRefreshReuse, r.UserID, r.SessionID, EndTokenReuse)
	}
	return Grant{}, ErrRefreshTokenReused
}
