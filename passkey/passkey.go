// Package passkey is the WebAuthn adapter of the auth service: it implements
// auth.PasskeyProtocol with github.com/go-webauthn/webauthn. It turns the service's passkey
// records into the library's credentials and back, writes the options browsers take (the
// WebAuthn Level 3 JSON form, PublicKeyCredential.parseCreationOptionsFromJSON and
// parseRequestOptionsFromJSON), and verifies their answers (challenge, origin, RP id,
// signature, flags). Deciding who may do what, and the counter rule, stay in package auth.
package passkey

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/example/gqlauth/auth"
)

// Config names the relying party.
type Config struct {
	// RPID is the relying-party id: the site's host name or a registrable suffix of it
	// (WEBAUTHN_RP_ID). A passkey is bound to it for good.
	RPID string
	// Origins are the origins (scheme://host[:port]) whose pages may run the ceremonies
	// (WEBAUTHN_ORIGINS).
	Origins []string
	// Name is shown by some authenticators next to the account; "gqlauth" when empty.
	Name string
}

// MaxResponseBytes bounds a browser's answer; real ones are a few kilobytes.
const MaxResponseBytes = 64 << 10

// Adapter implements auth.PasskeyProtocol.
type Adapter struct {
	wa *webauthn.WebAuthn
}

var _ auth.PasskeyProtocol = (*Adapter)(nil)

// New checks cfg and returns the adapter.
func New(cfg Config) (*Adapter, error) {
	if cfg.Name == "" {
		cfg.Name = "gqlauth"
	}
	timeout := webauthn.TimeoutConfig{Enforce: true, Timeout: auth.PasskeyChallengeTTL, TimeoutUVD: auth.PasskeyChallengeTTL}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.Name,
		RPOrigins:     cfg.Origins,
		// No attestation: the service trusts no authenticator maker more than another, and
		// asking for it only makes browsers prompt.
		AttestationPreference: protocol.PreferNoAttestation,
		// The user is verified (biometrics or a PIN) in every ceremony: a passkey sign-in stands
		// for two factors, amr "user". A resident (discoverable) key is asked for so that the
		// sign-in can start without an email.
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	if cfg.RPID == "" {
		return nil, errors.New("webauthn: the relying-party id is empty")
	}
	return &Adapter{wa: wa}, nil
}

// user is an auth.PasskeyUser as the library sees one.
type user struct {
	auth.PasskeyUser
	creds []webauthn.Credential
}

// newUser converts u's passkeys; records are read only for a verification (full): the options
// need ids and transports alone, so starting a ceremony costs the same for an account with
// passkeys as for the decoys of an unknown email.
func newUser(u auth.PasskeyUser, full bool) (*user, error) {
	out := &user{PasskeyUser: u, creds: make([]webauthn.Credential, 0, len(u.Passkeys))}
	for _, p := range u.Passkeys {
		var c webauthn.Credential
		if full && len(p.Record) > 0 { // decoys (auth's) have none: only their id and transports show
			if err := json.Unmarshal(p.Record, &c); err != nil {
				return nil, fmt.Errorf("passkey %s: record: %w", p.ID, err)
			}
		}
		c.ID = p.CredentialID
		c.Authenticator.SignCount = p.SignCount // the store's counter is the one that counts
		c.Authenticator.CloneWarning = false
		c.Transport = make([]protocol.AuthenticatorTransport, len(p.Transports))
		for i, t := range p.Transports {
			c.Transport[i] = protocol.AuthenticatorTransport(t)
		}
		out.creds = append(out.creds, c)
	}
	return out, nil
}

