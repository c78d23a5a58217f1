package auth

import (
	"context"
	"errors"
	"time"
)

// Passkeys (WebAuthn credentials) sign a user in on their own: the authenticator proves
// possession of a key bound to the device and verifies the user (biometrics or a PIN), so a
// passkey sign-in counts as two factors (PasskeySignIn). This package decides who may register,
// use and remove one, keeps the records and the ceremonies' challenges, and applies the
// counter rule; the WebAuthn wire format is the adapter's (PasskeyProtocol, package passkey),
// seen here only as opaque JSON.

// Passkey is one registered credential of a user.
type Passkey struct {
	ID           string
	UserID       string
	Name         string
	CredentialID []byte   // the authenticator's credential id (unique across every user)
	Transports   []string // how the client reaches the authenticator ("internal", "usb", "hybrid", ...)
	// Record is the adapter's record of the credential (public key, flags, attestation) in the
	// adapter's own encoding; nothing here reads it.
	Record []byte
	// SignCount is the authenticator's signature counter at the last use: an assertion whose
	// counter does not move past it comes from a clone (unless both are 0: no counter).
	SignCount  uint32
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
}

// Purposes of a passkey challenge: what its ceremony may finish.
const (
	PasskeyRegister = "register" // a new passkey for UserID
	PasskeyLogin    = "login"    // a sign-in of UserID ("" when the email named no account with passkeys)
	PasskeyDiscover = "discover" // a sign-in with whichever passkey the authenticator offers
)

// PasskeyChallengeTTL is how long a started ceremony can be finished.
const PasskeyChallengeTTL = 5 * time.Minute

// MaxPasskeysPerUser bounds the passkeys of one account (and so the work of one sign-in).
const MaxPasskeysPerUser = 20

// PasskeyChallenge is a started ceremony, stored so that any instance can finish it and a
// restart loses none. It is used once: taking it deletes it.
type PasskeyChallenge struct {
	ID        string
	Purpose   string // PasskeyRegister, PasskeyLogin or PasskeyDiscover
	UserID    string
	State     []byte // the adapter's ceremony state (the challenge, the allowed credentials)
	ExpiresAt time.Time
}

// PasskeyStore keeps passkeys, the users' WebAuthn user handles and started ceremonies.
type PasskeyStore interface {
	// PasskeyHandle returns the user's WebAuthn user handle; ErrNotFound when none was made.
	PasskeyHandle(ctx context.Context, userID string) ([]byte, error)
	// EnsurePasskeyHandle stores handle as the user's unless the user has one already, and
	// returns the user's handle (the first one stored wins, also across processes).
	// ErrNotFound for an unknown user.
	EnsurePasskeyHandle(ctx context.Context, userID string, handle []byte) ([]byte, error)
	// CreatePasskey stores p; ErrPasskeyTaken when its credential id is registered already (to
	// any user), ErrNotFound for an unknown user.
	CreatePasskey(ctx context.Context, p Passkey) error
	// ListPasskeys returns the user's passkeys, oldest first.
	ListPasskeys(ctx context.Context, userID string) ([]Passkey, error)
	// PasskeyByCredentialID returns the passkey with that credential id; ErrNotFound.
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (Passkey, error)
	// RecordPasskeyUse sets the passkey's counter, record and LastUsedAt, in one conditional
	// update, only if signCount moves the stored counter forward (or both are 0, an
	// authenticator without a counter). It reports whether it did: false for a counter that
	// did not move (a clone, or the loser of a race of two uses) or an unknown id.
	RecordPasskeyUse(ctx context.Context, id string, signCount uint32, record []byte, now time.Time) (bool, error)
	// DeletePasskey deletes the user's passkey id and reports whether there was one.
	DeletePasskey(ctx context.Context, userID, id string) (bool, error)

	// CreatePasskeyChallenge stores c.
	CreatePasskeyChallenge(ctx context.Context, c PasskeyChallenge) error
	// TakePasskeyChallenge deletes and returns the challenge id, expired or not (the caller
	// checks); ErrNotFound when there is none. Of two concurrent calls at most one gets it.
	TakePasskeyChallenge(ctx context.Context, id string) (PasskeyChallenge, error)
	// PurgePasskeyChallenges deletes at most batch challenges that expired before before and
	// reports how many; the caller repeats until it returns less than batch.
	PurgePasskeyChallenges(ctx context.Context, before time.Time, batch int) (int64, error)
}

// ErrPasskeyTaken: the credential id is registered already.
var ErrPasskeyTaken = errors.New("passkey already registered")

// PasskeyUser is what the WebAuthn adapter is told about an account.
type PasskeyUser struct {
	Handle   []byte // the random WebAuthn user handle (never the email)
	Name     string // the email, shown by the authenticator
	Passkeys []Passkey
}

// NewPasskey is a verified registration.
type NewPasskey struct {
	CredentialID []byte
	Transports   []string
	Record       []byte
	SignCount    uint32
	// SuggestedName names the authenticator from what it said of itself (its AAGUID or
	// attachment), for a registration that gave no name.
	SuggestedName string
}

// PasskeyAssertion is a verified sign-in with one of the user's passkeys.
type PasskeyAssertion struct {
	CredentialID []byte
	SignCount    uint32 // the authenticator's counter in this assertion
	Record       []byte // the credential's record, updated (flags)
	// CloneWarning: the counter did not move past the stored one.
	CloneWarning bool
}

// PasskeyProtocol is the WebAuthn ceremony, implemented by an adapter (package passkey). Options
// are the JSON of the WebAuthn Level 3 options object itself (PublicKeyCredentialCreationOptions
// or ...RequestOptions, no publicKey wrapper); responses are the JSON of the browser's
// PublicKeyCredential (toJSON()). State is the adapter's, kept by this package until the finish.
//
// Errors of the Finish methods wrap ErrPasskeyMalformed (the response is not a credential of
// the right kind) or ErrPasskeyRejected (it does not verify: challenge, origin, RP id,
// signature, flags, another user's credential).
type PasskeyProtocol interface {
	BeginRegistration(u PasskeyUser) (options, state []byte, err error)
	FinishRegistration(u PasskeyUser, state, response []byte) (NewPasskey, error)
	// BeginLogin starts a sign-in with u's passkeys, or with a discoverable one when u is nil.
	BeginLogin(u *PasskeyUser) (options, state []byte, err error)
	// FinishLogin verifies response; owner returns the account of the credential the response
	// names (by credential id and, for discoverable credentials, user handle) or an error.
	FinishLogin(state, response []byte, owner func(credentialID, userHandle []byte) (PasskeyUser, error)) (PasskeyAssertion, error)
}

// Errors of a PasskeyProtocol.
var (
	ErrPasskeyMalformed = errors.New("the passkey response is malformed")
	ErrPasskeyRejected  = errors.New("the passkey response does not verify")
)

// PasskeySignIn is the amr of a passkey sign-in: a hardware-bound key and a verified user, two
// factors in one.
func PasskeySignIn() []string { return []string{AMRHardwareKey, AMRUser, AMRMFA} }
