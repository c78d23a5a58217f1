package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Opaque secrets (refresh tokens, mfaTokens, API keys, mail tokens) are 32 random bytes in
// base64url, 43 characters, after a prefix that names their kind ("" for mail tokens, which
// travel in a link). Only their SHA-256 is stored.
const opaqueBodyChars = 43

// parseOpaque checks that token is prefix followed by the one spelling of 32 bytes, and returns
// the hash it is stored under.
func parseOpaque(token, prefix string) ([]byte, bool) {
	body, ok := strings.CutPrefix(token, prefix)
	if !ok || len(body) != opaqueBodyChars {
		return nil, false
	}
	// The length check matters: the decoder skips CR and LF, so 43 characters with a line break
	// among them decode (to fewer bytes) without error.
	if b, err := base64.RawURLEncoding.Strict().DecodeString(body); err != nil || len(b) != 32 {
		return nil, false
	}
	return hashOpaque(token), true
}

// hashOpaque is the stored form of an opaque secret, prefix included.
func hashOpaque(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
