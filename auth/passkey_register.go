package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Registration: startPasskeyRegistration and finishPasskeyRegistration need the user's own,
// recently signed-in session (the caller's Requirement says so), so a stolen access token cannot
// add the thief's passkey.

// MaxPasskeyNameChars bounds a passkey's name.
const MaxPasskeyNameChars = 64

// passkeyHandleBytes is the length of a WebAuthn user handle (the spec allows up to 64).
const passkeyHandleBytes = 32

// ErrPasskeysOff: this deployment has no WebAuthn relying party (WEBAUTHN_RP_ID; see the
// start-up log for why).
var ErrPasskeysOff = errors.New("passkeys are not configured on this server")

// Passkeys lists the caller's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, p Principal) ([]Passkey, error) {
	list, err := s.store.ListPasskeys(ctx, p.User.ID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	return list, nil
}

// StartPasskeyRegistration starts the registration of a new passkey for the caller and returns
// the challenge's id and the creation options for navigator.credentials.create().
func (s *Service) StartPasskeyRegistration(ctx context.Context, p Principal) (id string, options []byte, err error) {
	if s.cfg.Passkeys == nil {
		return "", nil, ErrPasskeysOff
	}
	if err := s.limitPasskeyStart(ctx); err != nil {
		return "", nil, err
	}
	pu, err := s.passkeyUser(ctx, p.User, true)
	if err != nil {
		return "", nil, err
	}
	if len(pu.Passkeys) >= MaxPasskeysPerUser {
		return "", nil, &InputError{Field: "passkeys", Message: fmt.Sprintf("an account can have at most %d passkeys; remove one first", MaxPasskeysPerUser)}
	}
	options, state, err := s.cfg.Passkeys.BeginRegistration(pu)
	if err != nil {
		return "", nil, fmt.Errorf("begin passkey registration: %w", err)
	}
	id, err = s.storeChallenge(ctx, PasskeyRegister, p.User.ID, state)
	return id, options, err
}

// FinishPasskeyRegistration verifies the authenticator's answer to the challenge id and stores
// the new passkey, named name or, when name is empty, after the authenticator.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p Principal, id string, response []byte, name string) (Passkey, error) {
	if s.cfg.Passkeys == nil {
		return Passkey{}, ErrPasskeysOff
	}
	name, err := passkeyName(name)
	if err != nil {
		return Passkey{}, err
	}
	c, err := s.takeChallenge(ctx, id, PasskeyRegister, p.User.ID)
	if err != nil {
		return Passkey{}, err
	}
	pu, err := s.passkeyUser(ctx, p.User, false)
	if err != nil {
		return Passkey{}, err
	}
	if len(pu.Passkeys) >= MaxPasskeysPerUser { // registrations started side by side
		return Passkey{}, &InputError{Field: "passkeys", Message: fmt.Sprintf("an account can have at most %d passkeys; remove one first", MaxPasskeysPerUser)}
	}
	np, err := s.cfg.Passkeys.FinishRegistration(pu, c.State, response)
	if err != nil {
		return Passkey{}, passkeyInputError(err)
	}
	if name == "" {
		name, _ = passkeyName(np.SuggestedName)
		if name == "" {
			name = "Passkey"
		}
	}
	now := s.cfg.Now().UTC()
	pk := Passkey{
		ID: newID(now), UserID: p.User.ID, Name: name, CredentialID: np.CredentialID, Transports: np.Transports,
		Record: np.Record, SignCount: np.SignCount, CreatedAt: now,
	}
	switch err := s.store.CreatePasskey(ctx, pk); {
	case errors.Is(err, ErrPasskeyTaken):
		return Passkey{}, &InputError{Field: "credential", Message: "this passkey is registered already"}
	case err != nil:
		return Passkey{}, fmt.Errorf("store passkey: %w", err)
	}
	s.publish(ctx, EventPasskeyAdded, p.User.ID, p.SessionID, name)
	return pk, nil
}

