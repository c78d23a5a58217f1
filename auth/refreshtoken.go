package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strings"
	"sync"
)

// Refresh tokens are opaque to their holders and stored only as their SHA-256. Since this
// version they also name their session, under a tag:
//
//	rt_ base64url( version (1) | session id (16) | random (32) | tag (16) )
//
// where the tag is HMAC-SHA-256, truncated to 128 bits, over everything before it, keyed from the
// signing key material (HKDF, under a label of its own), so every instance sharing the signing
// keys checks every other's tags. The 256 random bits are the token's secret, as before; the
// name only tells which session a token was issued for.
//
// That is what lets a store forget a token once it is rotated: every token of a session but
// its current one has been retired, so a token whose tag verifies for a live session and which
// is not that session's current token is a rotated one (reuse, or a retry inside the grace
// window), without a row per rotation. A tag that no listed key verifies (a forged one, or one
// made under a key since removed from the previous keys) names nothing: the token is then looked
// up by its hash alone, so a current token keeps working, but a retired one counts as unknown.
//
// Tokens from before the names (rt_ and 43 characters, 32 random bytes) are still accepted,
// by their hash; the store remembers their retired ones as before, and their next rotation
// gives a named token.
const (
	refreshTokenPrefix  = "rt_"
	refreshTokenVersion = 1
	refreshRandomBytes  = 32
	refreshTagBytes     = 16
	refreshBodyBytes    = 1 + 16 + refreshRandomBytes + refreshTagBytes
	refreshBodyChars    = (refreshBodyBytes*8 + 5) / 6 // unpadded base64: 87
)

// RefreshHash is what a store is given of a refresh token: its SHA-256, and the session the
// token names under a tag the service verified ("" for a token that names none: one from before
// the names, or whose tag no key here verifies).
type RefreshHash struct {
	Sum       []byte
	SessionID string
}

// Named reports whether the token names its session.
func (h RefreshHash) Named() bool { return h.SessionID != "" }

// refreshTokens mints and parses refresh tokens. keys[0] (from the current signing key) tags;
// the others (previous signing keys) only verify. Without keys (a key type whose material
// cannot be read, or no signing keys at all) tokens are minted without a name.
type refreshTokens struct {
	keys []*tagKey
}

// tagKey is one tag key with its keyed HMAC states for reuse: hmac.New costs two digests and
// the key pads per call, a Reset of a used one only restores the keyed state (every refresh
// parses one token and mints one).
type tagKey struct {
	pool sync.Pool // of hash.Hash
}

func newTagKey(key []byte) *tagKey {
	k := &tagKey{}
	k.pool.New = func() any { return hmac.New(sha256.New, key) }
	return k
}

// tag is the truncated HMAC of msg.
func (k *tagKey) tag(msg []byte) [refreshTagBytes]byte {
	m := k.pool.Get().(hash.Hash)
	m.Reset()
	m.Write(msg)
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	k.pool.Put(m)
	return [refreshTagBytes]byte(sum[:refreshTagBytes])
}

func newRefreshTokens(ks *KeySet) *refreshTokens {
	r := &refreshTokens{}
	if ks == nil {
		return r
	}
	secrets, ok := ks.materials()
	if !ok {
		return r
	}
	for _, secret := range secrets {
		r.keys = append(r.keys, newTagKey(deriveKey(secret, "gqlauth refresh tokens", "gqlauth refresh token v1: tag")))
	}
	return r
}

// mint returns a new refresh token for session sessionID and what the store keeps of it. The
// token names the session when the id is a UUID (every id the service makes) and there is a key.
func (r *refreshTokens) mint(sessionID string) (string, RefreshHash) {
	sid, ok := parseUUID(sessionID)
	if !ok || r == nil || len(r.keys) == 0 {
		token := refreshTokenPrefix + randomID(refreshRandomBytes)
		return token, RefreshHash{Sum: hashOpaque(token)}
	}
	var b [refreshBodyBytes]byte
	b[0] = refreshTokenVersion
	copy(b[1:17], sid[:])
	_, _ = rand.Read(b[17 : 17+refreshRandomBytes]) // never fails (Go 1.24+): it panics instead
	tag := r.keys[0].tag(b[:17+refreshRandomBytes])
	copy(b[17+refreshRandomBytes:], tag[:])
	token := refreshTokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, RefreshHash{Sum: hashOpaque(token), SessionID: sessionID}
}

// parse checks the shape of a presented refresh token and returns what the store is to be
// asked with. A named token whose tag no key verifies is returned without its name: its hash
// may still be a session's current token. Nothing of a token is trusted before its hash is
// found in the store, or its tag verifies.
func (r *refreshTokens) parse(token string) (RefreshHash, bool) {
	body, ok := strings.CutPrefix(token, refreshTokenPrefix)
	switch {
	case !ok:
		return RefreshHash{}, false
	case len(body) == opaqueBodyChars: // a token from before the names
		sum, ok := parseOpaque(token, refreshTokenPrefix)
		return RefreshHash{Sum: sum}, ok
	case len(body) != refreshBodyChars:
		return RefreshHash{}, false
	}
	var b [refreshBodyBytes]byte
	// The length check above matters: the decoder skips CR and LF (see parseOpaque).
	if n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(body)); err != nil || n != refreshBodyBytes || b[0] != refreshTokenVersion {
		return RefreshHash{}, false
	}
	h := RefreshHash{Sum: hashOpaque(token)}
	if r == nil {
		return h, true
	}
	signed, tag := b[:17+refreshRandomBytes], b[17+refreshRandomBytes:]
	for _, key := range r.keys {
		if want := key.tag(signed); hmac.Equal(want[:], tag) {
			h.SessionID = formatUUID([16]byte(b[1:17]))
			break
		}
	}
	return h, true
}
