// Package passkeytest is a software WebAuthn authenticator and client for tests: it answers the
// service's options (the WebAuthn Level 3 JSON forms) as a browser with a platform passkey
// would, following the spec byte for byte (clientDataJSON, authenticator data, a 'none'
// attestation, ES256 signatures), and lets a test change what a real one would not: the origin
// or RP id it claims, the signature counter, the flags.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// Authenticator flags (WebAuthn §6.1).
const (
	FlagUP = 0x01 // user present
	FlagUV = 0x04 // user verified
	FlagBE = 0x08 // backup eligible
	FlagBS = 0x10 // backed up
	FlagAT = 0x40 // attested credential data included
)

// Credential is one passkey the authenticator holds.
type Credential struct {
	ID         []byte
	UserHandle []byte
	RPID       string
	Key        *ecdsa.PrivateKey
	// Counter is the signature counter: each assertion adds Step to it first (Step 0: an
	// authenticator without a counter, which always says 0).
	Counter uint32
	Step    uint32
}

// Authenticator is a software platform authenticator plus the browser around it. Its fields
// may be changed between ceremonies; it is safe for concurrent use.
type Authenticator struct {
	mu sync.Mutex
	// Origin is what clientDataJSON says the page's origin is.
	Origin string
	// RPID, when set, replaces the options' rpId in the authenticator data's hash (a
	// credential made for another site).
	RPID string
	// Flags of the next ceremonies; FlagUP|FlagUV by default.
	Flags byte
	// AAGUID names the authenticator model; zero by default.
	AAGUID [16]byte
	creds  []*Credential
}

// New returns an authenticator whose pages come from origin.
func New(origin string) *Authenticator {
	return &Authenticator{Origin: origin, Flags: FlagUP | FlagUV}
}

// Credentials returns the passkeys made so far, oldest first.
func (a *Authenticator) Credentials() []*Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.creds)
}

var b64 = base64.RawURLEncoding

type creationOptions struct {
	Challenge string `json:"challenge"`
	RP        struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	ExcludeCredentials []struct {
		ID string `json:"id"`
	} `json:"excludeCredentials"`
}

type requestOptions struct {
	Challenge        string `json:"challenge"`
	RPID             string `json:"rpId"`
	AllowCredentials []struct {
		ID string `json:"id"`
	} `json:"allowCredentials"`
}

// ErrNoCredential: no passkey of the authenticator fits the options.
var ErrNoCredential = errors.New("passkeytest: no credential for these options")

// Create answers creation options (navigator.credentials.create) with a new ES256 credential
// and a 'none' attestation, as PublicKeyCredential.toJSON() would.
func (a *Authenticator) Create(options []byte) ([]byte, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: creation options: %w", err)
	}
	handle, err := b64.DecodeString(o.User.ID)
	if err != nil {
		return nil, fmt.Errorf("passkeytest: user.id: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ex := range o.ExcludeCredentials {
		for _, c := range a.creds {
			if ex.ID == b64.EncodeToString(c.ID) {
				return nil, errors.New("passkeytest: InvalidStateError: a credential in excludeCredentials is on this authenticator")
			}
		}
	}
	c := &Credential{ID: id, UserHandle: handle, RPID: o.RP.ID, Key: key, Step: 1}
	a.creds = append(a.creds, c)

	cose, err := webauthncbor.Marshal(map[int]any{
		1: 2, 3: -7, -1: 1, // kty EC2, alg ES256, crv P-256
		-2: pad32(key.X.Bytes()), -3: pad32(key.Y.Bytes()),
	})
	if err != nil {
		return nil, err
	}
	auth := a.authData(c.RPID, a.Flags|FlagAT, c.Counter)
	auth = append(auth, a.AAGUID[:]...)
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(id)))
	auth = append(auth, id...)
	auth = append(auth, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(id), "rawId": b64.EncodeToString(id), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal", "hybrid"},
		},
		"clientExtensionResults": map[string]any{"credProps": map[string]any{"rk": true}},
	})
}

// Get answers request options (navigator.credentials.get) with an assertion of the first
// credential that fits: one listed in allowCredentials, or, when none are listed, one made
// for the options' rpId (discoverable).
func (a *Authenticator) Get(options []byte) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: request options: %w", err)
	}
	a.mu.Lock()
	var c *Credential
	for _, cand := range a.creds {
		if len(o.AllowCredentials) == 0 && cand.RPID == o.RPID {
			c = cand
			break
		}
		for _, allow := range o.AllowCredentials {
			if allow.ID == b64.EncodeToString(cand.ID) {
				c = cand
			}
		}
		if c != nil {
			break
		}
	}
	a.mu.Unlock()
	if c == nil {
		return nil, ErrNoCredential
	}
	return a.Assert(c, o.Challenge)
}

// Assert signs an assertion of credential c for a challenge (base64url, as in the options),
// whatever the options allowed: how a test presents another user's credential.
func (a *Authenticator) Assert(c *Credential, challenge string) ([]byte, error) {
	a.mu.Lock()
	c.Counter += c.Step
	auth := a.authData(c.RPID, a.Flags, c.Counter)
	client := a.clientData("webauthn.get", challenge)
	a.mu.Unlock()
	sum := sha256.Sum256(client)
	digest := sha256.Sum256(append(slices.Clone(auth), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(client),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(c.UserHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
}

// authData is rpIdHash | flags | signCount (WebAuthn §6.1); a.mu is held.
func (a *Authenticator) authData(rpID string, flags byte, counter uint32) []byte {
	if a.RPID != "" {
		rpID = a.RPID
	}
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], flags)
	return binary.BigEndian.AppendUint32(out, counter)
}

// clientData is the client's collected data (WebAuthn §5.8.1); a.mu is held.
func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

func pad32(b []byte) []byte {
	if len(b) >= 32 {
		return b
	}
	return append(make([]byte, 32-len(b)), b...)
}

// Clone returns an authenticator holding the same credentials (shared: a use by one moves the
// other's counters) with settings of its own, to change one ceremony's origin, RP id or flags.
func (a *Authenticator) Clone() *Authenticator {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &Authenticator{Origin: a.Origin, RPID: a.RPID, Flags: a.Flags, AAGUID: a.AAGUID, creds: slices.Clone(a.creds)}
}
