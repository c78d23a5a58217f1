package auth

import (
	"context"
	"errors"
	"time"
)

// MFAStore keeps second factors: each user's TOTP secret (sealed, see mfakeys.go), the hashes
// of their recovery codes, and the challenges of two-step sign-ins in flight. Like sessions,
// challenges live in the database so that any instance can finish a sign-in another started.
//
// Every "use" method is one conditional update, never read-then-write, so that of two
// concurrent uses of one code or challenge at most one succeeds, also across processes.
type MFAStore interface {
	// TOTPOf returns the user's TOTP, pending or on; ErrNotFound when there is none.
	TOTPOf(ctx context.Context, userID string) (TOTP, error)
	// BeginTOTP stores secret as the user's pending TOTP, replacing a pending one.
	// ErrTOTPEnabled when TOTP is already on (nothing changes); ErrNotFound for an unknown user.
	BeginTOTP(ctx context.Context, userID string, secret []byte, now time.Time) error
	// EnableTOTP turns the pending TOTP whose sealed secret is secret on, in one transaction:
	// confirmed at now, step recorded as the last used one (the confirming code is spent), the
	// user's recovery codes replaced by codes (hashes), the user's MFAEnabled set, and a
	// ChangeUser entry appended. It returns the updated user. ErrNotFound when no such setup is
	// pending (none, TOTP already on, or a newer BeginTOTP replaced the secret the code was
	// checked against).
	EnableTOTP(ctx context.Context, userID string, secret []byte, step int64, codes [][]byte, now time.Time) (User, error)
	// UseTOTPStep spends time step step of the user's TOTP (on, not pending) if it is later than
	// the last step spent, and reports whether it did; false is a replay (or TOTP is off). A
	// non-nil reseal replaces the stored secret in the same update (re-encrypted under the
	// current key).
	UseTOTPStep(ctx context.Context, userID string, step int64, reseal []byte) (bool, error)
	// DisableTOTP removes the user's TOTP (pending or on) and recovery codes, clears
	// MFAEnabled and appends a ChangeUser entry, in one transaction. It reports whether TOTP was
	// on.
	DisableTOTP(ctx context.Context, userID string, now time.Time) (bool, error)

	// UseRecoveryCode marks the user's unused recovery code with that hash used at now and
	// reports whether there was one.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) (bool, error)
	// ReplaceRecoveryCodes replaces every recovery code of a user whose TOTP is on; ErrNotFound
	// when it is not.
	ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte, now time.Time) error
	// UnusedRecoveryCodes counts the user's recovery codes not used yet.
	UnusedRecoveryCodes(ctx context.Context, userID string) (int, error)

	// CreateMFAChallenge stores c (its token only as the hash c.Hash).
	CreateMFAChallenge(ctx context.Context, c MFAChallenge) error
	// TakeMFAAttempt counts one code tried against the challenge with that hash, if it is
	// unused, not expired at now and has had fewer than max attempts, and returns it as updated.
	// ErrNotFound otherwise (unknown, used, expired, exhausted): nothing is counted.
	TakeMFAAttempt(ctx context.Context, hash []byte, maxAttempts int, now time.Time) (MFAChallenge, error)
	// ConsumeMFAChallenge marks the challenge used at now, if it is unused and not expired, and
	// reports whether this call did.
	ConsumeMFAChallenge(ctx context.Context, hash []byte, now time.Time) (bool, error)
	// PurgeMFAChallenges deletes at most batch challenges that expired before before and
	// reports how many; the caller repeats until it returns less than batch.
	PurgeMFAChallenges(ctx context.Context, before time.Time, batch int) (int64, error)
}

// TOTP is a user's time-based one-time password factor (RFC 6238).
type TOTP struct {
	UserID string
	// Secret is the shared secret sealed with the MFA key (mfakeys.go), never the secret itself.
	Secret      []byte
	CreatedAt   time.Time
	ConfirmedAt time.Time // zero while the setup is pending
	// LastStep is the last time step (Unix time / 30 s) whose code was accepted: a code of that
	// step or an earlier one is a replay.
	LastStep int64
}

// Enabled reports whether the setup was confirmed.
func (t TOTP) Enabled() bool { return !t.ConfirmedAt.IsZero() }

// MFAChallenge is the second step of a sign-in whose password was right: the mfaToken's
// stored form.
type MFAChallenge struct {
	Hash   []byte // SHA-256 of the token
	UserID string
	// Stamp is the user's security stamp when the password was checked: the session starts only
	// if it is unchanged (a password change or an admin reset in between voids the sign-in).
	Stamp     int64
	CreatedAt time.Time
	ExpiresAt time.Time
	Attempts  int       // codes tried so far
	UsedAt    time.Time // zero until the sign-in finished
}

// ErrTOTPEnabled: a TOTP setup was started for an account whose TOTP is already on.
var ErrTOTPEnabled = errors.New("TOTP is already on")
