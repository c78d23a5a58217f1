package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	"github.com/example/gqlauth/internal/tokenrules"
	"github.com/golang-jwt/jwt/v5"
)

// Supported signing algorithms (JWT_ALG).
const (
	AlgHS256 = "HS256"
	AlgEdDSA = "EdDSA"
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
)

// MinHMACKeyBytes is the shortest HS256 key accepted (RFC 7518 §3.2: at least the hash size).
const MinHMACKeyBytes = 32

// SigningKey is one key of the key set: the current key signs; previous keys only verify.
type SigningKey struct {
	Alg    string
	KID    string // RFC 7638 JWK thumbprint
	method jwt.SigningMethod
	sign   any // []byte for HS256, a crypto.Signer's concrete private key otherwise
	verify any // []byte for HS256, the public key otherwise
	jwk    map[string]string
}

// NewHMACKey makes an HS256 key from the secret's bytes as given (so another service holding
// the same JWT_SECRET verifies our tokens).
func NewHMACKey(secret []byte) (SigningKey, error) {
	if len(secret) < MinHMACKeyBytes {
		return SigningKey{}, fmt.Errorf("HS256 key is %d bytes; at least %d are required", len(secret), MinHMACKeyBytes)
	}
	k := append([]byte(nil), secret...)
	jwk := map[string]string{"kty": "oct", "k": b64(k)}
	return SigningKey{Alg: AlgHS256, KID: thumbprint(jwk, "k", "kty"), method: jwt.SigningMethodHS256, sign: k, verify: k}, nil
}

// ParsePrivateKeyPEM reads a PEM private key (PKCS#8, or the traditional PKCS#1 RSA / SEC 1 EC
// forms) for alg. RSA keys under 2048 bits and curves other than P-256 for ES256 are refused.
func ParsePrivateKeyPEM(alg string, data []byte) (SigningKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return SigningKey{}, errors.New("no PEM block found")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return SigningKey{}, fmt.Errorf("unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return SigningKey{}, fmt.Errorf("parse private key: %w", err)
	}
	return newAsymmetricKey(alg, key)
}

func newAsymmetricKey(alg string, key any) (SigningKey, error) {
	switch alg {
	case AlgEdDSA:
		k, ok := key.(ed25519.PrivateKey)
		if !ok {
			return SigningKey{}, fmt.Errorf("EdDSA needs an Ed25519 key, got %T", key)
		}
		pub := k.Public().(ed25519.PublicKey)
		jwk := map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(pub)}
		return finish(alg, jwt.SigningMethodEdDSA, k, pub, jwk, "crv", "kty", "x"), nil
	case AlgES256:
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok || k.Curve != elliptic.P256() {
			return SigningKey{}, errors.New("ES256 needs an ECDSA P-256 key")
		}
		ecdh, err := k.PublicKey.ECDH()
		if err != nil {
			return SigningKey{}, err
		}
		raw := ecdh.Bytes() // 0x04 || X || Y, each 32 bytes
		jwk := map[string]string{"kty": "EC", "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:])}
		return finish(alg, jwt.SigningMethodES256, k, &k.PublicKey, jwk, "crv", "kty", "x", "y"), nil
	case AlgRS256:
		k, ok := key.(*rsa.PrivateKey)
		if !ok {
			return SigningKey{}, fmt.Errorf("RS256 needs an RSA key, got %T", key)
		}
		if k.N.BitLen() < 2048 {
			return SigningKey{}, fmt.Errorf("RSA key is %d bits; at least 2048 are required", k.N.BitLen())
		}
		jwk := map[string]string{"kty": "RSA", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
		return finish(alg, jwt.SigningMethodRS256, k, &k.PublicKey, jwk, "e", "kty", "n"), nil
	}
	return SigningKey{}, fmt.Errorf("unsupported algorithm %q", alg)
}

func finish(alg string, m jwt.SigningMethod, priv crypto.Signer, pub any, jwk map[string]string, members ...string) SigningKey {
	return SigningKey{Alg: alg, KID: thumbprint(jwk, members...), method: m, sign: priv, verify: pub, jwk: jwk}
}

// thumbprint is the RFC 7638 JWK thumbprint (the kid), as a verifier computes it too.
func thumbprint(jwk map[string]string, members ...string) string {
	return tokenrules.Thumbprint(jwk, members...)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// material is the key's secret, from which other keys are derived (device tokens): the HMAC
// secret, the Ed25519 seed, or the private scalar. Each is read the same way whatever file
// format the key came in, so instances loading the same key derive the same keys.
func (k SigningKey) material() ([]byte, error) {
	switch key := k.sign.(type) {
	case []byte:
		return key, nil
	case ed25519.PrivateKey:
		return key.Seed(), nil
	case *ecdsa.PrivateKey:
		return key.Bytes()
	case *rsa.PrivateKey:
		return key.D.Bytes(), nil
	}
	return nil, fmt.Errorf("no key material in a %T", k.sign)
}

// KeySet is the current signing key plus previous keys that still verify during a rotation.
type KeySet struct {
	current  SigningKey
	previous []SigningKey
	byKID    map[string]SigningKey
}

// NewKeySet builds a key set; every key must use the current key's algorithm, since only the
// configured algorithm is accepted.
func NewKeySet(current SigningKey, previous ...SigningKey) (*KeySet, error) {
	ks := &KeySet{current: current, byKID: map[string]SigningKey{current.KID: current}}
	for _, k := range previous {
		if k.Alg != current.Alg {
			return nil, fmt.Errorf("previous key %s uses %s, not the configured %s", k.KID, k.Alg, current.Alg)
		}
		ks.byKID[k.KID] = k
		ks.previous = append(ks.previous, k)
	}
	return ks, nil
}

// all returns the current key, then the previous ones.
func (ks *KeySet) all() []SigningKey {
	return append([]SigningKey{ks.current}, ks.previous...)
}

// materials is the secret material of the keys, the current key's first, for the keys derived
// from it (device tokens, MFA tokens). A previous key without material is skipped; ok is false
// when the current key has none.
func (ks *KeySet) materials() (secrets [][]byte, ok bool) {
	for i, k := range ks.all() {
		secret, err := k.material()
		if err != nil && i == 0 {
			return nil, false
		}
		if err == nil {
			secrets = append(secrets, secret)
		}
	}
	return secrets, true
}

// lookup is the key set as the token rules see it: the verification key a kid names.
func (ks *KeySet) lookup(kid string) (tokenrules.Key, bool) {
	k, ok := ks.byKID[kid]
	return tokenrules.Key{Alg: k.Alg, Verify: k.verify}, ok
}

// Alg is the configured algorithm.
func (ks *KeySet) Alg() string { return ks.current.Alg }

// JWKS returns the RFC 7517 JSON Web Key Set of public keys (empty under HS256: a shared secret
// is never published).
func (ks *KeySet) JWKS() []byte {
	type jwk map[string]string
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	add := func(k SigningKey) {
		if k.jwk == nil {
			return
		}
		j := jwk{"kid": k.KID, "alg": k.Alg, "use": "sig"}
		for m, v := range k.jwk {
			j[m] = v
		}
		set.Keys = append(set.Keys, j)
	}
	add(ks.current)
	for _, k := range ks.previous {
		add(k)
	}
	b, _ := json.Marshal(set)
	return b
}
