package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP as every authenticator app does it (RFC 6238 with the defaults of Google
// Authenticator's key URI format): HMAC-SHA-1, 6 digits, 30-second steps, a 160-bit secret.
// A code is accepted for its own step and one step either side (clock drift of up to 30 s
// each way), and only once: the store remembers the last step spent (MFAStore.UseTOTPStep).
const (
	TOTPPeriod     = 30 * time.Second
	TOTPDigits     = 6
	TOTPSkew       = 1  // steps accepted either side of the current one
	totpSecretSize = 20 // bytes; RFC 4226 §4 recommends 160 bits
)

var totpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newTOTPKey makes a fresh secret and its otpauth:// URI (the QR code's content).
func newTOTPKey(issuer, account string) (secret []byte, uri string, err error) {
	secret = make([]byte, totpSecretSize)
	_, _ = rand.Read(secret)
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, Secret: secret,
		Period: uint(TOTPPeriod / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, "", err
	}
	return secret, key.URL(), nil
}

// totpStep is the RFC 6238 time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / int64(TOTPPeriod/time.Second) }

// matchTOTP returns the step within TOTPSkew of now whose code is code, comparing in constant
// time and looking at every candidate step whatever matched.
func matchTOTP(secret []byte, code string, now time.Time) (step int64, ok bool) {
	enc := b32.EncodeToString(secret)
	cur := totpStep(now)
	for s := cur - TOTPSkew; s <= cur+TOTPSkew; s++ {
		want, err := hotp.GenerateCodeCustom(enc, uint64(s), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}

// A code a user types is either a TOTP code (6 digits; spaces allowed, as apps show "123 456")
// or a recovery code (16 characters of the recovery alphabet in groups of four; case, spaces
// and hyphens do not matter).
type codeKind int

const (
	codeInvalid codeKind = iota
	codeTOTP
	codeRecovery
)

// maxCodeChars bounds what parseCode looks at; anything longer is no code.
const maxCodeChars = 64

// parseCode classifies code and returns its canonical form (digits, or the recovery code in
// lower case without separators).
func parseCode(code string) (codeKind, string) {
	if len(code) > maxCodeChars {
		return codeInvalid, ""
	}
	var b strings.Builder
	digits := true
	for _, r := range code {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r >= '0' && r <= '9':
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			digits = false
		default:
			return codeInvalid, ""
		}
		b.WriteRune(r)
	}
	c := b.String()
	switch {
	case digits && len(c) == TOTPDigits:
		return codeTOTP, c
	case len(c) == recoveryCodeChars:
		c = strings.ToLower(c)
		for i := 0; i < len(c); i++ {
			if !strings.ContainsRune(recoveryAlphabet, rune(c[i])) {
				return codeInvalid, ""
			}
		}
		return codeRecovery, c
	}
	return codeInvalid, ""
}

// Recovery codes: RecoveryCodeCount of them, each 16 characters of a 32-letter alphabet
// without look-alikes (80 random bits, so a stored SHA-256 hash cannot be reversed by trying
// them), shown as four groups of four.
const (
	RecoveryCodeCount = 10
	recoveryCodeChars = 16
	recoveryAlphabet  = "abcdefghjkmnpqrstuvwxyz23456789" + "0" // 32 symbols: no i, l, o, 1
)

// newRecoveryCodes returns n codes as shown to the user and their hashes as stored.
func newRecoveryCodes(n int) (shown []string, hashes [][]byte) {
	for range n {
		var raw [recoveryCodeChars]byte
		_, _ = rand.Read(raw[:])
		var b strings.Builder
		for i, v := range raw {
			if i > 0 && i%4 == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(recoveryAlphabet[v&31]) // 32 symbols: 5 bits of each byte, unbiased
		}
		code := b.String()
		_, canonical := parseCode(code)
		shown = append(shown, code)
		hashes = append(hashes, recoveryHash(canonical))
	}
	return shown, hashes
}

func recoveryHash(canonical string) []byte {
	h := sha256.Sum256([]byte("gqlauth recovery code v1\x00" + canonical))
	return h[:]
}
