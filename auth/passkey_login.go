package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// StartPasskeyLogin starts a passkey sign-in and returns the challenge's id and the request
// options for navigator.credentials.get(). With an email it allows that account's passkeys;
// without one (nil or empty) any discoverable passkey of this relying party.
//
// An email that names no account, or an account without passkeys, is answered in the same
// shape and with the same work as one with passkeys: decoy credentials, the same for every
// request naming that email (see decoys), so that the answer says nothing about the account.
func (s *Service) StartPasskeyLogin(ctx context.Context, email *string) (id string, options []byte, err error) {
	if s.cfg.Passkeys == nil {
		return "", nil, ErrPasskeysOff
	}
	if email == nil || *email == "" {
		if err := s.limitPasskeyStart(ctx); err != nil {
			return "", nil, err
		}
		options, state, err := s.cfg.Passkeys.BeginLogin(nil)
		if err != nil {
			return "", nil, fmt.Errorf("begin passkey login: %w", err)
		}
		id, err = s.storeChallenge(ctx, PasskeyDiscover, "", state)
		return id, options, err
	}
	addr, err := NormalizeEmail(*email, "email")
	if err != nil {
		return "", nil, err
	}
	if err := s.limitPasskeyStart(ctx); err != nil {
		return "", nil, err
	}
	u, err := s.store.UserByEmail(ctx, addr)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", nil, fmt.Errorf("load user: %w", err)
	}
	// u.ID is "" for an unknown email: the same reads run, and find nothing.
	pu, err := s.passkeyUser(ctx, u, false)
	if err != nil {
		return "", nil, err
	}
	owner := u.ID
	if len(pu.Passkeys) == 0 || len(pu.Handle) == 0 {
		pu, owner = s.decoys.user(addr), ""
	}
	options, state, err := s.cfg.Passkeys.BeginLogin(&pu)
	if err != nil {
		return "", nil, fmt.Errorf("begin passkey login: %w", err)
	}
	id, err = s.storeChallenge(ctx, PasskeyLogin, owner, state)
	return id, options, err
}

// FinishPasskeyLogin verifies the authenticator's answer to the challenge id and starts a
// session with amr ["hwk","user","mfa"]. The account needs no password.
//
// Failures count against the client address's login limit. A signature counter that did not
// move forward means the passkey was cloned: the sign-in is refused and PASSKEY_CLONE_DETECTED
// audited.
func (s *Service) FinishPasskeyLogin(ctx context.Context, id string, response []byte) (Grant, error) {
	if s.cfg.Passkeys == nil {
		return Grant{}, ErrPasskeysOff
	}
	perIP, err := s.reserveOrReport(ctx, s.cfg.LoginPerIP, ipKey(ctx, "login"), "", "login")
	if err != nil {
		return Grant{}, err
	}
	failed := true
	defer func() { perIP.Done(failed) }()

	c, err := s.takeChallenge(ctx, id, PasskeyLogin, "")
	if err != nil {
		return Grant{}, err
	}
	var (
		user User
		used Passkey
	)
	owner := func(credentialID, userHandle []byte) (PasskeyUser, error) {
		pk, err := s.store.PasskeyByCredentialID(ctx, credentialID)
		if errors.Is(err, ErrNotFound) {
			return PasskeyUser{}, ErrPasskeyRejected
		}
		if err != nil {
			return PasskeyUser{}, err
		}
		// A challenge started for an email accepts only that account's passkeys (one for an
		// email without any accepts none).
		if c.Purpose == PasskeyLogin && pk.UserID != c.UserID {
			return PasskeyUser{}, ErrPasskeyRejected
		}
		u, err := s.store.UserByID(ctx, pk.UserID)
		if err != nil {
			return PasskeyUser{}, err
		}
		pu, err := s.passkeyUser(ctx, u, false)
		if err != nil {
			return PasskeyUser{}, err
		}
		if userHandle != nil && !bytes.Equal(userHandle, pu.Handle) {
			return PasskeyUser{}, ErrPasskeyRejected
		}
		user, used = u, pk
		return pu, nil
	}
	a, err := s.cfg.Passkeys.FinishLogin(c.State, response, owner)
	switch {
	case errors.Is(err, ErrPasskeyMalformed):
		return Grant{}, &InputError{Field: "credential", Message: "the credential is not a WebAuthn sign-in response"}
	case errors.Is(err, ErrPasskeyRejected):
		s.publish(ctx, EventLoginFailed, user.ID, "", "INVALID_CREDENTIALS")
		return Grant{}, ErrInvalidCredentials
	case err != nil:
		failed = false
		return Grant{}, fmt.Errorf("finish passkey login: %w", err)
	}
	if !bytes.Equal(a.CredentialID, used.CredentialID) {
		return Grant{}, ErrInvalidCredentials // the adapter verified another credential than it asked about
	}
	if a.CloneWarning {
		return Grant{}, s.cloneDetected(ctx, used)
	}
	moved, err := s.store.RecordPasskeyUse(ctx, used.ID, a.SignCount, a.Record, s.cfg.Now().UTC())
	if err != nil {
		failed = false
		return Grant{}, fmt.Errorf("record passkey use: %w", err)
	}
	if !moved { // another use got there first with a counter at least as high
		return Grant{}, s.cloneDetected(ctx, used)
	}
	failed = false
	if user.Disabled {
		s.publish(ctx, EventLoginFailed, user.ID, "", "ACCOUNT_DISABLED")
		return Grant{}, ErrAccountDisabled
	}
	g, err := s.newSession(ctx, user, PasskeySignIn())
	switch {
	case err == nil:
		s.publish(ctx, EventLogin, user.ID, g.SessionID, "passkey")
	case errors.Is(err, ErrAccountDisabled):
		s.publish(ctx, EventLoginFailed, user.ID, "", "ACCOUNT_DISABLED")
	}
	return g, err
}

// cloneDetected refuses a sign-in whose signature counter went back and audits it.
func (s *Service) cloneDetected(ctx context.Context, pk Passkey) error {
	s.cfg.Logger.Warn("passkey signature counter did not advance: possible cloned authenticator", "user", pk.UserID, "passkey", pk.ID)
	s.publish(ctx, EventPasskeyCloneDetected, pk.UserID, "", pk.Name)
	return ErrInvalidCredentials
}
