package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// The two-step sign-in. The right password for an account with TOTP on starts no session: the
// sign-in answers *MFARequiredError with an mfaToken, and VerifyMFA finishes it with a code.
//
// The mfaToken is opaque (256 random bits, prefixed "mfa_"); only its SHA-256 is stored, with
// the user, the account's security stamp at the password check, an expiry (MFATokenTTL) and a
// count of codes tried, so any instance can finish a sign-in another started. It is single-use,
// and each code tried takes one of its MaxMFAAttempts atomically before the code is looked at.
// A wrong password never gets this far: it is answered by checkPassword, exactly as for an
// account without a second factor (same error, same work, the same time).

// Methods a second step accepts (MFARequiredError.Methods).
const (
	MethodTOTP         = "TOTP"
	MethodRecoveryCode = "RECOVERY_CODE"
)

// MFARequiredError answers the right password of an account with a second factor.
type MFARequiredError struct {
	Token   string   // the mfaToken for VerifyMFA
	Methods []string // MethodTOTP, MethodRecoveryCode
}

func (e *MFARequiredError) Error() string {
	return "a second factor is required: finish the sign-in with verifyMfa and a code"
}

// MFASignIn is the amr of a sign-in by password and a one-time code.
func MFASignIn() []string { return []string{AMRPassword, AMROTP, AMRMFA} }

const mfaTokenPrefix = "mfa_"

// MaxMFATokenChars is the length of an mfaToken; adapters drop longer values unread.
const MaxMFATokenChars = len(mfaTokenPrefix) + 43

// challenge stores a two-step sign-in for u, as read by the password check, and returns the
// error that hands its token to the client.
func (s *Service) challenge(ctx context.Context, u User) error {
	token := mfaTokenPrefix + randomID(32)
	now := s.cfg.Now().UTC()
	err := s.store.CreateMFAChallenge(ctx, MFAChallenge{
		Hash: hashOpaque(token), UserID: u.ID, Stamp: u.SecurityStamp, CreatedAt: now, ExpiresAt: now.Add(MFATokenTTL),
	})
	if err != nil {
		return fmt.Errorf("create mfa challenge: %w", err)
	}
	return &MFARequiredError{Token: token, Methods: []string{MethodTOTP, MethodRecoveryCode}}
}

// parseMFAToken validates the shape of an mfaToken and returns its hash.
func parseMFAToken(token string) ([]byte, bool) {
	return parseOpaque(token, mfaTokenPrefix)
}

// VerifyMFA finishes a two-step sign-in: code is a TOTP code or a recovery code of the account
// the mfaToken was issued for. On success the session's amr is ["pwd","otp","mfa"].
//
// A used, expired, unknown or exhausted token is ErrMFATokenInvalid; a wrong code
// ErrMFACodeInvalid, counted against the token's attempts and the account's (or device's)
// login budget. Of two requests racing with one right code, one gets the session and the other
// ErrMFACodeInvalid (the time step is spent once) or ErrMFATokenInvalid (the token is used once).
func (s *Service) VerifyMFA(ctx context.Context, token, code string) (Grant, error) {
	hash, ok := parseMFAToken(strings.TrimSpace(token))
	if !ok {
		return Grant{}, ErrMFATokenInvalid
	}
	now := s.cfg.Now().UTC()
	ch, err := s.store.TakeMFAAttempt(ctx, hash, MaxMFAAttempts, now)
	if errors.Is(err, ErrNotFound) {
		return Grant{}, ErrMFATokenInvalid
	}
	if err != nil {
		return Grant{}, fmt.Errorf("mfa attempt: %w", err)
	}
	u, err := s.store.UserByID(ctx, ch.UserID)
	switch {
	case errors.Is(err, ErrNotFound):
		return Grant{}, ErrMFATokenInvalid
	case err != nil:
		return Grant{}, fmt.Errorf("load user: %w", err)
	case u.Disabled:
		return Grant{}, ErrAccountDisabled
	case u.SecurityStamp != ch.Stamp: // the password changed or an admin reset the factors
		return Grant{}, ErrMFATokenInvalid
	}
	done, err := s.reserveCode(ctx, u)
	if err != nil {
		return Grant{}, err
	}
	recovery, err := s.checkSecondFactor(ctx, u, code)
	done(errors.Is(err, ErrMFACodeInvalid))
	if errors.Is(err, ErrMFACodeInvalid) {
		s.publish(ctx, EventMFAFailed, u.ID, "", "MFA_CODE_INVALID")
		return Grant{}, err
	}
	if err != nil {
		return Grant{}, err
	}
	if recovery {
		s.publish(ctx, EventRecoveryCodeUsed, u.ID, "", "")
	}
	used, err := s.store.ConsumeMFAChallenge(ctx, hash, now)
	if err != nil {
		return Grant{}, fmt.Errorf("consume mfa challenge: %w", err)
	}
	if !used {
		return Grant{}, ErrMFATokenInvalid
	}
	g, err := s.newSession(ctx, u, MFASignIn()) // only if the stamp is still the password check's
	switch {
	case err == nil:
		s.publish(ctx, EventLogin, u.ID, g.SessionID, "")
	case errors.Is(err, ErrInvalidCredentials): // the password changed after the code was checked
		return Grant{}, ErrMFATokenInvalid
	}
	return g, err
}
