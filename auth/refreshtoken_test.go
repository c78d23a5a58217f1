package auth

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

const rtAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func rtTokens(t testing.TB, current SigningKey, previous ...SigningKey) *refreshTokens {
	t.Helper()
	ks, err := NewKeySet(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return newRefreshTokens(ks)
}

// rtSibling spells the same bytes with the unused low bits of the last character set.
func rtSibling(tok string) string {
	idx := strings.IndexByte(rtAlphabet, tok[len(tok)-1])
	return tok[:len(tok)-1] + string(rtAlphabet[idx^1])
}

func TestRefreshTokenNamesItsSession(t *testing.T) {
	r := rtTokens(t, dtHMACKey(t, ktSecret))
	seen := map[string]bool{}
	for range 100 {
		sid := newID(time.Now())
		tok, h := r.mint(sid)
		if !strings.HasPrefix(tok, "rt_") || len(tok) != 3+87 {
			t.Fatalf("refresh token %q (%d characters)", tok, len(tok))
		}
		body, err := base64.RawURLEncoding.Strict().DecodeString(tok[3:])
		if err != nil || len(body) != 65 || body[0] != 1 {
			t.Fatalf("refresh token body %x, %v: want version 1 and 65 bytes", body, err)
		}
		if u, _ := parseUUID(sid); string(body[1:17]) != string(u[:]) {
			t.Fatalf("body names %x, want session %s", body[1:17], sid)
		}
		if sum := sha256.Sum256([]byte(tok)); string(sum[:]) != string(h.Sum) || h.SessionID != sid {
			t.Fatalf("mint = %x %q, want the token's SHA-256 and session %s", h.Sum, h.SessionID, sid)
		}
		got, ok := r.parse(tok)
		if !ok || string(got.Sum) != string(h.Sum) || got.SessionID != sid {
			t.Fatalf("parse(%q) = %x %q, %v", tok, got.Sum, got.SessionID, ok)
		}
		if seen[tok] {
			t.Fatal("duplicate refresh token")
		}
		seen[tok] = true
	}
}

// A token whose tag no listed key verifies is accepted by its hash alone, naming nothing: it may
// still be a session's current token (minted under a key since removed), but it can never make
// the store take it for a retired token of a session it names.
func TestRefreshTokenTagIsChecked(t *testing.T) {
	a, b := dtHMACKey(t, ktSecret), dtHMACKey(t, strings.Repeat("another secret ", 3))
	sid := newID(time.Now())
	tok, _ := rtTokens(t, a).mint(sid)
	body, _ := base64.RawURLEncoding.Strict().DecodeString(tok[3:])

	if got, ok := rtTokens(t, b, a).parse(tok); !ok || got.SessionID != sid {
		t.Errorf("a previous key's token after the rotation: %q, %v; want session %s", got.SessionID, ok, sid)
	}
	forged := func(change func([]byte)) string {
		b := append([]byte(nil), body...)
		change(b)
		return "rt_" + base64.RawURLEncoding.EncodeToString(b)
	}
	other, _ := parseUUID(newID(time.Now().Add(time.Hour)))
	for name, tok := range map[string]string{
		"key no longer listed":   tok,
		"tag flipped":            forged(func(b []byte) { b[64] ^= 1 }),
		"other session, old tag": forged(func(b []byte) { copy(b[1:17], other[:]) }),
		"random bytes changed":   forged(func(b []byte) { b[20] ^= 0x80 }),
	} {
		r := rtTokens(t, a)
		if name == "key no longer listed" {
			r = rtTokens(t, b)
		}
		got, ok := r.parse(tok)
		if sum := sha256.Sum256([]byte(tok)); !ok || got.SessionID != "" || !hmac.Equal(got.Sum, sum[:]) {
			t.Errorf("%s: parse = %x %q, %v; want its hash and no session", name, got.Sum, got.SessionID, ok)
		}
	}
}

// Without key material, and for an id that is not a UUID, tokens are minted as before the
// names: 32 random bytes, found by their hash.
func TestRefreshTokenWithoutName(t *testing.T) {
	for name, c := range map[string]struct {
		r   *refreshTokens
		sid string
	}{
		"no keys":         {newRefreshTokens(nil), newID(time.Now())},
		"id not a UUID":   {rtTokens(t, dtHMACKey(t, ktSecret)), "session-1"},
		"upper-case UUID": {rtTokens(t, dtHMACKey(t, ktSecret)), strings.ToUpper(newID(time.Now()))},
	} {
		tok, h := c.r.mint(c.sid)
		body, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimPrefix(tok, "rt_"))
		if !strings.HasPrefix(tok, "rt_") || len(tok) != 3+43 || err != nil || len(body) != 32 || h.Named() {
			t.Errorf("%s: mint = %q, named %v", name, tok, h.Named())
		}
		if got, ok := c.r.parse(tok); !ok || !hmac.Equal(got.Sum, h.Sum) || got.Named() {
			t.Errorf("%s: parse = %x %q, %v", name, got.Sum, got.SessionID, ok)
		}
	}
}

