// Package totptest computes TOTP codes for tests straight from RFC 6238's definition (HOTP of
// RFC 4226 §5.3 over the time step, HMAC-SHA-1, 6 digits), independently of the library the
// service uses, so a test checks the service against the standard rather than against itself.
package totptest

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // RFC 6238 is HMAC-SHA-1, what authenticator apps compute
	"encoding/binary"
	"fmt"
)

// Code is the 6-digit code of secret at time step step (Unix time / 30 s).
func Code(secret []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := (uint32(sum[off])&0x7f)<<24 | uint32(sum[off+1])<<16 | uint32(sum[off+2])<<8 | uint32(sum[off+3])
	return fmt.Sprintf("%06d", bin%1_000_000)
}
