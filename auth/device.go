package auth

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// Device tokens keep the account's owner from being locked out by someone else's guesses
// (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"). Every sign-in returns one;
// a later password attempt for the same account that presents it counts its failures against
// that device's own budget instead of the account's, so an attacker's failures, which exhaust
// the account's budget, leave the owner's devices able to sign in.
//
// A device token is stateless: HMAC-SHA-256 over
//
//	version (1) | expiry, Unix seconds (8) | nonce (16) | account binding (16) | len(user id) (1) | user id
//
// followed by the 32-byte tag, all base64url without padding. Its keys are derived with HKDF
// from the signing key material (JWT_SECRET or the private key file), so every instance
// sharing those keys accepts every other's tokens, and under labels of their own, so nothing
// here can be used as or against a JWT signature.
//
// It is bound to the account by user id, so an email change keeps it working, and to the
// account's security stamp at issue (a truncated HMAC of both, the binding). The stamp changes
// with the password (a change or a reset) and with a disable or re-enable, so each of those
// retires every device token issued before it (changePassword's own answer carries a new one);
// a re-hash at a new BCRYPT_COST leaves the stamp, and the tokens, as they are. Rotating the
// signing key retires them too, once the old key is no longer listed among the previous keys.
//
// Anything wrong with a token (absent, malformed, forged, expired, another account's, one
// issued before a password change) only means that the attempt counts against the account's
// budget, never an error.

const (
	deviceTokenVersion = 1
	deviceNonceBytes   = 16
	deviceBindingBytes = 16 // 128 bits: forging one means guessing it, the tag still has to verify
	deviceTagBytes     = sha256.Size
	maxDeviceUserID    = 64
	deviceHeaderBytes  = 1 + 8 + deviceNonceBytes + deviceBindingBytes + 1 // before the user id
)

// MaxDeviceTokenChars is the length of the longest device token (unpadded base64 of its
// longest form, 184 characters); the HTTP layer drops longer values without reading further.
const MaxDeviceTokenChars = ((deviceHeaderBytes+maxDeviceUserID+deviceTagBytes)*8 + 5) / 6

// DefaultDeviceTokenTTL is how long a device token is accepted after the sign-in that issued it.
const DefaultDeviceTokenTTL = 365 * 24 * time.Hour

// deviceKey is the pair of keys derived from one signing key.
type deviceKey struct {
	tag, binding []byte
}

// deviceTokens issues and parses device tokens. keys[0] (from the current signing key) signs;
// the others (previous signing keys) only verify.
type deviceTokens struct {
	keys []deviceKey
	ttl  time.Duration
	now  func() time.Time
}

// device is a parsed device token whose tag verified and which has not expired. It is not yet
// known to belong to an account: boundTo says whether it does.
type device struct {
	userID  string
	nonce   [deviceNonceBytes]byte
	binding [deviceBindingBytes]byte
	key     *deviceKey
}

// newDeviceTokens derives the device token keys from ks. A previous key whose material cannot
// be read is skipped; without the current key's, tokens are neither issued nor accepted.
func newDeviceTokens(ks *KeySet, ttl time.Duration, now func() time.Time) *deviceTokens {
	d := &deviceTokens{ttl: ttl, now: now}
	secrets, ok := ks.materials()
	if !ok {
		return d
	}
	for _, secret := range secrets {
		d.keys = append(d.keys, deviceKey{
			tag:     deriveKey(secret, "gqlauth device tokens", "gqlauth device token v1: tag"),
			binding: deriveKey(secret, "gqlauth device tokens", "gqlauth device token v1: account binding"),
		})
	}
	return d
}

// deriveKey is a 32-byte HKDF-SHA-256 key from signing key material, under a salt and a label
// of its own per use, so that no derived key can serve as another or as the signing key.
func deriveKey(secret []byte, salt, label string) []byte {
	k, err := hkdf.Key(sha256.New, secret, []byte(salt), label, 32)
	if err != nil { // only for lengths SHA-256's HKDF cannot give; 32 bytes always works
		panic(err)
	}
	return k
}