// DeletePasskey removes one of the caller's passkeys; false when the caller has none with id.
func (s *Service) DeletePasskey(ctx context.Context, p Principal, id string) (bool, error) {
	list, err := s.store.ListPasskeys(ctx, p.User.ID)
	if err != nil {
		return false, fmt.Errorf("list passkeys: %w", err)
	}
	name, found := "", false
	for _, pk := range list {
		if pk.ID == id {
			name, found = pk.Name, true
		}
	}
	// An account without a password signs in only with its passkeys: its last one stays.
	if found && len(list) == 1 {
		u, err := s.store.UserByID(ctx, p.User.ID) // the stored account, not a cached copy
		if err != nil {
			return false, fmt.Errorf("load user: %w", err)
		}
		if u.PasswordHash == "" {
			return false, &InputError{Field: "id", Message: "this is the account's only way to sign in; add another passkey first"}
		}
	}
	ok, err := s.store.DeletePasskey(ctx, p.User.ID, id)
	if err != nil {
		return false, fmt.Errorf("delete passkey: %w", err)
	}
	if ok {
		s.publish(ctx, EventPasskeyRemoved, p.User.ID, p.SessionID, name)
	}
	return ok, nil
}

// passkeyUser loads what the adapter needs of u; create makes u's user handle when it has none.
func (s *Service) passkeyUser(ctx context.Context, u User, create bool) (PasskeyUser, error) {
	handle, err := s.store.PasskeyHandle(ctx, u.ID)
	if errors.Is(err, ErrNotFound) && create {
		fresh := make([]byte, passkeyHandleBytes)
		_, _ = rand.Read(fresh)
		handle, err = s.store.EnsurePasskeyHandle(ctx, u.ID, fresh)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return PasskeyUser{}, fmt.Errorf("passkey user handle: %w", err)
	}
	list, err := s.store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return PasskeyUser{}, fmt.Errorf("list passkeys: %w", err)
	}
	return PasskeyUser{Handle: handle, Name: u.Email, Passkeys: list}, nil
}

// storeChallenge keeps a started ceremony for PasskeyChallengeTTL.
func (s *Service) storeChallenge(ctx context.Context, purpose, userID string, state []byte) (string, error) {
	c := PasskeyChallenge{
		ID: randomID(32), Purpose: purpose, UserID: userID, State: state,
		ExpiresAt: s.cfg.Now().UTC().Add(PasskeyChallengeTTL),
	}
	if err := s.store.CreatePasskeyChallenge(ctx, c); err != nil {
		return "", fmt.Errorf("store passkey challenge: %w", err)
	}
	return c.ID, nil
}

// errChallengeInvalid answers a challenge id that is unknown, used, expired, or not for this.
var errChallengeInvalid = &InputError{Field: "challengeId", Message: "the challenge is unknown, used or expired; start again"}

// takeChallenge uses up the challenge id, which must be unexpired, for purpose and, when userID
// is not empty, for that user. A failed finish has used it up too: every try needs a new start.
func (s *Service) takeChallenge(ctx context.Context, id, purpose, userID string) (PasskeyChallenge, error) {
	if id == "" || len(id) > 64 {
		return PasskeyChallenge{}, errChallengeInvalid
	}
	c, err := s.store.TakePasskeyChallenge(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return PasskeyChallenge{}, errChallengeInvalid
	case err != nil:
		return PasskeyChallenge{}, fmt.Errorf("take passkey challenge: %w", err)
	}
	purposeOK := c.Purpose == purpose || (purpose == PasskeyLogin && c.Purpose == PasskeyDiscover)
	if !purposeOK || (userID != "" && c.UserID != userID) || !s.cfg.Now().Before(c.ExpiresAt) {
		return PasskeyChallenge{}, errChallengeInvalid
	}
	return c, nil
}

// limitPasskeyStart counts a started ceremony against the client address: each one stores a
// row until it expires, so the rule bounds what one address can make the database hold.
func (s *Service) limitPasskeyStart(ctx context.Context) error {
	res, err := s.reserveOrReport(ctx, s.cfg.PasskeyStartPerIP, ipKey(ctx, "passkey"), "", "passkey")
	if err != nil {
		return err
	}
	res.Done(true)
	return nil
}

// passkeyInputError is the answer to a registration response that failed.
func passkeyInputError(err error) error {
	if errors.Is(err, ErrPasskeyMalformed) {
		return &InputError{Field: "credential", Message: "the credential is not a WebAuthn registration response"}
	}
	if errors.Is(err, ErrPasskeyRejected) {
		return &InputError{Field: "credential", Message: "the credential does not verify for this challenge, origin and relying party"}
	}
	return fmt.Errorf("finish passkey registration: %w", err)
}

// passkeyName trims a user-given name and checks it: printable, at most MaxPasskeyNameChars.
func passkeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	bad := &InputError{Field: "name", Message: fmt.Sprintf("a passkey name is at most %d printable characters", MaxPasskeyNameChars)}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxPasskeyNameChars {
		return "", bad
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return "", bad
		}
	}
	return name, nil
}
