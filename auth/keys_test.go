package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

var ktAlgs = []string{AlgHS256, AlgEdDSA, AlgES256, AlgRS256}

// ktRSA caches generated RSA keys: generating them is slow.
var ktRSA = struct {
	sync.Mutex
	keys []*rsa.PrivateKey
}{}

// ktRSAKey returns the i-th cached 2048-bit RSA key.
func ktRSAKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	ktRSA.Lock()
	defer ktRSA.Unlock()
	for len(ktRSA.keys) <= i {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		ktRSA.keys = append(ktRSA.keys, k)
	}
	return ktRSA.keys[i]
}

// ktPrivate makes a fresh private key for alg (the i-th cached one for RSA), or a 32-byte
// secret for HS256.
func ktPrivate(t testing.TB, alg string, i int) any {
	t.Helper()
	switch alg {
	case AlgHS256:
		b := make([]byte, 48)
		_, _ = rand.Read(b)
		return b
	case AlgEdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	case AlgES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	case AlgRS256:
		return ktRSAKey(t, i)
	}
	t.Fatalf("unknown alg %s", alg)
	return nil
}

// ktPKCS8 encodes a private key as a PKCS#8 PEM block.
func ktPKCS8(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// ktSigningKey builds a SigningKey for alg the way the server does: NewHMACKey for HS256,
// ParsePrivateKeyPEM of a PKCS#8 PEM file otherwise. It returns the raw key as well.
func ktSigningKey(t testing.TB, alg string, i int) (SigningKey, any) {
	t.Helper()
	raw := ktPrivate(t, alg, i)
	var (
		k   SigningKey
		err error
	)
	if alg == AlgHS256 {
		k, err = NewHMACKey(raw.([]byte))
	} else {
		k, err = ParsePrivateKeyPEM(alg, ktPKCS8(t, raw))
	}
	if err != nil {
		t.Fatalf("%s: %v", alg, err)
	}
	return k, raw
}

// ktThumbprint is an independent RFC 7638 §3 implementation: the required members, sorted by
// name, as JSON without whitespace; SHA-256; base64url without padding.
func ktThumbprint(members map[string]string) string {
	names := make([]string, 0, len(members))
	for n := range members {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(n)
		vb, _ := json.Marshal(members[n])
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	sum := sha256.Sum256([]byte(b.String()))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ktRequiredMembers are the RFC 7638 §3.2 required members of the public JWK of raw.
func ktRequiredMembers(t testing.TB, raw any) map[string]string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	switch k := raw.(type) {
	case []byte:
		return map[string]string{"kty": "oct", "k": enc(k)}
	case ed25519.PrivateKey:
		return map[string]string{"kty": "OKP", "crv": "Ed25519", "x": enc(k.Public().(ed25519.PublicKey))}
	case *ecdsa.PrivateKey:
		// RFC 7518 §6.2.1.2: coordinates are the full field size (32 bytes for P-256).
		return map[string]string{"kty": "EC", "crv": "P-256", "x": enc(k.X.FillBytes(make([]byte, 32))), "y": enc(k.Y.FillBytes(make([]byte, 32)))}
	case *rsa.PrivateKey:
		return map[string]string{"kty": "RSA", "n": enc(k.N.Bytes()), "e": enc(big.NewInt(int64(k.E)).Bytes())}
	}
	t.Fatalf("unexpected key type %T", raw)
	return nil
}

func TestThumbprintRFC7638Example(t *testing.T) {
	// RFC 7638 §3.1.
	const n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	const want = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	jwk := map[string]string{"kty": "RSA", "n": n, "e": "AQAB"}
	if got := thumbprint(jwk, "e", "kty", "n"); got != want {
		t.Fatalf("thumbprint = %s, want %s", got, want)
	}
	if got := ktThumbprint(jwk); got != want {
		t.Fatalf("the test's own thumbprint = %s, want %s", got, want)
	}

	// The same key through the code path that builds SigningKeys from an RSA key (only the
	// public half enters the thumbprint, so any private exponent will do for this check).
	nb, _ := base64.RawURLEncoding.DecodeString(n)
	priv := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: 65537}, D: big.NewInt(3)}
	k, err := newAsymmetricKey(AlgRS256, priv)
	if err != nil {
		t.Fatal(err)
	}
	if k.KID != want {
		t.Fatalf("SigningKey.KID = %s, want %s", k.KID, want)
	}
}

