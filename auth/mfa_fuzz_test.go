package auth

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/hotp"
)

// The parsers of the second factor: codes as users type them, mfaTokens as clients send them,
// sealed secrets as the database returns them. Run one for a while with, for example:
//
//	go test ./auth -run '^$' -fuzz FuzzParseCode -fuzztime 60s

// FuzzParseCode: any input is classified without panicking; a TOTP code is exactly six digits,
// a recovery code sixteen characters of the alphabet in lower case; the canonical form parses
// to itself, and spaces, hyphens and case do not change a recovery code.
func FuzzParseCode(f *testing.F) {
	shown, _ := newRecoveryCodes(2)
	for _, s := range append(shown, "123456", "123 456", "12345", "1234567", "", "abcd-efgh-jkmn-pqrs",
		"ABCD EFGH JKMN PQRS", "abcd-efgh-jkmn-pqri", "١٢٣٤٥٦", "12345\u00006", strings.Repeat("a", 65), "--------") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		kind, c := parseCode(in)
		switch kind {
		case codeInvalid:
			if c != "" {
				t.Fatalf("%q: invalid but canonical %q", in, c)
			}
			return
		case codeTOTP:
			if len(c) != TOTPDigits || strings.Trim(c, "0123456789") != "" {
				t.Fatalf("%q: TOTP code %q", in, c)
			}
		case codeRecovery:
			if len(c) != recoveryCodeChars || strings.Trim(c, recoveryAlphabet) != "" {
				t.Fatalf("%q: recovery code %q", in, c)
			}
			if k, c2 := parseCode(strings.ToUpper(c[:4]) + " - " + c[4:]); k != codeRecovery || c2 != c {
				t.Fatalf("%q: a respelling parses to %v %q", c, k, c2)
			}
		}
		if k, c2 := parseCode(c); k != kind || c2 != c {
			t.Fatalf("%q: canonical %q parses to %v %q", in, c, k, c2)
		}
	})
}

// FuzzParseMFAToken: only the one spelling of 32 bytes after "mfa_" parses, and what parses is
// hashed as given (two different strings never share a hash).
func FuzzParseMFAToken(f *testing.F) {
	good := mfaTokenPrefix + randomID(32)
	for _, s := range []string{good, good + "=", good[:len(good)-1], "rt_" + good[4:], "mfa_", "", good[:20] + "\n" + good[20:],
		mfaTokenPrefix + strings.Repeat("_", 43), strings.ToUpper(good)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, ok := parseMFAToken(in)
		if !ok {
			if h != nil {
				t.Fatalf("%q: refused with a hash", in)
			}
			return
		}
		if len(in) != MaxMFATokenChars || !strings.HasPrefix(in, mfaTokenPrefix) || !isBase64URL(in[len(mfaTokenPrefix):]) {
			t.Fatalf("%q parsed", in)
		}
		if !bytes.Equal(h, hashOpaque(in)) {
			t.Fatalf("%q: hash differs", in)
		}
	})
}

// FuzzOpenSealed: bytes from the database that were not sealed by us, or were altered, never
// open and never panic; what we sealed opens, for its user only.
func FuzzOpenSealed(f *testing.F) {
	keys, err := NewMFAKeys([]byte("fuzz-mfa-key-0123456789abcdefghijklmnop"))
	if err != nil {
		f.Fatal(err)
	}
	sealed := keys.seal("u1", []byte("0123456789abcdefghij"))
	f.Add("u1", sealed)
	f.Add("u2", sealed)
	f.Add("u1", sealed[:len(sealed)-1])
	f.Add("u1", []byte{})
	f.Add("u1", []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, user string, in []byte) {
		plain, _, err := keys.open(user, in)
		// Only a seal we made opens (each fuzzing process seals its own seeds, with its own nonce,
		// so the bytes are not compared), and only for the user it was sealed for.
		if err == nil && (user != "u1" || string(plain) != "0123456789abcdefghij") {
			t.Fatalf("%q %x opened to %q", user, in, plain)
		}
	})
}

// TestMatchTOTPLooksAtEveryStep: a match is reported for the step whose code it is, whichever
// of the three it is.
func TestMatchTOTPLooksAtEveryStep(t *testing.T) {
	secret := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	for _, off := range []int64{-1, 0, 1} {
		s := totpStep(now) + off
		code, err := generateForTest(secret, s)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := matchTOTP(secret, code, now); !ok || got != s {
			t.Errorf("offset %d: step %d, %v", off, got, ok)
		}
	}
	if _, ok := matchTOTP(secret, "050471x", now); ok {
		t.Error("a 7-character code matched")
	}
}

func generateForTest(secret []byte, step int64) (string, error) {
	return hotp.GenerateCodeCustom(b32.EncodeToString(secret), uint64(step), totpOpts)
}
