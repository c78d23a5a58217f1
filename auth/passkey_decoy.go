package auth

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
)

// passkeyDecoys makes the passkeys that a sign-in for an email without any is offered: derived
// from the email with a key of the server's, so that asking twice gets the same answer (fresh
// random ones would tell an account without passkeys from one with them), every instance
// sharing the signing key answers alike, and nobody without the key can tell them from real
// ones. Their lengths and transports are those of common authenticators.
type passkeyDecoys struct{ key []byte }

// newPasskeyDecoys derives the decoy key from the current signing key's material, under a
// label of its own; without one (a tool that issues no tokens) from a random key.
func newPasskeyDecoys(ks *KeySet) *passkeyDecoys {
	var secret []byte
	if ks != nil {
		secret, _ = ks.current.material()
	}
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	key, err := hkdf.Key(sha256.New, secret, []byte("gqlauth passkey decoys"), "v1", 32)
	if err != nil {
		panic(err) // 32 bytes of SHA-256 HKDF always works
	}
	return &passkeyDecoys{key: key}
}

// Credential id lengths of common authenticators (iCloud Keychain 20, Google Password Manager
// and many security keys 16 or 32, YubiKeys 64) and their usual transports.
var (
	decoyIDLengths  = []int{16, 20, 32, 32, 64}
	decoyTransports = [][]string{{"internal", "hybrid"}, {"hybrid", "internal"}, {"usb", "nfc"}, {"internal"}, {"usb"}}
)

// user returns the decoy account of email: a handle and one or two passkeys.
func (d *passkeyDecoys) user(email string) PasskeyUser {
	seed, err := hkdf.Key(sha256.New, d.key, nil, "decoy:"+email, 3+passkeyHandleBytes+2*64)
	if err != nil {
		panic(err)
	}
	pu := PasskeyUser{Handle: seed[3 : 3+passkeyHandleBytes], Name: email}
	rest := seed[3+passkeyHandleBytes:]
	n := 1 + int(seed[0]%2)
	for i := range n {
		idLen := decoyIDLengths[int(seed[1+i])%len(decoyIDLengths)]
		pu.Passkeys = append(pu.Passkeys, Passkey{
			CredentialID: rest[i*64 : i*64+idLen],
			Transports:   decoyTransports[int(seed[1+i]/8)%len(decoyTransports)],
		})
	}
	return pu
}