// issue returns a new device token for u as it is now ("" when u cannot have one).
func (d *deviceTokens) issue(u User) string {
	if d == nil || len(d.keys) == 0 || u.ID == "" || len(u.ID) > maxDeviceUserID {
		return ""
	}
	key := &d.keys[0]
	b := make([]byte, deviceHeaderBytes, deviceHeaderBytes+len(u.ID)+deviceTagBytes)
	b[0] = deviceTokenVersion
	binary.BigEndian.PutUint64(b[1:9], uint64(d.now().Add(d.ttl).Unix()))
	_, _ = rand.Read(b[9 : 9+deviceNonceBytes])
	binding := key.bind(u)
	copy(b[9+deviceNonceBytes:], binding[:])
	b[deviceHeaderBytes-1] = byte(len(u.ID))
	b = append(b, u.ID...)
	b = append(b, key.tagOf(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// parse verifies raw's tag and expiry and returns what it says. It reads nothing but raw, and
// looks at the fields only after the tag verified.
func (d *deviceTokens) parse(raw string) (device, bool) {
	if d == nil || len(raw) == 0 || len(raw) > MaxDeviceTokenChars || !isBase64URL(raw) {
		return device{}, false
	}
	// Strict: a token has one spelling (no altered trailing bits), so nothing about it can be
	// varied without its tag.
	b, err := base64.RawURLEncoding.Strict().DecodeString(raw)
	if err != nil || len(b) < deviceHeaderBytes+1+deviceTagBytes {
		return device{}, false
	}
	body, tag := b[:len(b)-deviceTagBytes], b[len(b)-deviceTagBytes:]
	var key *deviceKey
	for i := range d.keys {
		if hmac.Equal(tag, d.keys[i].tagOf(body)) {
			key = &d.keys[i]
			break
		}
	}
	if key == nil || body[0] != deviceTokenVersion {
		return device{}, false
	}
	exp := binary.BigEndian.Uint64(body[1:9])
	if exp > uint64(1<<62) || !d.now().Before(time.Unix(int64(exp), 0)) {
		return device{}, false
	}
	n := int(body[deviceHeaderBytes-1])
	if n == 0 || n > maxDeviceUserID || len(body) != deviceHeaderBytes+n {
		return device{}, false
	}
	dv := device{userID: string(body[deviceHeaderBytes:]), key: key}
	copy(dv.nonce[:], body[9:])
	copy(dv.binding[:], body[9+deviceNonceBytes:])
	return dv, true
}

// boundTo reports whether the device token was issued to u and u's security stamp has not
// changed since. The comparison is constant-time.
func (dv device) boundTo(u User) bool {
	if dv.key == nil || u.ID == "" || u.ID != dv.userID {
		return false
	}
	want := dv.key.bind(u)
	return hmac.Equal(want[:], dv.binding[:])
}

// limiterKey names the device's own budget; it comes from the verified token only.
func (dv device) limiterKey() string {
	return "login:device:" + base64.RawURLEncoding.EncodeToString(dv.nonce[:])
}

// tagOf is the HMAC of a token's body.
func (k *deviceKey) tagOf(body []byte) []byte {
	m := hmac.New(sha256.New, k.tag)
	m.Write(body)
	return m.Sum(nil)
}

// bind is the account binding: a truncated HMAC of the user id and the security stamp.
func (k *deviceKey) bind(u User) [deviceBindingBytes]byte {
	m := hmac.New(sha256.New, k.binding)
	var stamp [8]byte
	binary.BigEndian.PutUint64(stamp[:], uint64(u.SecurityStamp))
	m.Write(stamp[:])
	m.Write([]byte(u.ID))
	var out [deviceBindingBytes]byte
	copy(out[:], m.Sum(nil))
	return out
}

func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
