package config

import (
	"bufio"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
)

// fastAPIDocsKey is the example key of FastAPI's documentation, copied into many services.
const fastAPIDocsKey = "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"

// weakSecrets are JWT_SECRET values of at least 32 bytes that production refuses: each is
// guessable far below minSecretBits.
var weakSecrets = []struct{ name, secret string }{
	{"a word repeated", strings.Repeat("secret", 6)},
	{"a word repeated, case varied", "SecretSECRETsecretSeCrEtsecretSECRET"},
	{"two characters alternating", strings.Repeat("ab", 18)},
	{"a short pattern with a partial last period", strings.Repeat("xk7", 11) + "x"},
	{"digits repeated", strings.Repeat("1234567890", 4)},
	{"a common password repeated", strings.Repeat("password", 5)},
	{"a common password with counters", "password1password2password3password4"},
	{"the alphabet and the digits", "abcdefghijklmnopqrstuvwxyz0123456789"},
	{"backwards", "zyxwvutsrqponmlkjihgfedcba9876543210"},
	{"keyboard rows", "qwertyuiopasdfghjklzxcvbnm1234567890"},
	{"the old test key", "test-secret-0123456789abcdefghijklmnopqrstuvwxyz"},
	{"common passwords joined", "dragonmonkeymasterletmeinshadow12"},
	{"a phrase repeated", "iloveyouiloveyouiloveyouiloveyou1"},
	{"two words and digits, twice", "adminadmin123456adminadmin123456"},
	{"a password repeated", "Tr0ub4dor&3Tr0ub4dor&3Tr0ub4dor&3"},
	{"a mixed pattern repeated", "Secret123Secret123Secret123Secret123"},
	{"zeros and a one", strings.Repeat("0", 39) + "1"},
	{"runs of one digit", "11111111112222222222333333333344444444445"},
	{"two distinct bytes", "aabbabbbaabababbbbaabababaabbbaab"},
	{"bits as text", "0110100101101001011010010110100101"},
	{"one multi-byte character", strings.Repeat("é", 32)},
	{"a placeholder padded", "changeme-changeme-changeme-changeme"},
	{"a placeholder with a counter", "your-256-bit-secret-000000000000001"},
	{"the FastAPI docs key", fastAPIDocsKey},
	{"the FastAPI docs key, upper case", strings.ToUpper(fastAPIDocsKey)},
}

