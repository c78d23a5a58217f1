package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/example/gqlauth/verify/verifytest"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/text/unicode/norm"
)

// Run one for a while with, for example:
//
//	go test ./auth -run '^$' -fuzz FuzzVerify -fuzztime 60s
//
// The f.Add seeds run as ordinary tests.

// fzCheckVerdict checks one Verify answer against an independent reading of the token: an
// accepted token is exactly what the token rules allow; an error is one of the two sentinels.
func fzCheckVerdict(t *testing.T, key SigningKey, raw string, claims *Claims, err error) {
	t.Helper()
	if err != nil {
		if err != ErrTokenInvalid && err != ErrTokenExpired {
			t.Fatalf("Verify returned %v (%T), not a sentinel", err, err)
		}
		if claims != nil {
			t.Fatalf("Verify returned claims with error %v", err)
		}
		if err == ErrTokenExpired {
			// Expired is said only of a correctly signed token; check the signature ourselves.
			fzCheckSignature(t, key, raw)
			fzCheckExpired(t, raw)
		}
		return
	}
	if claims == nil {
		t.Fatal("Verify returned neither claims nor an error")
	}
	if len(raw) > maxTokenBytes {
		t.Fatalf("accepted a token of %d bytes", len(raw))
	}
	fzCheckSignature(t, key, raw)
	parts := strings.Split(raw, ".")
	hb, err := base64.RawURLEncoding.Strict().DecodeString(parts[0])
	if err != nil {
		t.Fatalf("accepted a header that is not canonical base64url: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(hb, &h); err != nil {
		t.Fatalf("accepted a header that is not a JSON object: %v", err)
	}
	if h["alg"] != key.Alg {
		t.Fatalf("accepted alg %v", h["alg"])
	}
	if h["kid"] != key.KID {
		t.Fatalf("accepted kid %v", h["kid"])
	}
	typ, _ := h["typ"].(string)
	if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		t.Fatalf("accepted typ %v", h["typ"])
	}
	for _, forbidden := range []string{"crit", "jwk", "jku", "x5u", "x5c"} {
		if _, ok := h[forbidden]; ok {
			t.Fatalf("accepted a header with %s: %s", forbidden, hb)
		}
	}
	if claims.Issuer != ktIssuer {
		t.Fatalf("accepted iss %q", claims.Issuer)
	}
	hasAud := false
	for _, a := range claims.Audience {
		hasAud = hasAud || a == ktAudience
	}
	if !hasAud {
		t.Fatalf("accepted aud %q", claims.Audience)
	}
	now := ktStart
	if claims.ExpiresAt == nil || !now.Before(claims.ExpiresAt.Add(MaxLeeway)) {
		t.Fatalf("accepted exp %v at %v", claims.ExpiresAt, now)
	}
	if claims.NotBefore != nil && claims.NotBefore.After(now.Add(MaxLeeway)) {
		t.Fatalf("accepted nbf %v at %v", claims.NotBefore, now)
	}
	if claims.IssuedAt != nil && claims.IssuedAt.After(now.Add(MaxLeeway)) {
		t.Fatalf("accepted iat %v at %v", claims.IssuedAt, now)
	}
	if claims.Subject == "" || claims.SessionID == "" || claims.ID == "" {
		t.Fatalf("accepted claims without sub, sid or jti: %+v", claims)
	}
}

// fzCheckSignature fails unless raw's signature is the canonical HMAC of its signing input.
func fzCheckSignature(t *testing.T, key SigningKey, raw string) {
	t.Helper()
	i := strings.LastIndexByte(raw, '.')
	if i < 0 || strings.Count(raw, ".") != 2 {
		t.Fatalf("not a JWS but not refused as invalid: %q", raw)
	}
	mac := hmac.New(sha256.New, key.sign.([]byte))
	mac.Write([]byte(raw[:i]))
	if want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)); raw[i+1:] != want {
		t.Fatalf("signature %q is not %q, yet the token was not refused as invalid", raw[i+1:], want)
	}
}