func (u *user) WebAuthnID() []byte                         { return u.Handle }
func (u *user) WebAuthnName() string                       { return u.Name }
func (u *user) WebAuthnDisplayName() string                { return u.Name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// BeginRegistration returns PublicKeyCredentialCreationOptions excluding u's passkeys.
func (a *Adapter) BeginRegistration(pu auth.PasskeyUser) (options, state []byte, err error) {
	u, err := newUser(pu, false)
	if err != nil {
		return nil, nil, err
	}
	exclude := webauthn.Credentials(u.creds).CredentialDescriptors()
	creation, session, err := a.wa.BeginRegistration(u,
		webauthn.WithExclusions(exclude),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	if err != nil {
		return nil, nil, err
	}
	return encode(creation.Response, session)
}

// FinishRegistration verifies a registration response (PublicKeyCredential.toJSON()).
func (a *Adapter) FinishRegistration(pu auth.PasskeyUser, state, response []byte) (auth.NewPasskey, error) {
	session, parsed, err := readResponse(state, response, protocol.ParseCredentialCreationResponseBytes)
	if err != nil {
		return auth.NewPasskey{}, err
	}
	u, err := newUser(pu, true)
	if err != nil {
		return auth.NewPasskey{}, err
	}
	cred, err := a.wa.CreateCredential(u, session, parsed)
	if err != nil {
		return auth.NewPasskey{}, fmt.Errorf("%w: %s", auth.ErrPasskeyRejected, describe(err))
	}
	// The attestation (a 'none' statement: we ask for none) is not kept: nothing verifies it
	// later, and a record read at every sign-in should be small.
	cred.Attestation = webauthn.CredentialAttestation{}
	record, err := json.Marshal(cred)
	if err != nil {
		return auth.NewPasskey{}, err
	}
	np := auth.NewPasskey{
		CredentialID: cred.ID, Record: record, SignCount: cred.Authenticator.SignCount,
		SuggestedName: suggestName(cred.Authenticator.AAGUID, cred.Authenticator.Attachment, cred.Transport),
	}
	for _, t := range cred.Transport {
		np.Transports = append(np.Transports, string(t))
	}
	return np, nil
}

// BeginLogin returns PublicKeyCredentialRequestOptions: allowing u's passkeys, or any
// discoverable one when u is nil.
func (a *Adapter) BeginLogin(pu *auth.PasskeyUser) (options, state []byte, err error) {
	if pu == nil {
		assertion, session, err := a.wa.BeginDiscoverableLogin()
		if err != nil {
			return nil, nil, err
		}
		return encode(assertion.Response, session)
	}
	u, err := newUser(*pu, false)
	if err != nil {
		return nil, nil, err
	}
	assertion, session, err := a.wa.BeginLogin(u)
	if err != nil {
		return nil, nil, err
	}
	return encode(assertion.Response, session)
}

// FinishLogin verifies a sign-in response (PublicKeyCredential.toJSON()) with the passkey of
// the account owner names.
func (a *Adapter) FinishLogin(state, response []byte, owner func(credentialID, userHandle []byte) (auth.PasskeyUser, error)) (auth.PasskeyAssertion, error) {
	session, parsed, err := readResponse(state, response, protocol.ParseCredentialRequestResponseBytes)
	if err != nil {
		return auth.PasskeyAssertion{}, err
	}
	var handle []byte
	if len(parsed.Response.UserHandle) > 0 {
		handle = parsed.Response.UserHandle
	}
	pu, err := owner(parsed.RawID, handle)
	if err != nil {
		return auth.PasskeyAssertion{}, err // ErrPasskeyRejected, or the store's failure
	}
	u, err := newUser(pu, true)
	if err != nil {
		return auth.PasskeyAssertion{}, err
	}
	var cred *webauthn.Credential
	if len(session.UserID) > 0 { // started for an email: that account's passkeys only
		cred, err = a.wa.ValidateLogin(u, session, parsed)
	} else {
		_, cred, err = a.wa.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return u, nil }, session, parsed)
	}
	if err != nil {
		return auth.PasskeyAssertion{}, fmt.Errorf("%w: %s", auth.ErrPasskeyRejected, describe(err))
	}
	clone := cred.Authenticator.CloneWarning
	cred.Authenticator.CloneWarning = false
	record, err := json.Marshal(cred)
	if err != nil {
		return auth.PasskeyAssertion{}, err
	}
	return auth.PasskeyAssertion{
		CredentialID: cred.ID, SignCount: parsed.Response.AuthenticatorData.Counter, Record: record, CloneWarning: clone,
	}, nil
}

func encode(options any, session *webauthn.SessionData) ([]byte, []byte, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return nil, nil, err
	}
	s, err := json.Marshal(session)
	if err != nil {
		return nil, nil, err
	}
	return o, s, nil
}

// decodeState reads back what encode stored; a failure is the service's, not the client's.
func decodeState(state []byte) (webauthn.SessionData, error) {
	var s webauthn.SessionData
	if err := json.Unmarshal(state, &s); err != nil {
		return s, fmt.Errorf("passkey challenge state: %w", err)
	}
	if s.Expires.IsZero() {
		s.Expires = time.Now().Add(auth.PasskeyChallengeTTL) // enforced by auth in any case
	}
	return s, nil
}

// readResponse reads back a ceremony's state and parses the client's response to it with parse;
// a response over MaxResponseBytes is refused before it is parsed.
func readResponse[P any](state, response []byte, parse func([]byte) (P, error)) (webauthn.SessionData, P, error) {
	var none P
	session, err := decodeState(state)
	if err != nil {
		return session, none, err
	}
	if len(response) > MaxResponseBytes {
		return session, none, fmt.Errorf("%w: over %d bytes", auth.ErrPasskeyMalformed, MaxResponseBytes)
	}
	parsed, err := parse(response)
	if err != nil {
		return session, none, fmt.Errorf("%w: %s", auth.ErrPasskeyMalformed, describe(err))
	}
	return session, parsed, nil
}

// describe is the library's explanation of a refusal, for logs and error wrapping (the API
// shows its own words).
func describe(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Details != "" {
		return pe.Details
	}
	return err.Error()
}