// strongSecrets are keys production must accept: random bytes in the usual encodings, and
// passphrases.
func strongSecrets(t testing.TB) []struct{ name, secret string } {
	t.Helper()
	out := []struct{ name, secret string }{
		{"the playground test key", "Kq8vJ2mZ4rT7wX1yB5nC9dF3gH6jL0pS"},
		{"random lower-case letters", "xkqzvbtmwpfhdjrgnlcsyaeuoixqzmvb"},
		{"a diceware passphrase", "trombone-glacier-pickle-umbrella-nebula-walnut-saddle"},
		{"a passphrase with spaces", "correct horse battery staple orbit lemon quartz fjord"},
		{"a password manager's", `p#8Qz!r2V_m@K7w^Lx4&Nt9*Bd3%Hs6$`},
		{"unicode random", "ñ8ΩkЖ3λ€qé7☃zß2ü9Øπ4ж5ŁƎ1ǂ6ΞЯ0ф"},
		{"a passphrase holding a placeholder word", "changeme baller boogaloo passwort chriss treble planet pumpkins"},
	}
	out = append(out, struct{ name, secret string }{"hex of 16 random bytes", hex.EncodeToString(randomBytes(t, 16))})
	for _, n := range []int{24, 32, 48, 64} { // 32 characters and more in every encoding
		out = append(out, struct{ name, secret string }{"hex of random bytes", hex.EncodeToString(randomBytes(t, n))})
		out = append(out, struct{ name, secret string }{"base64 of random bytes", base64.StdEncoding.EncodeToString(randomBytes(t, n))})
		out = append(out, struct{ name, secret string }{"base64url of random bytes", base64.RawURLEncoding.EncodeToString(randomBytes(t, n))})
		out = append(out, struct{ name, secret string }{"base32 of random bytes", base32.StdEncoding.EncodeToString(randomBytes(t, n))})
	}
	return out
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWeakSecretReason: the weak keys are refused with a reason that does not echo them; the
// strong ones are accepted; both through Load in production too.
func TestWeakSecretReason(t *testing.T) {
	t.Parallel()
	for _, tc := range weakSecrets {
		if len(tc.secret) < 32 {
			t.Fatalf("%s: %d bytes; the table is about keys long enough", tc.name, len(tc.secret))
		}
		reason := weakSecretReason(tc.secret)
		if reason == "" {
			bits, _ := secretEntropy([]rune(tc.secret))
			t.Errorf("%s: %q accepted (about %.0f bits)", tc.name, tc.secret, bits)
			continue
		}
		if strings.Contains(reason, tc.secret) || strings.Contains(reason, "\n") {
			t.Errorf("%s: reason %q echoes the key or is not one line", tc.name, reason)
		}
		_, err := Load(func(k string) string {
			return map[string]string{"APP_ENV": "production", "JWT_SECRET": tc.secret}[k]
		})
		expectVarError(t, err, "JWT_SECRET")
	}
	for _, tc := range strongSecrets(t) {
		if reason := weakSecretReason(tc.secret); reason != "" {
			t.Errorf("%s: %q refused: %s", tc.name, tc.secret, reason)
		}
		if _, err := Load(func(k string) string {
			return map[string]string{"APP_ENV": "production", "JWT_SECRET": tc.secret}[k]
		}); err != nil {
			t.Errorf("%s: Load refused %q: %v", tc.name, tc.secret, err)
		}
	}
}

// TestWeakSecretReasonAcceptsRandomKeys: 10,000 random keys in every usual form (hex, base64,
// base64url, base32 of 16 to 64 random bytes; random letters; passphrases of 8 words drawn
// from the common-password list itself) and none is refused.
func TestWeakSecretReasonAcceptsRandomKeys(t *testing.T) {
	t.Parallel()
	words := commonWords(t)
	encodings := []func(b []byte) string{
		hex.EncodeToString, base64.StdEncoding.EncodeToString, base64.RawURLEncoding.EncodeToString,
		base32.StdEncoding.EncodeToString, base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString,
	}
	pick := func(n int) int {
		v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
		if err != nil {
			t.Fatal(err)
		}
		return int(v.Int64())
	}
	const rounds = 10_000
	kinds := []string{"hex", "base64", "base64url", "base32", "base32hex", "letters", "8 words"}
	lowest := make([]float64, len(kinds))
	for i := range lowest {
		lowest[i] = 1e9
	}
	for i := range rounds {
		var secret string
		kind := i % 7
		switch {
		case kind < len(encodings):
			secret = encodings[kind](randomBytes(t, 16+pick(49))) // 16 to 64 bytes
		case kind == 5: // random lower-case letters, 32 to 48 (150 bits and more)
			var b strings.Builder
			for range 32 + pick(17) {
				b.WriteByte(byte('a' + pick(26)))
			}
			secret = b.String()
		default: // 8 words from 10,000: 106 bits
			w := make([]string, 8)
			for j := range w {
				w[j] = words[pick(len(words))]
			}
			secret = strings.Join(w, []string{"-", " ", ".", "_"}[pick(4)])
		}
		if len(secret) < 32 {
			continue
		}
		if reason := weakSecretReason(secret); reason != "" {
			t.Errorf("random key %q refused: %s", secret, reason)
		}
		bits, _ := secretEntropy([]rune(secret))
		lowest[kind] = min(lowest[kind], bits)
	}
	for i, k := range kinds { // the margin over minSecretBits
		t.Logf("%-9s lowest estimate %.0f bits", k, lowest[i])
	}
}

// commonWords are the letters-only entries of auth's common-password list.
func commonWords(t *testing.T) []string {
	f, err := os.Open("../../auth/common-passwords.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var words []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if w := sc.Text(); w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyz") == "" {
			words = append(words, w)
		}
	}
	if len(words) < 5000 {
		t.Fatalf("only %d words", len(words))
	}
	return words
}

// expectVarError checks that err names variable with a one-line *Error (the program prints it
// as its one line and exits 2).
func expectVarError(t testing.TB, err error, variable string) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) || ce.Var != variable {
		t.Fatalf("want an *Error naming %s, got %v", variable, err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("not one line: %q", err.Error())
	}
}