// fzCheckExpired fails unless raw's exp is past, leeway included.
func fzCheckExpired(t *testing.T, raw string) {
	t.Helper()
	var c Claims
	seg := strings.Split(raw, ".")[1]
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil || json.Unmarshal(b, &c) != nil {
		t.Fatalf("expired, but the claims do not decode: %q", seg)
	}
	if c.ExpiresAt == nil || ktStart.Before(c.ExpiresAt.Add(MaxLeeway)) {
		t.Fatalf("ErrTokenExpired for exp %v at %v", c.ExpiresAt, ktStart)
	}
}

func FuzzVerify(f *testing.F) {
	tokens, key := ktHMACTokens(f, nil)
	valid, _, err := tokens.Issue(ktUser, Session{ID: "sess-1"})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := tokens.Verify(valid); err != nil {
		f.Fatalf("seed token refused: %v", err)
	}
	hdr := ktGoodHeader(key.KID)
	good := ktGoodClaims()
	expired := verifytest.With(good, "iat", ktStart.Add(-2*time.Hour).Unix(), "nbf", ktStart.Add(-2*time.Hour).Unix(), "exp", ktStart.Add(-time.Hour).Unix())
	parts := strings.Split(valid, ".")
	for _, s := range []string{
		valid,
		ktSign(f, key.method, key.sign, hdr, expired),
		ktSign(f, key.method, key.sign, verifytest.With(hdr, "typ", "application/at+jwt"), good),
		ktSign(f, key.method, key.sign, verifytest.With(hdr, "crit", []string{"b64"}, "b64", false), good),
		ktSign(f, key.method, key.sign, verifytest.With(hdr, "typ", "JWT"), good),
		ktSign(f, key.method, key.sign, hdr, verifytest.With(good, "aud", "x")),
		ktSign(f, jwt.SigningMethodHS384, key.sign, hdr, good),
		ktSign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hdr, good),
		parts[0] + "." + parts[1] + ".",
		parts[0] + ".." + parts[2],
		"." + parts[1] + "." + parts[2],
		parts[0] + "=." + parts[1] + "." + parts[2],
		"", ".", "..", "...", "a.b.c", "e30.e30.", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
		`{"alg":"HS256"}.{}.x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		claims, err := tokens.Verify(raw)
		fzCheckVerdict(t, key, raw, claims, err)
	})
}

// FuzzVerifySigned fuzzes the header and claims of correctly signed tokens, which is where the
// verifier's own checks run (a random string almost never gets past the signature).
func FuzzVerifySigned(f *testing.F) {
	tokens, key := ktHMACTokens(f, nil)
	j := func(v any) []byte { b, _ := json.Marshal(v); return b }
	hdr := verifytest.With(ktGoodHeader(key.KID), "alg", "HS256")
	good := ktGoodClaims()
	seeds := [][2][]byte{
		{j(hdr), j(good)},
		{j(verifytest.With(hdr, "typ", "application/at+jwt")), j(good)},
		{j(verifytest.With(hdr, "typ", "AT+JWT")), j(good)},
		{j(verifytest.With(hdr, "typ", "JWT")), j(good)},
		{j(verifytest.With(hdr, "typ", nil)), j(good)},
		{j(verifytest.With(hdr, "kid", "other")), j(good)},
		{j(verifytest.With(hdr, "alg", "none")), j(good)},
		{j(verifytest.With(hdr, "alg", "HS512")), j(good)},
		{j(verifytest.With(hdr, "crit", []string{"exp"})), j(good)},
		{j(verifytest.With(hdr, "jwk", map[string]string{"kty": "oct"})), j(good)},
		{j(verifytest.With(hdr, "x5c", nil)), j(good)},
		{j(hdr), j(verifytest.With(good, "exp", nil))},
		{j(hdr), j(verifytest.With(good, "exp", ktStart.Add(-time.Hour).Unix()))},
		{j(hdr), j(verifytest.With(good, "exp", ktStart.Add(-3*time.Second).Unix()))},
		{j(hdr), j(verifytest.With(good, "exp", 1e300))},
		{j(hdr), j(verifytest.With(good, "exp", -1))},
		{j(hdr), j(verifytest.With(good, "exp", "1"))},
		{j(hdr), j(verifytest.With(good, "nbf", ktStart.Add(time.Minute).Unix()))},
		{j(hdr), j(verifytest.With(good, "iat", ktStart.Add(time.Minute).Unix()))},
		{j(hdr), j(verifytest.With(good, "iat", nil, "nbf", nil))},
		{j(hdr), j(verifytest.With(good, "aud", ktAudience))},
		{j(hdr), j(verifytest.With(good, "aud", []string{"a", ktAudience}))},
		{j(hdr), j(verifytest.With(good, "aud", []any{1, ktAudience}))},
		{j(hdr), j(verifytest.With(good, "iss", nil))},
		{j(hdr), j(verifytest.With(good, "sub", 5))},
		{j(hdr), j(verifytest.With(good, "sid", ""))},
		{j(hdr), j(verifytest.With(good, "roles", "ADMIN"))},
		{j(hdr), []byte(`{"exp":1,"EXP":99999999999}`)},
		{j(hdr), []byte(`null`)},
		{[]byte(`null`), j(good)},
		{[]byte(`{"alg":"HS256","typ":"at+jwt","kid":"` + key.KID + `","typ":"JWT"}`), j(good)},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, header, payload []byte) {
		input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
		mac := hmac.New(sha256.New, key.sign.([]byte))
		mac.Write([]byte(input))
		raw := input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
		claims, err := tokens.Verify(raw)
		fzCheckVerdict(t, key, raw, claims, err)
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"alice@example.com", "  Alice@Example.COM ", "ALICE@EXAMPLE.COM", "a@b", "@b", "a@", "a@@b", "a@b@c",
		"a b@c", "a\tb@c", "a@b\x00", "a@b\u200b", "a@b\u00a0c", "a@b.", "a@.b", "a@b..c", "\"a\"@b", "a<b@c",
		strings.Repeat("a", 64) + "@b", strings.Repeat("a", 65) + "@b", "a@" + strings.Repeat("b", 252),
		"a@" + strings.Repeat("b", 253), "é@example.com", "e\u0301@example.com", "\u212a@example.com",
		"\u0130@example.com", "\u1e9e@example.com", "ß@example.com", "\xff@example.com", "\ufffd@x",
		"\u0345@x", "\u03a3@x", "\u2126@x", "\u212b@x", "ǅ@x", "Ⱥ@x", "\u1fbb@x", "a\u0307\u0301@x",
		"I\u0307@x", "\u0130\u0307@0", "a\u2028b@x", "a\u0085@x", "a@x\u3000", "\u00a0a@x",
		"\u017fam@example.com", "\u03c2@x", "\u0131@x", "\uab70@x", "\u13a0\u0301@x", "\u13f8@x", "\ufb01@x",
		"\u0149@x", "\u0390@x", "\u01f0@x", "\u1fb3@x", "\u03b1\u0345\u0301@x", strings.Repeat("\u0390", 10) + "@x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := NormalizeEmail(raw, "email")
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field != "email" {
				t.Fatalf("error %v is not an InputError for email", err)
			}
			if out != "" {
				t.Fatalf("error with output %q", out)
			}
			return
		}
		if !utf8.ValidString(out) {
			t.Fatalf("%q: output %q is not UTF-8", raw, out)
		}
		if len(out) > 254 {
			t.Fatalf("%q: output of %d bytes", raw, len(out))
		}
		if strings.Count(out, "@") != 1 {
			t.Fatalf("%q: output %q has %d '@'", raw, out, strings.Count(out, "@"))
		}
		at := strings.IndexByte(out, '@')
		if at == 0 || at == len(out)-1 || at > 64 {
			t.Fatalf("%q: output %q is not local@domain with a local part of at most 64 bytes", raw, out)
		}
		for _, r := range out {
			if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
				t.Fatalf("%q: output %q contains %U", raw, out, r)
			}
		}
		if !norm.NFC.IsNormalString(out) {
			t.Fatalf("%q: output %q is not NFC", raw, out)
		}
		again, err := NormalizeEmail(out, "email")
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", raw, out, again, err)
		}
		// Case-insensitive: the upper case of the output names the same account. (Dotless ı
		// aside: it upper-cases to I, which folds to i; without the Turkic rules ı and i are two
		// letters.)
		if !strings.ContainsRune(out, '\u0131') {
			if up, err := NormalizeEmail(strings.ToUpper(out), "email"); err != nil || up != out {
				t.Fatalf("%q and its upper case normalise differently: %q, %v", out, up, err)
			}
		}
	})
}

// FuzzParseDeviceToken: the device token parser never panics, never accepts a value it did not
// issue (unless the fuzzer's bytes are signed with its key, to reach the field checks), and what
// it accepts has one spelling, a carriable user id and a future expiry.
func FuzzParseDeviceToken(f *testing.F) {
	d := dtTokens(f, ktNow, dtHMACKey(f, "fuzz-device-token-secret-0123456789abcdef"))
	// The one valid token, built like issue does but with a fixed nonce and expiry: every fuzz
	// worker sets up anew and must agree on it.
	body := []byte{deviceTokenVersion, 0, 0, 0, 0, 0x7f, 0, 0, 0}
	body = append(body, strings.Repeat("n", deviceNonceBytes)+strings.Repeat("b", deviceBindingBytes)...)
	body = append(body, 36)
	body = append(body, "0190a5c2-7d3e-7abc-8def-0123456789ab"...)
	raw := append(body, d.keys[0].tagOf(body)...)
	issued := base64.RawURLEncoding.EncodeToString(raw)
	if _, ok := d.parse(issued); !ok {
		f.Fatal("the fixed token is refused")
	}
	for _, s := range []string{issued, issued[:len(issued)-1], issued + "A", "", "A", "====", strings.Repeat("_", MaxDeviceTokenChars), "eyJhbGciOiJIUzI1NiJ9.e30.x"} {
		f.Add(s, false)
	}
	f.Add(string(raw[:len(raw)-deviceTagBytes]), true)
	f.Add("\x01\x00\x00\x00\x00\x7f\xff\xff\xff", true)
	f.Fuzz(func(t *testing.T, in string, sign bool) {
		tok := in
		if sign { // in is a body: tag it, so the checks after the tag are explored too
			b := []byte(in)
			tok = base64.RawURLEncoding.EncodeToString(append(b, d.keys[0].tagOf(b)...))
		}
		dv, ok := d.parse(tok)
		if !ok {
			if dv.key != nil || dv.userID != "" {
				t.Fatalf("refused %q but returned %+v", tok, dv)
			}
			return
		}
		if !sign && tok != issued {
			t.Fatalf("accepted %q, which it never issued", tok)
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
		if err != nil || base64.RawURLEncoding.EncodeToString(b) != tok || len(tok) > MaxDeviceTokenChars {
			t.Fatalf("accepted a token with a second spelling or too long: %q", tok)
		}
		if dv.userID == "" || len(dv.userID) > maxDeviceUserID || dv.key != &d.keys[0] {
			t.Fatalf("accepted user id %q", dv.userID)
		}
		if exp := time.Unix(int64(binary.BigEndian.Uint64(b[1:9])), 0); !ktNow().Before(exp) {
			t.Fatalf("accepted a token that expired at %v", exp)
		}
		if k := dv.limiterKey(); !strings.HasPrefix(k, "login:device:") || len(k) > 64 {
			t.Fatalf("limiter key %q", k)
		}
	})
}
