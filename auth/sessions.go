package auth

import (
	"context"
	"errors"
	"fmt"
)

// endSessions ends the given sessions, refusing their access tokens on this instance at once
// (other instances hear of it through the change log). It reports whether any was live.
func (s *Service) endSessions(ctx context.Context, reason string, ids ...string) (bool, error) {
	anyLive := false
	now := s.cfg.Now().UTC()
	for _, id := range ids {
		ended, err := s.store.EndSession(ctx, id, reason, now)
		if err != nil {
			return anyLive, fmt.Errorf("end session: %w", err)
		}
		anyLive = anyLive || ended
	}
	s.view.markEnded(ids...)
	return anyLive, nil
}

// endUserSessions ends every live session of a user but exceptID.
func (s *Service) endUserSessions(ctx context.Context, userID, exceptID, reason string) ([]string, error) {
	ids, err := s.store.EndUserSessions(ctx, userID, exceptID, reason, s.cfg.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("end sessions: %w", err)
	}
	s.view.markEnded(ids...)
	return ids, nil
}

// Logout ends the session of refreshToken or, when it is empty, of the request's access token.
// It reports whether a live session was ended; an unknown refresh token is not an error (the
// client is logged out either way), but a missing or bad access token is.
func (s *Service) Logout(ctx context.Context, refreshToken string) (bool, error) {
	if refreshToken == "" {
		p, err := s.Authorize(ctx, Requirement{Session: true, AllowUnverified: true}) // an API key has no session to end; logging out is always allowed
		if err != nil {
			return false, err
		}
		return s.logoutSession(ctx, p.User.ID, p.SessionID)
	}
	sess, err := s.SessionOfRefreshToken(ctx, refreshToken)
	if errors.Is(err, ErrRefreshTokenInvalid) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.logoutSession(ctx, sess.UserID, sess.ID)
}

func (s *Service) logoutSession(ctx context.Context, userID, sessionID string) (bool, error) {
	ended, err := s.endSessions(ctx, EndLogout, sessionID)
	if ended {
		s.publish(ctx, EventLogout, userID, sessionID, EndLogout)
	}
	return ended, err
}

// SessionOfRefreshToken finds the session a refresh token belongs to (current or rotated);
// ErrRefreshTokenInvalid when the token is malformed or unknown.
func (s *Service) SessionOfRefreshToken(ctx context.Context, refreshToken string) (Session, error) {
	ref, ok := s.refresh.parse(refreshToken)
	if !ok {
		return Session{}, ErrRefreshTokenInvalid
	}
	var sess Session
	var err error
	if ref.Named() { // issued for that session (its tag verified), whether current or rotated
		sess, err = s.store.SessionByID(ctx, ref.SessionID)
	} else {
		sess, err = s.store.SessionByRefreshHash(ctx, ref.Sum)
	}
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrRefreshTokenInvalid
	}
	return sess, err
}

// RevokeRefreshToken ends the session of a refresh token (RFC 7009); unknown tokens are ignored.
func (s *Service) RevokeRefreshToken(ctx context.Context, refreshToken string) error {
	_, err := s.Logout(ctx, refreshToken)
	return err
}

// LogoutAll ends every session of the caller, the current one included.
func (s *Service) LogoutAll(ctx context.Context, p Principal) error {
	ids, err := s.endUserSessions(ctx, p.User.ID, "", EndLogoutAll)
	for _, id := range ids {
		s.publish(ctx, EventLogout, p.User.ID, id, EndLogoutAll)
	}
	return err
}

// RevokeSession ends one of the caller's sessions. It reports false for a session that is not
// the caller's, unknown or already ended: no one learns whether another user's session exists.
func (s *Service) RevokeSession(ctx context.Context, p Principal, sessionID string) (bool, error) {
	sess, err := s.store.SessionByID(ctx, sessionID)
	if errors.Is(err, ErrNotFound) || (err == nil && sess.UserID != p.User.ID) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ended, err := s.endSessions(ctx, EndRevoked, sessionID)
	if ended {
		s.publish(ctx, EventSessionRevoked, p.User.ID, sessionID, EndRevoked)
	}
	return ended, err
}

// Sessions lists the caller's live sessions, newest first.
func (s *Service) Sessions(ctx context.Context, p Principal) ([]Session, error) {
	list, err := s.store.ListLiveSessions(ctx, p.User.ID, s.cfg.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	// An ended session may still be listed by a lagging replica of the view; filter with ours.
	live := list[:0]
	for _, sess := range list {
		if !s.view.sessionEnded(sess.ID) {
			live = append(live, sess)
		}
	}
	return live, nil
}

// ChangePassword checks the current password, sets the new one and ends every other session of
// the caller. The caller's session continues with a new refresh token, returned in the grant.
// The new password, the ended sessions and the new token are one store transaction: a crash
// cannot leave the old sessions alive under the new password, and a sign-in with the old
// password still in flight cannot start a session after it (see newSession).
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next string) (Grant, error) {
	if err := s.cfg.Passwords.Check(next, p.User.Email, "newPassword"); err != nil {
		return Grant{}, err
	}
	if _, err := s.checkPassword(ctx, p.User.Email, current); err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			return Grant{}, &InputError{Field: "currentPassword", Message: "current password is wrong"}
		}
		return Grant{}, err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return Grant{}, err
	}
	refresh, hashed := s.refresh.mint(p.SessionID)
	u, err := s.changeSecurity(ctx, p.User.ID, SecurityChange{
		PasswordHash: hash, EndReason: EndPasswordChange, Keep: p.SessionID, KeepRefresh: hashed,
	})
	switch {
	case errors.Is(err, ErrSessionEnded): // the caller's own session ended meanwhile: nothing changed
		return Grant{}, ErrTokenRevoked
	case errors.Is(err, ErrNotFound):
		return Grant{}, ErrTokenInvalid
	case err != nil:
		return Grant{}, fmt.Errorf("change password: %w", err)
	}
	sess, err := s.store.SessionByID(ctx, p.SessionID)
	if err != nil {
		return Grant{}, fmt.Errorf("load session: %w", err)
	}
	s.publish(ctx, EventPasswordChanged, u.ID, p.SessionID, "")
	g, err := s.grant(u, sess, refresh)
	if err != nil {
		return Grant{}, err
	}
	// The new password bumped the stamp, which retired every device token issued before; this
	// device gets one for the account as it now is.
	g.DeviceToken = s.devices.issue(u)
	return g, nil
}

// changeSecurity applies c to a user in one store transaction (stamp bumped, sessions ended),
// then brings this instance's view up to date at once, so the ended sessions' access tokens are
// refused here without waiting for the change log, and publishes the ended sessions.
func (s *Service) changeSecurity(ctx context.Context, userID string, c SecurityChange) (User, error) {
	u, ended, err := s.store.ChangeUserSecurity(ctx, userID, c, s.cfg.Now().UTC())
	if err != nil {
		return User{}, err
	}
	s.view.invalidateUser(userID)
	s.view.markEnded(ended...)
	for _, id := range ended {
		s.publish(ctx, EventSessionRevoked, userID, id, c.EndReason)
	}
	return u, nil
}