func TestRefreshTokenShapeRefused(t *testing.T) {
	r := rtTokens(t, dtHMACKey(t, ktSecret))
	named, _ := r.mint(newID(time.Now()))
	plain, _ := newRefreshTokens(nil).mint("x")
	body, _ := base64.RawURLEncoding.Strict().DecodeString(named[3:])
	body[0] = 2
	version2 := "rt_" + base64.RawURLEncoding.EncodeToString(body)
	for _, tok := range []string{named, plain} {
		for _, bad := range []string{
			"", "rt_", "rt_" + tok[3:len(tok)-1], tok + "A", "RT_" + tok[3:], "xx_" + tok[3:], tok[:len(tok)-1] + "=",
			tok[:10] + "+" + tok[11:], tok[:10] + "/" + tok[11:], tok[:10] + " " + tok[11:], tok[:10] + "\x00" + tok[11:],
			rtSibling(tok), " " + tok, tok + "\n",
			// Go's base64 decoders skip CR and LF: the right length with a line break among it.
			tok[:20] + "\n" + tok[21:], tok[:20] + "\r" + tok[21:],
		} {
			if _, ok := r.parse(bad); ok {
				t.Errorf("parse accepted %q", bad)
			}
		}
	}
	if _, ok := r.parse(version2); ok {
		t.Errorf("parse accepted version 2: %q", version2)
	}
}

func TestParseUUID(t *testing.T) {
	id := newID(time.Now())
	if u, ok := parseUUID(id); !ok || formatUUID(u) != id {
		t.Fatalf("parseUUID(%s) = %x, %v", id, u, ok)
	}
	for _, bad := range []string{"", id[:35], id + "0", strings.ToUpper(id), strings.Replace(id, "-", "_", 1),
		id[:8] + "0" + id[9:], "g" + id[1:], "0x" + id[2:]} {
		if _, ok := parseUUID(bad); ok {
			t.Errorf("parseUUID accepted %q", bad)
		}
	}
}

func FuzzParseRefreshToken(f *testing.F) {
	r := rtTokens(f, dtHMACKey(f, ktSecret))
	named, _ := r.mint(newID(time.Now()))
	plain, _ := newRefreshTokens(nil).mint("x")
	for _, s := range []string{
		named, plain, named[:len(named)-1], plain + "A", "rt_", "", "RT_" + named[3:], named[:len(named)-1] + "=",
		"rt_" + strings.Repeat("A", 43), "rt_" + strings.Repeat("_", 87), "rt_" + strings.Repeat("+", 43),
		"rt_A" + strings.Repeat("A", 86), "rt_" + strings.Repeat("é", 43) + "A", named + "\n", rtSibling(named),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := r.parse(s)
		if !ok {
			if h.Sum != nil || h.Named() {
				t.Fatalf("refused %q with a hash or a name", s)
			}
			return
		}
		if !strings.HasPrefix(s, "rt_") || (len(s) != 3+43 && len(s) != 3+87) {
			t.Fatalf("accepted %q", s)
		}
		body, err := base64.RawURLEncoding.Strict().DecodeString(s[3:])
		if err != nil || base64.RawURLEncoding.EncodeToString(body) != s[3:] || (len(body) != 32 && (len(body) != 65 || body[0] != 1)) {
			t.Fatalf("accepted %q, not the canonical base64url of a token body", s)
		}
		if sum := sha256.Sum256([]byte(s)); !hmac.Equal(sum[:], h.Sum) {
			t.Fatalf("hash of %q is not its SHA-256", s)
		}
		if h.Named() {
			ks, _ := NewKeySet(dtHMACKey(t, ktSecret))
			secrets, _ := ks.materials()
			key, _ := hkdf.Key(sha256.New, secrets[0], []byte("gqlauth refresh tokens"), "gqlauth refresh token v1: tag", 32)
			mac := hmac.New(sha256.New, key)
			mac.Write(body[:49])
			if !hmac.Equal(mac.Sum(nil)[:16], body[49:]) || h.SessionID != formatUUID([16]byte(body[1:17])) {
				t.Fatalf("%q names %q without a valid tag for it", s, h.SessionID)
			}
		}
	})
}
