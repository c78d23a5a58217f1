package auth

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// newID returns a UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. IDs sort by
// creation time, which gives user listings a stable oldest-first order and cheap cursors.
func newID(now time.Time) string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	binary.BigEndian.PutUint64(u[0:8], uint64(now.UnixMilli())<<16|uint64(binary.BigEndian.Uint16(u[6:8])))
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // RFC 9562 variant
	return formatUUID(u)
}

// formatUUID spells u in the canonical lower-case 8-4-4-4-12 form.
func formatUUID(u [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// parseUUID is formatUUID's inverse; it accepts only that spelling, so that every id it packs
// unpacks to the same string.
func parseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	for _, part := range [...]struct{ from, to, at int }{{0, 8, 0}, {9, 13, 4}, {14, 18, 6}, {19, 23, 8}, {24, 36, 10}} {
		for i := part.from; i < part.to; i++ {
			if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return u, false // hex.Decode would take upper case too
			}
		}
		if _, err := hex.Decode(u[part.at:], []byte(s[part.from:part.to])); err != nil {
			return u, false
		}
	}
	return u, true
}