func TestKeysSignVerifyAndKID(t *testing.T) {
	for _, alg := range ktAlgs {
		t.Run(alg, func(t *testing.T) {
			key, raw := ktSigningKey(t, alg, 0)
			if key.Alg != alg {
				t.Fatalf("Alg = %s", key.Alg)
			}
			if want := ktThumbprint(ktRequiredMembers(t, raw)); key.KID != want {
				t.Fatalf("KID = %s, want the RFC 7638 thumbprint %s", key.KID, want)
			}
			ks, err := NewKeySet(key)
			if err != nil {
				t.Fatal(err)
			}
			if ks.Alg() != alg {
				t.Fatalf("KeySet.Alg = %s", ks.Alg())
			}
			tokens := NewTokens(ks, ktTokenConfig(nil))
			raw1, _, err := tokens.Issue(ktUser, Session{ID: "sess-1"})
			if err != nil {
				t.Fatal(err)
			}
			h := ktHeader(t, raw1)
			if h["alg"] != alg || h["kid"] != key.KID || h["typ"] != "at+jwt" {
				t.Fatalf("header %v", h)
			}
			c, err := tokens.Verify(raw1)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Subject != ktUser.ID || c.SessionID != "sess-1" {
				t.Fatalf("claims %+v", c)
			}
			// A second key of the same algorithm does not verify the first one's tokens.
			other, _ := ktSigningKey(t, alg, 1)
			if other.KID == key.KID {
				t.Fatal("two keys share a kid")
			}
			ks2, _ := NewKeySet(other)
			if _, err := NewTokens(ks2, ktTokenConfig(nil)).Verify(raw1); !errors.Is(err, ErrTokenInvalid) {
				t.Fatalf("another key verified the token: %v", err)
			}
		})
	}
}

func TestPrivateKeyPEMForms(t *testing.T) {
	rsaKey := ktRSAKey(t, 0)
	ecKey := ktPrivate(t, AlgES256, 0).(*ecdsa.PrivateKey)
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		alg         string
		pkcs8, trad []byte
	}{
		{AlgRS256, ktPKCS8(t, rsaKey), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})},
		{AlgES256, ktPKCS8(t, ecKey), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})},
	}
	for _, c := range cases {
		a, err := ParsePrivateKeyPEM(c.alg, c.pkcs8)
		if err != nil {
			t.Fatalf("%s PKCS#8: %v", c.alg, err)
		}
		b, err := ParsePrivateKeyPEM(c.alg, c.trad)
		if err != nil {
			t.Fatalf("%s traditional: %v", c.alg, err)
		}
		if a.KID != b.KID {
			t.Fatalf("%s: the two PEM forms give kids %s and %s", c.alg, a.KID, b.KID)
		}
	}
}

func TestPrivateKeyPEMRefusals(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	pubDER, _ := x509.MarshalPKIXPublicKey(ed.Public())
	cases := []struct {
		name string
		alg  string
		pem  []byte
		want string // part of the error
	}{
		{"RSA 1024 bits", AlgRS256, ktPKCS8(t, small), "2048"},
		{"RSA 1024 bits, PKCS#1", AlgRS256, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(small)}), "2048"},
		{"ES256 with P-384", AlgES256, ktPKCS8(t, p384), "P-256"},
		{"EdDSA with an RSA key", AlgEdDSA, ktPKCS8(t, ktRSAKey(t, 0)), ""},
		{"RS256 with an Ed25519 key", AlgRS256, ktPKCS8(t, ed), ""},
		{"ES256 with an Ed25519 key", AlgES256, ktPKCS8(t, ed), ""},
		{"a public key", AlgEdDSA, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), ""},
		{"not PEM", AlgEdDSA, []byte("not a key"), ""},
		{"empty", AlgEdDSA, nil, ""},
		{"corrupt DER", AlgEdDSA, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x03, 0x02, 0x01}}), ""},
		{"HS256 is not a PEM algorithm", AlgHS256, ktPKCS8(t, ed), ""},
		{"unknown algorithm", "PS256", ktPKCS8(t, ktRSAKey(t, 0)), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePrivateKeyPEM(c.alg, c.pem)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", err, c.want)
			}
		})
	}
	// 2048 bits exactly is enough.
	if _, err := ParsePrivateKeyPEM(AlgRS256, ktPKCS8(t, ktRSAKey(t, 0))); err != nil {
		t.Fatalf("2048-bit RSA refused: %v", err)
	}
}

