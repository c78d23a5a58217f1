package verifytest

import (
	"crypto/x509"
	"encoding/json"
	"maps"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Verdict is what a verifier must answer for a token of the hostile table.
type Verdict int

// The verdicts.
const (
	Accept  Verdict = iota // a valid token
	Expired                // correctly signed and right in every respect but its exp
	Invalid                // refused for any other reason
)

func (v Verdict) String() string { return [...]string{"accept", "expired", "invalid"}[v] }

// Case is one row of the hostile table: a token that differs from an accepted one (the
// control) in one respect, and the verdict every verifier of ours must give.
type Case struct {
	Name  string
	Token string
	Want  Verdict
}

// Key is what the table signs with: the issuer's current key.
type Key struct {
	Method  jwt.SigningMethod
	Private any // what Method signs with ([]byte for HS256)
	Public  any // the public key (nil for HS256)
	KID     string
}

// Claims fixes the control token: its issuer, audience and times are relative to Now.
type Claims struct {
	Issuer, Audience string
	Subject, Session string
	Now              time.Time
	TTL              time.Duration
}

// Header is the control token's header.
func (k Key) Header() map[string]any { return map[string]any{"typ": "at+jwt", "kid": k.KID} }

// Map is the control token's claims.
func (c Claims) Map() map[string]any {
	return map[string]any{
		"iss": c.Issuer, "aud": []string{c.Audience}, "sub": c.Subject, "sid": c.Session, "jti": "jti-1",
		"iat": c.Now.Unix(), "nbf": c.Now.Unix(), "exp": c.Now.Add(c.TTL).Unix(), "roles": []string{"USER"},
	}
}

// With returns a copy of m with the given key/value pairs set; a nil value deletes the key.
func With(m map[string]any, kv ...any) map[string]any {
	edits := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		edits[kv[i].(string)] = kv[i+1]
	}
	return Edited(m, edits)
}

