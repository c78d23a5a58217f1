package tokenrules

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// Thumbprint is the RFC 7638 JWK thumbprint, the kid of every key: SHA-256 over the key's
// required members in lexicographic order, serialised without whitespace. The issuer names its
// keys by it and a verifier holding an HS256 secret computes the same kid from the secret.
func Thumbprint(jwk map[string]string, members ...string) string {
	buf := []byte{'{'}
	for i, m := range members {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, m)
		buf = append(buf, ':')
		buf = appendJSONString(buf, jwk[m])
	}
	buf = append(buf, '}')
	sum := sha256.Sum256(buf)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// HMACKeyID is the kid of an HS256 secret: the thumbprint of its {"kty":"oct","k":…} JWK.
func HMACKeyID(secret []byte) string {
	return Thumbprint(map[string]string{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(secret)}, "k", "kty")
}

func appendJSONString(buf []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(buf, b...)
}