func TestHMACKeyLength(t *testing.T) {
	if _, err := NewHMACKey(make([]byte, MinHMACKeyBytes-1)); err == nil {
		t.Fatal("a 31-byte secret was accepted")
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	k, err := NewHMACKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	// The key is the secret's bytes as given: another service holding JWT_SECRET verifies.
	ks, _ := NewKeySet(k)
	tok, _, err := NewTokens(ks, ktTokenConfig(nil)).Issue(ktUser, Session{ID: "s"})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(ktNow))
	if err != nil || !parsed.Valid {
		t.Fatalf("a plain JWT library with the secret as given refused the token: %v", err)
	}
	// The secret is copied: changing the caller's slice changes nothing.
	secret[0] ^= 0xff
	if _, err := NewTokens(ks, ktTokenConfig(nil)).Verify(tok); err != nil {
		t.Fatalf("key aliased the caller's slice: %v", err)
	}
}

func TestJWKS(t *testing.T) {
	for _, alg := range ktAlgs {
		t.Run(alg, func(t *testing.T) {
			cur, curRaw := ktSigningKey(t, alg, 0)
			prev, prevRaw := ktSigningKey(t, alg, 1)
			ks, err := NewKeySet(cur, prev)
			if err != nil {
				t.Fatal(err)
			}
			body := ks.JWKS()
			if alg == AlgHS256 {
				if string(body) != `{"keys":[]}` {
					t.Fatalf("HS256 JWKS = %s, want an empty key set", body)
				}
				return
			}
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(body, &set); err != nil {
				t.Fatal(err)
			}
			if len(set.Keys) != 2 {
				t.Fatalf("want current and previous key, got %s", body)
			}
			raws := []any{curRaw, prevRaw}
			for i, want := range []SigningKey{cur, prev} {
				j := set.Keys[i]
				if j["kid"] != want.KID || j["alg"] != alg || j["use"] != "sig" {
					t.Fatalf("key %d: %v", i, j)
				}
				for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
					if _, ok := j[private]; ok {
						t.Fatalf("key %d publishes private member %q: %s", i, private, body)
					}
				}
				req := ktRequiredMembers(t, raws[i])
				for m, v := range req {
					if j[m] != v {
						t.Fatalf("key %d: %s = %v, want %s", i, m, j[m], v)
					}
				}
				if ktThumbprint(req) != j["kid"] {
					t.Fatalf("key %d: kid is not the thumbprint of the published key", i)
				}
			}
			// A verifier that knows only the JWKS checks our tokens.
			tok, _, err := NewTokens(ks, ktTokenConfig(nil)).Issue(ktUser, Session{ID: "s"})
			if err != nil {
				t.Fatal(err)
			}
			pub := ktPublicFromJWK(t, set.Keys[0])
			if _, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return pub, nil },
				jwt.WithValidMethods([]string{alg}), jwt.WithTimeFunc(ktNow)); err != nil {
				t.Fatalf("the JWKS key does not verify our token: %v", err)
			}
		})
	}
}

// ktPublicFromJWK rebuilds a public key from a published JWK.
func ktPublicFromJWK(t testing.TB, j map[string]any) any {
	t.Helper()
	dec := func(m string) []byte {
		s, _ := j[m].(string)
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil {
			t.Fatalf("member %s: %v", m, err)
		}
		return b
	}
	switch j["kty"] {
	case "OKP":
		return ed25519.PublicKey(dec("x"))
	case "EC":
		// SEC 1 uncompressed point: 0x04 || x || y (the raw coordinates are deprecated).
		k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, dec("x")...), dec("y")...))
		if err != nil {
			t.Fatalf("EC JWK: %v", err)
		}
		return k
	case "RSA":
		return &rsa.PublicKey{N: new(big.Int).SetBytes(dec("n")), E: int(new(big.Int).SetBytes(dec("e")).Int64())}
	}
	t.Fatalf("kty %v", j["kty"])
	return nil
}

