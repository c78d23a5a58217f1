package auth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Second factors of an account: enrolling TOTP, turning it off, recovery codes, and checking a
// code. The two-step sign-in that asks for a code is in mfalogin.go.
//
// Every code checked here, right or wrong, takes a slot of the same budgets as a password
// attempt (the account's, or the presenting device's, and the client address's), and a wrong
// one counts: a stolen session cannot be used to guess codes faster than passwords.

// Refusals of a second factor (graph and /token map them to MFA_CODE_INVALID and
// MFA_TOKEN_INVALID).
var (
	ErrMFACodeInvalid  = errors.New("the code is wrong, expired or already used")
	ErrMFATokenInvalid = errors.New("the mfaToken is unknown, expired, used or out of attempts; sign in again")
)

// TOTPSetup is what an authenticator app needs to enrol: the secret (base32) and the same as an
// otpauth:// URI, the QR code's content.
type TOTPSetup struct {
	Secret string
	URI    string
}

func (s *Service) mfa() (*MFAKeys, error) {
	if s.mfaKeys == nil || len(s.mfaKeys.keys) == 0 {
		return nil, errors.New("no MFA encryption key: set MFA_ENCRYPTION_KEY or a signing key with key material")
	}
	return s.mfaKeys, nil
}

// StartTOTPSetup makes a new TOTP secret for the caller and stores it, sealed, as pending: it
// does nothing until ConfirmTOTPSetup proves that an app holds it. A pending setup is replaced
// by the next start. An account whose TOTP is on must turn it off first.
func (s *Service) StartTOTPSetup(ctx context.Context, p Principal) (TOTPSetup, error) {
	keys, err := s.mfa()
	if err != nil {
		return TOTPSetup{}, err
	}
	secret, uri, err := newTOTPKey(s.cfg.TOTPIssuer, p.User.Email)
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("totp key: %w", err)
	}
	err = s.store.BeginTOTP(ctx, p.User.ID, keys.seal(p.User.ID, secret), s.cfg.Now().UTC())
	switch {
	case errors.Is(err, ErrTOTPEnabled):
		return TOTPSetup{}, &InputError{Message: "two-factor authentication is already on; turn it off first"}
	case errors.Is(err, ErrNotFound):
		return TOTPSetup{}, ErrTokenInvalid
	case err != nil:
		return TOTPSetup{}, fmt.Errorf("begin totp: %w", err)
	}
	return TOTPSetup{Secret: b32.EncodeToString(secret), URI: uri}, nil
}

// ConfirmTOTPSetup turns the pending TOTP on when code is its current code, and returns the
// account's new recovery codes: shown this once, stored only as hashes.
func (s *Service) ConfirmTOTPSetup(ctx context.Context, p Principal, code string) ([]string, error) {
	keys, err := s.mfa()
	if err != nil {
		return nil, err
	}
	u := p.User
	done, err := s.reserveCode(ctx, u)
	if err != nil {
		return nil, err
	}
	failed := true
	defer func() { done(failed) }()
	t, err := s.store.TOTPOf(ctx, u.ID)
	switch {
	case errors.Is(err, ErrNotFound) || (err == nil && t.Enabled()):
		failed = false
		return nil, &InputError{Field: "code", Message: "no TOTP setup is pending; call startTotpSetup first"}
	case err != nil:
		failed = false
		return nil, fmt.Errorf("load totp: %w", err)
	}
	secret, _, err := keys.open(u.ID, t.Secret)
	if err != nil {
		failed = false
		return nil, err
	}
	now := s.cfg.Now().UTC()
	kind, c := parseCode(code)
	step, ok := matchTOTP(secret, c, now)
	if kind != codeTOTP || !ok {
		s.publish(ctx, EventMFAFailed, u.ID, p.SessionID, "MFA_CODE_INVALID")
		return nil, ErrMFACodeInvalid
	}
	shown, hashes := newRecoveryCodes(RecoveryCodeCount)
	_, err = s.store.EnableTOTP(ctx, u.ID, t.Secret, step, hashes, now)
	failed = false
	if errors.Is(err, ErrNotFound) { // a racing confirmation or a new start won
		return nil, &InputError{Field: "code", Message: "no TOTP setup is pending; call startTotpSetup first"}
	}
	if err != nil {
		return nil, fmt.Errorf("enable totp: %w", err)
	}
	s.view.invalidateUser(u.ID)
	s.publish(ctx, EventMFAEnabled, u.ID, p.SessionID, "")
	return shown, nil
}

// DisableTOTP turns TOTP off (its recovery codes go with it) when code is a current TOTP code or
// an unused recovery code. It reports false when TOTP was not on.
func (s *Service) DisableTOTP(ctx context.Context, p Principal, code string) (bool, error) {
	t, err := s.store.TOTPOf(ctx, p.User.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("load totp: %w", err)
	case !t.Enabled(): // only a pending setup: nothing is on, and no code can prove anything
		return false, nil
	}
	if err := s.checkOwnCode(ctx, p, code); err != nil {
		return false, err
	}
	was, err := s.store.DisableTOTP(ctx, p.User.ID, s.cfg.Now().UTC())
	if err != nil {
		return false, fmt.Errorf("disable totp: %w", err)
	}
	s.view.invalidateUser(p.User.ID)
	if was {
		s.publish(ctx, EventMFADisabled, p.User.ID, p.SessionID, "")
	}
	return was, nil
}