// Edited returns a copy of m with each entry of edits set, or deleted when its value is nil.
func Edited(m, edits map[string]any) map[string]any {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range edits {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// Sign signs claims under header with method and key; header entries set to nil are left out
// and an "alg" entry overrides the method's name. It panics if signing fails (a broken test).
func Sign(method jwt.SigningMethod, key any, header, claims map[string]any) string {
	tok := jwt.NewWithClaims(method, jwt.MapClaims(claims))
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		panic("verifytest: sign: " + err.Error())
	}
	return s
}

// Hostile is the table of tokens every verifier of this service's tokens must judge alike: the
// service's own (package auth) and the one other services import (package verify). Each row
// changes one thing of a token signed by key with claims c.
func Hostile(key Key, c Claims) []Case {
	good, hdr := c.Map(), key.Header()
	sign := func(h, cl map[string]any) string { return Sign(key.Method, key.Private, h, cl) }
	past := func(d time.Duration) int64 { return c.Now.Add(-d).Unix() }
	expired := With(good, "iat", past(2*time.Hour), "nbf", past(2*time.Hour), "exp", past(time.Hour))
	cases := []Case{
		{"control", sign(hdr, good), Accept},
		{"typ application/at+jwt", sign(With(hdr, "typ", "application/at+jwt"), good), Accept},
		{"typ AT+JWT", sign(With(hdr, "typ", "AT+JWT"), good), Accept},
		{"exp within the leeway", sign(hdr, With(good, "exp", past(3*time.Second))), Accept},
		{"iat within the leeway", sign(hdr, With(good, "iat", c.Now.Add(3*time.Second).Unix(), "nbf", c.Now.Add(3*time.Second).Unix())), Accept},
		{"expired", sign(hdr, expired), Expired},
		{"exp just beyond the leeway", sign(hdr, With(good, "exp", past(6*time.Second))), Expired},

		{"typ JWT", sign(With(hdr, "typ", "JWT"), good), Invalid},
		{"typ missing", sign(With(hdr, "typ", nil), good), Invalid},
		{"typ a number", sign(With(hdr, "typ", 1), good), Invalid},
		{"typ at+jwt with parameters", sign(With(hdr, "typ", "at+jwt; x=y"), good), Invalid},
		{"kid unknown", sign(With(hdr, "kid", "nope"), good), Invalid},
		{"kid missing", sign(With(hdr, "kid", nil), good), Invalid},
		{"kid a number", sign(With(hdr, "kid", 3), good), Invalid},
		{"crit unknown", sign(With(hdr, "crit", []string{"x-ext"}, "x-ext", 1), good), Invalid},
		{"crit empty", sign(With(hdr, "crit", []string{}), good), Invalid},
		{"crit b64", sign(With(hdr, "crit", []string{"b64"}, "b64", false), good), Invalid},
		{"jwk", sign(With(hdr, "jwk", map[string]any{"kty": "oct", "k": "AAAA"}), good), Invalid},
		{"jku", sign(With(hdr, "jku", "https://evil.example/jwks"), good), Invalid},
		{"x5u", sign(With(hdr, "x5u", "https://evil.example/cert"), good), Invalid},
		{"x5c", sign(With(hdr, "x5c", []string{"MIIB"}), good), Invalid},
		{"x5c null", sign(With(hdr, "x5c", json.RawMessage("null")), good), Invalid},

		{"iss wrong", sign(hdr, With(good, "iss", "https://evil.example")), Invalid},
		{"iss missing", sign(hdr, With(good, "iss", nil)), Invalid},
		{"aud wrong", sign(hdr, With(good, "aud", "other")), Invalid},
		{"aud missing", sign(hdr, With(good, "aud", nil)), Invalid},
		{"exp missing", sign(hdr, With(good, "exp", nil)), Invalid},
		{"exp a string", sign(hdr, With(good, "exp", "soon")), Invalid},
		{"nbf in the future", sign(hdr, With(good, "nbf", c.Now.Add(time.Minute).Unix())), Invalid},
		{"iat in the future", sign(hdr, With(good, "iat", c.Now.Add(time.Minute).Unix())), Invalid},
		{"sub missing", sign(hdr, With(good, "sub", nil)), Invalid},
		{"sub empty", sign(hdr, With(good, "sub", "")), Invalid},
		{"sid missing", sign(hdr, With(good, "sid", nil)), Invalid},
		{"jti missing", sign(hdr, With(good, "jti", nil)), Invalid},
		{"client token", sign(hdr, With(good, "sid", nil, "roles", nil, "client_id", c.Subject, "scope", "read")), Accept},
		{"client token with a sid", sign(hdr, With(good, "roles", nil, "client_id", c.Subject)), Invalid},
		{"client token for another sub", sign(hdr, With(good, "sid", nil, "roles", nil, "client_id", "someone-else")), Invalid},
		{"client token with roles", sign(hdr, With(good, "sid", nil, "client_id", c.Subject)), Invalid},
		{"client_id empty, no sid", sign(hdr, With(good, "sid", nil, "roles", nil, "client_id", "")), Invalid},
		{"expired and wrong aud", sign(hdr, With(expired, "aud", "other")), Invalid},
		{"expired and wrong iss", sign(hdr, With(expired, "iss", "other")), Invalid},
		{"expired and kid unknown", sign(With(hdr, "kid", "nope"), expired), Invalid},

		{"alg none", Sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hdr, good), Invalid},
		{"alg none, no signature", strings.TrimSuffix(Sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hdr, good), "."), Invalid},
		{"empty", "", Invalid},
		{"two segments", "a.b", Invalid},
		{"garbage", "a.b.c", Invalid},
		{"over 8 KiB", sign(hdr, With(good, "pad", strings.Repeat("x", 8<<10))), Invalid},
	}
	tok := sign(hdr, good)
	cases = append(cases,
		Case{"signature cut", tok[:strings.LastIndexByte(tok, '.')+1], Invalid},
		Case{"line break in the signature", tok[:len(tok)-4] + "\n" + tok[len(tok)-4:], Invalid},
		Case{"claims of another token", spliceClaims(tok, sign(hdr, With(good, "sub", "admin"))), Invalid},
	)
	// Algorithm confusion: the public key used as an HMAC secret, another hash of the same
	// secret, another asymmetric algorithm.
	switch key.Method.Alg() {
	case "HS256":
		cases = append(cases,
			Case{"HS384 with the same secret", Sign(jwt.SigningMethodHS384, key.Private, With(hdr, "alg", "HS384"), good), Invalid},
			Case{"HS512 with the same secret", Sign(jwt.SigningMethodHS512, key.Private, hdr, good), Invalid})
	default:
		if der, err := x509.MarshalPKIXPublicKey(key.Public); err == nil {
			cases = append(cases, Case{"HS256 keyed with the public key", Sign(jwt.SigningMethodHS256, der, hdr, good), Invalid})
		}
	}
	return cases
}

// spliceClaims puts b's claims under a's header and signature.
func spliceClaims(a, b string) string {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	return pa[0] + "." + pb[1] + "." + pa[2]
}
