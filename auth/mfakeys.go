package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// MFAKeys seal the TOTP secrets stored in the database (AES-256-GCM), so that a copy of the
// database (a backup, a read replica, an SQL injection) does not give away the codes' source.
//
// The keys come from MFA_ENCRYPTION_KEY (and MFA_ENCRYPTION_PREVIOUS_KEYS) when it is set, or
// else from the signing key material (JWT_SECRET or the private key file, and the previous
// signing keys), in both cases through HKDF-SHA-256 under a label of their own, so nothing here
// can be used as or against a token signature. A sealed secret is
//
//	version (1) | key id (8) | nonce (12) | AES-GCM ciphertext and tag
//
// with the user's id as additional data, so a sealed secret copied to another user's row does
// not open. The key id says which key sealed it: the first key seals, every key opens. Rotation:
// put the new key first and the old one among the previous keys; every secret sealed under an
// old key is re-sealed under the new one the next time its code is accepted, and an old key may
// be dropped once no secret needs it (until then a user whose secret it sealed cannot sign in
// with a code; their recovery codes, which are hashes, still work).
type MFAKeys struct {
	keys []mfaKey // keys[0] seals
}

type mfaKey struct {
	id   [mfaKeyIDBytes]byte
	aead cipher.AEAD
}

const (
	sealVersion   = 1
	mfaKeyIDBytes = 8
	sealHeader    = 1 + mfaKeyIDBytes
	// MinMFAKeyBytes is the shortest MFA_ENCRYPTION_KEY accepted.
	MinMFAKeyBytes = 32
)

// ErrSealBroken: a sealed secret does not open with any of the keys (a key was dropped too
// early, or the row was tampered with).
var ErrSealBroken = errors.New("sealed MFA secret does not open with any configured key")

// NewMFAKeys derives the keys from secrets: the first seals and opens, the others only open.
func NewMFAKeys(current []byte, previous ...[]byte) (*MFAKeys, error) {
	k := &MFAKeys{}
	for i, secret := range append([][]byte{current}, previous...) {
		if len(secret) < MinMFAKeyBytes {
			return nil, fmt.Errorf("MFA key %d is %d bytes; at least %d are required", i, len(secret), MinMFAKeyBytes)
		}
		key, err := newMFAKey(secret)
		if err != nil {
			return nil, err
		}
		k.keys = append(k.keys, key)
	}
	return k, nil
}

// mfaKeysFromSigning derives the MFA keys from the signing keys' material; nil when the current
// key has none (a previous key without material is skipped).
func mfaKeysFromSigning(ks *KeySet) *MFAKeys {
	secrets, ok := ks.materials()
	if !ok {
		return nil
	}
	k := &MFAKeys{}
	for _, secret := range secrets {
		key, err := newMFAKey(secret)
		if err != nil {
			return nil
		}
		k.keys = append(k.keys, key)
	}
	return k
}

func newMFAKey(secret []byte) (mfaKey, error) {
	raw, err := hkdf.Key(sha256.New, secret, []byte("gqlauth mfa secrets"), "gqlauth mfa v1: aes-256-gcm", 32)
	if err != nil {
		return mfaKey{}, err
	}
	id, err := hkdf.Key(sha256.New, secret, []byte("gqlauth mfa secrets"), "gqlauth mfa v1: key id", mfaKeyIDBytes)
	if err != nil {
		return mfaKey{}, err
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return mfaKey{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return mfaKey{}, err
	}
	k := mfaKey{aead: aead}
	copy(k.id[:], id)
	return k, nil
}

// seal encrypts plain for userID under the current key.
func (k *MFAKeys) seal(userID string, plain []byte) []byte {
	key := &k.keys[0]
	out := make([]byte, sealHeader, sealHeader+key.aead.NonceSize()+len(plain)+key.aead.Overhead())
	out[0] = sealVersion
	copy(out[1:], key.id[:])
	nonce := make([]byte, key.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out = append(out, nonce...)
	return key.aead.Seal(out, nonce, plain, []byte(userID))
}

// open decrypts a sealed secret of userID. stale says that a key other than the current one
// sealed it: the caller re-seals it when it next writes the row.
func (k *MFAKeys) open(userID string, sealed []byte) (plain []byte, stale bool, err error) {
	if len(sealed) < sealHeader || sealed[0] != sealVersion {
		return nil, false, ErrSealBroken
	}
	for i := range k.keys {
		key := &k.keys[i]
		if string(key.id[:]) != string(sealed[1:sealHeader]) {
			continue
		}
		body := sealed[sealHeader:]
		ns := key.aead.NonceSize()
		if len(body) < ns+key.aead.Overhead() {
			return nil, false, ErrSealBroken
		}
		plain, err := key.aead.Open(nil, body[:ns], body[ns:], []byte(userID))
		if err != nil {
			return nil, false, ErrSealBroken
		}
		return plain, i > 0, nil
	}
	return nil, false, ErrSealBroken
}