// RegenerateRecoveryCodes replaces the caller's recovery codes, after a current TOTP code or an
// unused recovery code, and returns the new ones (shown this once).
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, p Principal, code string) ([]string, error) {
	if t, err := s.store.TOTPOf(ctx, p.User.ID); errors.Is(err, ErrNotFound) || (err == nil && !t.Enabled()) {
		return nil, &InputError{Field: "code", Message: "two-factor authentication is not on"}
	} else if err != nil {
		return nil, fmt.Errorf("load totp: %w", err)
	}
	if err := s.checkOwnCode(ctx, p, code); err != nil {
		return nil, err
	}
	shown, hashes := newRecoveryCodes(RecoveryCodeCount)
	err := s.store.ReplaceRecoveryCodes(ctx, p.User.ID, hashes, s.cfg.Now().UTC())
	if errors.Is(err, ErrNotFound) { // turned off meanwhile
		return nil, &InputError{Field: "code", Message: "two-factor authentication is not on"}
	}
	if err != nil {
		return nil, fmt.Errorf("replace recovery codes: %w", err)
	}
	return shown, nil
}

// ResetMFA is the help desk's reset of an account whose owner lost their second factor: TOTP,
// recovery codes and two-step sign-ins in flight are removed and every session ends, in one
// transaction. The owner signs in with the password alone afterwards.
func (s *Service) ResetMFA(ctx context.Context, actor Principal, userID string) error {
	if _, err := s.changeSecurity(ctx, userID, SecurityChange{RemoveMFA: true, EndReason: EndMFAReset}); err != nil {
		return err
	}
	s.publish(ctx, EventMFADisabled, userID, "", "reset "+actorOf(actor))
	return nil
}

// checkOwnCode checks a code of the signed-in caller, under the code budgets.
func (s *Service) checkOwnCode(ctx context.Context, p Principal, code string) error {
	done, err := s.reserveCode(ctx, p.User)
	if err != nil {
		return err
	}
	recovery, err := s.checkSecondFactor(ctx, p.User, code)
	done(errors.Is(err, ErrMFACodeInvalid))
	switch {
	case errors.Is(err, ErrMFACodeInvalid):
		s.publish(ctx, EventMFAFailed, p.User.ID, p.SessionID, "MFA_CODE_INVALID")
	case err == nil && recovery:
		s.publish(ctx, EventRecoveryCodeUsed, p.User.ID, p.SessionID, "")
	}
	return err
}

// checkSecondFactor accepts code for u if it is a TOTP code of a step not spent yet (and spends
// it) or an unused recovery code (and uses it up); recovery says which. ErrMFACodeInvalid
// otherwise; other errors are the server's.
func (s *Service) checkSecondFactor(ctx context.Context, u User, code string) (recovery bool, err error) {
	now := s.cfg.Now().UTC()
	kind, c := parseCode(code)
	switch kind {
	case codeRecovery:
		ok, err := s.store.UseRecoveryCode(ctx, u.ID, recoveryHash(c), now)
		if err != nil {
			return false, fmt.Errorf("use recovery code: %w", err)
		}
		if !ok {
			return false, ErrMFACodeInvalid
		}
		return true, nil
	case codeTOTP:
		keys, err := s.mfa()
		if err != nil {
			return false, err
		}
		t, err := s.store.TOTPOf(ctx, u.ID)
		if errors.Is(err, ErrNotFound) || (err == nil && !t.Enabled()) {
			return false, ErrMFACodeInvalid
		}
		if err != nil {
			return false, fmt.Errorf("load totp: %w", err)
		}
		secret, stale, err := keys.open(u.ID, t.Secret)
		if err != nil {
			return false, err
		}
		step, ok := matchTOTP(secret, c, now)
		if !ok || step <= t.LastStep { // a replay: answered without a write
			return false, ErrMFACodeInvalid
		}
		var reseal []byte
		if stale { // sealed under a previous key: re-seal under the current one
			reseal = keys.seal(u.ID, secret)
		}
		used, err := s.store.UseTOTPStep(ctx, u.ID, step, reseal)
		if err != nil {
			return false, fmt.Errorf("use totp step: %w", err)
		}
		if !used { // a concurrent request spent this step (or a later one) first
			return false, ErrMFACodeInvalid
		}
		return false, nil
	}
	return false, ErrMFACodeInvalid
}

// reserveCode takes a slot of the budgets a code attempt for u counts against: the client
// address's, and the presenting device's own when its device token is bound to u, else the
// account's (the same keys as password attempts, so codes and passwords share one limit). The
// returned func ends both reservations: true counts a failure.
func (s *Service) reserveCode(ctx context.Context, u User) (func(failed bool), error) {
	perIP, err := s.reserveOrReport(ctx, s.cfg.LoginPerIP, ipKey(ctx, "login"), u.ID, "mfa")
	if err != nil {
		return nil, err
	}
	rule, key := s.cfg.LoginPerAccount, "login:account:"+u.Email
	if dv, ok := s.devices.parse(ClientFrom(ctx).DeviceToken); ok && dv.boundTo(u) {
		rule, key = s.cfg.LoginPerDevice, dv.limiterKey()
	}
	perAccount, err := s.reserveOrReport(ctx, rule, key, u.ID, "mfa")
	if err != nil {
		perIP.Done(false)
		return nil, err
	}
	return func(failed bool) { perAccount.Done(failed); perIP.Done(failed) }, nil
}

// MFATokenTTL is how long the second step of a sign-in may take; MaxMFAAttempts how many codes
// one mfaToken allows.
const (
	MFATokenTTL    = 5 * time.Minute
	MaxMFAAttempts = 5
)
