package auth

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/fakeclock"
)

var (
	dtUser  = User{ID: "0190a5c2-7d3e-7abc-8def-0123456789ab", Email: "owner@example.com", PasswordHash: "$2a$10$ownerhashownerhashownerhashownerhashownerhashownerhash", SecurityStamp: 3}
	dtOther = User{ID: "0190a5c2-7d3e-7abc-8def-ba9876543210", Email: "other@example.com", PasswordHash: "$2a$10$otherhashotherhashotherhashotherhashotherhashotherhash", SecurityStamp: 3}
)

func dtHMACKey(t testing.TB, secret string) SigningKey {
	t.Helper()
	k, err := NewHMACKey([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func dtTokens(t testing.TB, now func() time.Time, current SigningKey, previous ...SigningKey) *deviceTokens {
	t.Helper()
	ks, err := NewKeySet(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return newDeviceTokens(ks, DefaultDeviceTokenTTL, now)
}

// TestDeviceTokenRoundTrip: a token parses under the key set that issued it, belongs to its
// account as it is, and names a budget of its own.
func TestDeviceTokenRoundTrip(t *testing.T) {
	d := dtTokens(t, ktNow, dtHMACKey(t, "device-test-secret-0123456789abcdefgh"))
	raw := d.issue(dtUser)
	if raw == "" || len(raw) > MaxDeviceTokenChars {
		t.Fatalf("token %q (%d chars, max %d)", raw, len(raw), MaxDeviceTokenChars)
	}
	dv, ok := d.parse(raw)
	if !ok || !dv.boundTo(dtUser) {
		t.Fatalf("own token refused: parsed %v", ok)
	}
	if dv.boundTo(dtOther) {
		t.Fatal("a token of one account is accepted for another")
	}
	moved := dtUser
	moved.Email = "new-address@example.com"
	if !dv.boundTo(moved) {
		t.Fatal("an email change retired the token; it is bound to the user id")
	}
	changed := dtUser
	changed.SecurityStamp++
	if dv.boundTo(changed) {
		t.Fatal("a token still counts after a change of the security stamp (password, status)")
	}
	rehashed := dtUser
	rehashed.PasswordHash = "$2a$12$anotherhashanotherhashanotherhashanotherhashanotherhas"
	if !dv.boundTo(rehashed) {
		t.Fatal("a re-hash at another cost (the stamp unchanged) retired the token")
	}
	second, _ := d.parse(d.issue(dtUser))
	if dv.limiterKey() == second.limiterKey() || !strings.HasPrefix(dv.limiterKey(), "login:device:") {
		t.Fatalf("two tokens share a budget (or a bad key): %q, %q", dv.limiterKey(), second.limiterKey())
	}
	if again, _ := d.parse(raw); again.limiterKey() != dv.limiterKey() {
		t.Fatal("one token names two budgets")
	}
}

// TestDeviceTokenTampering: changing any bit of the token, or any of its characters, makes it
// worthless.
func TestDeviceTokenTampering(t *testing.T) {
	d := dtTokens(t, ktNow, dtHMACKey(t, "device-test-secret-0123456789abcdefgh"))
	raw := d.issue(dtUser)
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		for bit := range 8 {
			c := append([]byte(nil), b...)
			c[i] ^= 1 << bit
			if _, ok := d.parse(base64.RawURLEncoding.EncodeToString(c)); ok {
				t.Fatalf("byte %d bit %d flipped: still accepted", i, bit)
			}
		}
	}
	for i := range raw {
		for _, c := range []byte{'A', 'z', '0', '-', '_', '=', '.', '+', '/', ' '} {
			if raw[i] == c {
				continue
			}
			altered := raw[:i] + string(c) + raw[i+1:]
			if _, ok := d.parse(altered); ok {
				t.Fatalf("character %d changed to %q: still accepted", i, c)
			}
		}
	}
	for name, v := range map[string]string{
		"empty": "", "truncated": raw[:len(raw)-1], "extended": raw + "A", "padded": raw + "==",
		"doubled": raw + raw, "spaces": " " + raw, "newline inside": raw[:10] + "\n" + raw[10:],
		"a JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "too long": strings.Repeat("A", MaxDeviceTokenChars+1),
		"standard base64": base64.StdEncoding.EncodeToString(b),
	} {
		if _, ok := d.parse(v); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestDeviceTokenExpiry: a token is accepted for DefaultDeviceTokenTTL after its issue, not after.
func TestDeviceTokenExpiry(t *testing.T) {
	clock := fakeclock.New(ktStart)
	d := dtTokens(t, clock.Now, dtHMACKey(t, "device-test-secret-0123456789abcdefgh"))
	raw := d.issue(dtUser)
	clock.Set(ktStart.Add(DefaultDeviceTokenTTL - time.Second))
	if _, ok := d.parse(raw); !ok {
		t.Fatal("refused within its lifetime")
	}
	clock.Set(ktStart.Add(DefaultDeviceTokenTTL))
	if _, ok := d.parse(raw); ok {
		t.Fatal("accepted once expired")
	}
}

// TestDeviceTokenKeys: another key refuses the token; a key set keeping the issuing key as a
// previous one accepts it; instances loading one private key from different file forms agree;
// and the device keys are not the signing secret (domain separation).
func TestDeviceTokenKeys(t *testing.T) {
	a := dtHMACKey(t, "device-test-secret-0123456789abcdefgh")
	raw := dtTokens(t, ktNow, a).issue(dtUser)
	if _, ok := dtTokens(t, ktNow, dtHMACKey(t, "another-secret-0123456789abcdefghijkl")).parse(raw); ok {
		t.Fatal("accepted under another secret")
	}
	if _, ok := dtTokens(t, ktNow, dtHMACKey(t, "device-test-secret-0123456789abcdefgh")).parse(raw); !ok {
		t.Fatal("refused by another instance holding the same secret")
	}

	ec := ktPrivate(t, AlgES256, 0).(*ecdsa.PrivateKey)
	ecDER, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := ParsePrivateKeyPEM(AlgES256, ktPKCS8(t, ec))
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := ParsePrivateKeyPEM(AlgES256, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}))
	if err != nil {
		t.Fatal(err)
	}
	oldRaw := dtTokens(t, ktNow, pkcs8).issue(dtUser)
	if _, ok := dtTokens(t, ktNow, sec1).parse(oldRaw); !ok {
		t.Fatal("the same EC key in another PEM form refuses the token")
	}
	for _, alg := range []string{AlgEdDSA, AlgRS256} {
		k, err := newAsymmetricKey(alg, ktPrivate(t, alg, 0))
		if err != nil {
			t.Fatal(err)
		}
		if r := dtTokens(t, ktNow, k).issue(dtUser); r == "" {
			t.Fatalf("%s: no token issued", alg)
		} else if _, ok := dtTokens(t, ktNow, k).parse(r); !ok {
			t.Fatalf("%s: own token refused", alg)
		}
	}
	newer, err := newAsymmetricKey(AlgES256, ktPrivate(t, AlgES256, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := dtTokens(t, ktNow, newer).parse(oldRaw); ok {
		t.Fatal("a rotated-in key accepts tokens of a key that is no longer listed")
	}
	if _, ok := dtTokens(t, ktNow, newer, sec1).parse(oldRaw); !ok {
		t.Fatal("a token of a previous key (still listed) is refused during a rotation")
	}

	// A token tagged with the raw JWT secret, as a JWT's HMAC would be, is refused.
	b, _ := base64.RawURLEncoding.DecodeString(raw)
	body := b[:len(b)-deviceTagBytes]
	m := hmac.New(sha256.New, []byte("device-test-secret-0123456789abcdefgh"))
	m.Write(body)
	if _, ok := dtTokens(t, ktNow, a).parse(base64.RawURLEncoding.EncodeToString(m.Sum(body))); ok {
		t.Fatal("the signing secret itself tags device tokens: no domain separation")
	}
}

// TestDeviceTokenFields: a correctly tagged body with a bad version, length or expiry is
// refused (what a key holder's bug, not an attacker, could produce).
func TestDeviceTokenFields(t *testing.T) {
	d := dtTokens(t, ktNow, dtHMACKey(t, "device-test-secret-0123456789abcdefgh"))
	good, _ := base64.RawURLEncoding.DecodeString(d.issue(dtUser))
	body := good[:len(good)-deviceTagBytes]
	sign := func(mutate func([]byte) []byte) string {
		b := mutate(append([]byte(nil), body...))
		return base64.RawURLEncoding.EncodeToString(append(b, d.keys[0].tagOf(b)...))
	}
	if _, ok := d.parse(sign(func(b []byte) []byte { return b })); !ok {
		t.Fatal("the re-signed original is refused")
	}
	for name, mutate := range map[string]func([]byte) []byte{
		"version 2":        func(b []byte) []byte { b[0] = 2; return b },
		"expired":          func(b []byte) []byte { binary.BigEndian.PutUint64(b[1:9], uint64(ktStart.Unix())); return b },
		"expiry overflows": func(b []byte) []byte { binary.BigEndian.PutUint64(b[1:9], 1<<63+5); return b },
		"length too long":  func(b []byte) []byte { b[deviceHeaderBytes-1]++; return b },
		"length too short": func(b []byte) []byte { b[deviceHeaderBytes-1]--; return b },
		"no user id":       func(b []byte) []byte { b[deviceHeaderBytes-1] = 0; return b[:deviceHeaderBytes] },
		"header only":      func(b []byte) []byte { return b[:deviceHeaderBytes-1] },
		"user id of 65": func(b []byte) []byte {
			b[deviceHeaderBytes-1] = 65
			return append(b[:deviceHeaderBytes], strings.Repeat("x", 65)...)
		},
		"trailing byte":     func(b []byte) []byte { return append(b, 'x') },
		"empty body":        func(b []byte) []byte { return b[:0] },
		"user id truncated": func(b []byte) []byte { return b[:len(b)-1] },
	} {
		if _, ok := d.parse(sign(mutate)); ok {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := base64.RawURLEncoding.EncodedLen(deviceHeaderBytes + maxDeviceUserID + deviceTagBytes); MaxDeviceTokenChars != n {
		t.Errorf("MaxDeviceTokenChars %d, the longest token has %d", MaxDeviceTokenChars, n)
	}
	if long := d.issue(User{ID: strings.Repeat("x", maxDeviceUserID)}); len(long) != MaxDeviceTokenChars {
		t.Errorf("the longest token has %d characters, not MaxDeviceTokenChars", len(long))
	}
	if d.issue(User{ID: strings.Repeat("x", 65)}) != "" || d.issue(User{}) != "" {
		t.Error("issued a token for a user id that cannot be carried")
	}
	var none *deviceTokens
	if none.issue(dtUser) != "" {
		t.Error("a service without keys issued a token")
	}
	if _, ok := none.parse(d.issue(dtUser)); ok {
		t.Error("a service without keys accepted a token")
	}
}