func TestKeyRotation(t *testing.T) {
	for _, alg := range ktAlgs {
		t.Run(alg, func(t *testing.T) {
			old, _ := ktSigningKey(t, alg, 0)
			cur, _ := ktSigningKey(t, alg, 1)
			oldSet, _ := NewKeySet(old)
			oldTok, _, err := NewTokens(oldSet, ktTokenConfig(nil)).Issue(ktUser, Session{ID: "s"})
			if err != nil {
				t.Fatal(err)
			}
			// During the rotation the previous key still verifies; the current key signs.
			rotating, err := NewKeySet(cur, old)
			if err != nil {
				t.Fatal(err)
			}
			tokens := NewTokens(rotating, ktTokenConfig(nil))
			if _, err := tokens.Verify(oldTok); err != nil {
				t.Fatalf("previous key no longer verifies: %v", err)
			}
			newTok, _, _ := tokens.Issue(ktUser, Session{ID: "s"})
			if ktHeader(t, newTok)["kid"] != cur.KID {
				t.Fatal("the current key does not sign")
			}
			// Once removed, the old key's tokens are refused.
			done, _ := NewKeySet(cur)
			if _, err := NewTokens(done, ktTokenConfig(nil)).Verify(oldTok); !errors.Is(err, ErrTokenInvalid) {
				t.Fatalf("removed key still verifies: %v", err)
			}
			if _, err := NewTokens(done, ktTokenConfig(nil)).Verify(newTok); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Every key of a set uses the configured algorithm.
	ed, _ := ktSigningKey(t, AlgEdDSA, 0)
	hs, _ := ktSigningKey(t, AlgHS256, 0)
	if _, err := NewKeySet(ed, hs); err == nil {
		t.Fatal("a key set mixing EdDSA and HS256 was accepted")
	}
}

// TestAlgorithmConfusion: with an asymmetric algorithm configured, a token MACed with HS256
// using the public key (in any encoding an attacker might guess) as the HMAC secret is refused.
func TestAlgorithmConfusion(t *testing.T) {
	for _, alg := range []string{AlgEdDSA, AlgES256, AlgRS256} {
		t.Run(alg, func(t *testing.T) {
			key, raw := ktSigningKey(t, alg, 0)
			ks, _ := NewKeySet(key)
			tokens := NewTokens(ks, ktTokenConfig(nil))
			pub := raw.(interface{ Public() crypto.PublicKey }).Public()
			pkix, err := x509.MarshalPKIXPublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			secrets := map[string][]byte{
				"PKIX PEM":       pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}),
				"PKIX PEM, trim": []byte(strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})))),
				"PKIX DER":       pkix,
				"JWKS":           ks.JWKS(),
				"kid":            []byte(key.KID),
			}
			switch p := pub.(type) {
			case ed25519.PublicKey:
				secrets["raw"] = p
			case *ecdsa.PublicKey:
				b, _ := p.Bytes()
				secrets["raw"] = b
			case *rsa.PublicKey:
				secrets["raw"] = p.N.Bytes()
				secrets["PKCS#1 DER"] = x509.MarshalPKCS1PublicKey(p)
				secrets["PKCS#1 PEM"] = pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(p)})
			}
			for name, secret := range secrets {
				for _, m := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS384, jwt.SigningMethodHS512} {
					tok := ktSign(t, m, secret, ktGoodHeader(key.KID), ktGoodClaims())
					if _, err := tokens.Verify(tok); !errors.Is(err, ErrTokenInvalid) {
						t.Fatalf("%s MACed with the %s was not refused: %v", m.Alg(), name, err)
					}
				}
			}
			// Control: the same claims and header, properly signed, are accepted.
			if _, err := tokens.Verify(ktSign(t, key.method, key.sign, ktGoodHeader(key.KID), ktGoodClaims())); err != nil {
				t.Fatalf("control token refused: %v", err)
			}
		})
	}
}
