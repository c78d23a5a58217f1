package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/example/gqlauth/internal/fakeclock"
	"github.com/example/gqlauth/verify/verifytest"
)

const (
	ktIssuer   = "https://issuer.test"
	ktAudience = "graphql-api"
	ktTTL      = 15 * time.Minute
)

// ktStart is the tests' fixed "now"; tokens are issued then unless a test moves its clock.
var ktStart = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

func ktNow() time.Time { return ktStart }

var ktUser = User{ID: "user-1", Email: "u@example.com", Roles: []Role{RoleUser}}

func ktTokenConfig(now func() time.Time) TokenConfig {
	if now == nil {
		now = ktNow
	}
	return TokenConfig{Issuer: ktIssuer, Audience: ktAudience, TTL: ktTTL, Leeway: MaxLeeway, Now: now}
}

const ktSecret = "fuzz-and-unit-test-secret-0123456789abcdef"

// ktHMACTokens is an HS256 issuer/verifier on a fixed secret, and its key.
func ktHMACTokens(t testing.TB, now func() time.Time) (*Tokens, SigningKey) {
	t.Helper()
	k := dtHMACKey(t, ktSecret)
	ks, err := NewKeySet(k)
	if err != nil {
		t.Fatal(err)
	}
	return NewTokens(ks, ktTokenConfig(now)), k
}

func ktSegment(t testing.TB, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func ktHeader(t testing.TB, token string) map[string]any { return ktSegment(t, token, 0) }
func ktClaims(t testing.TB, token string) map[string]any { return ktSegment(t, token, 1) }

func ktGoodHeader(kid string) map[string]any {
	return map[string]any{"typ": "at+jwt", "kid": kid}
}

// ktGoodClaims are valid claims at ktStart.
func ktGoodClaims() map[string]any {
	return map[string]any{
		"iss": ktIssuer, "aud": []string{ktAudience}, "sub": ktUser.ID, "sid": "sess-1", "jti": "jti-1",
		"iat": ktStart.Unix(), "nbf": ktStart.Unix(), "exp": ktStart.Add(ktTTL).Unix(), "roles": []string{"USER"},
	}
}

// ktSign signs claims under header with method and key; header entries set to nil are left out
// and an "alg" entry overrides the method's name.
// It is verifytest.Sign, the forger the verify package's tests use too.
func ktSign(t testing.TB, method jwt.SigningMethod, key any, header, claims map[string]any) string {
	t.Helper()
	return verifytest.Sign(method, key, header, claims)
}

func TestIssueClaims(t *testing.T) {
	tokens, key := ktHMACTokens(t, func() time.Time { return ktStart.Add(700 * time.Millisecond) })
	u := User{ID: "user-42", Roles: []Role{RoleUser, RoleAdmin}}
	raw, ttl, err := tokens.Issue(u, Session{ID: "sess-9"})
	if err != nil {
		t.Fatal(err)
	}
	if ttl != ktTTL || tokens.TTL() != ktTTL {
		t.Fatalf("ttl = %v", ttl)
	}
	h := ktHeader(t, raw)
	if h["typ"] != "at+jwt" || h["kid"] != key.KID || h["alg"] != "HS256" || len(h) != 3 {
		t.Fatalf("header %v", h)
	}
	c := ktClaims(t, raw)
	now := float64(ktStart.Unix()) // whole seconds, truncated
	if c["iss"] != ktIssuer || c["sub"] != "user-42" || c["sid"] != "sess-9" ||
		c["iat"] != now || c["nbf"] != now || c["exp"] != now+ktTTL.Seconds() {
		t.Fatalf("claims %v", c)
	}
	if aud, _ := json.Marshal(c["aud"]); string(aud) != `["graphql-api"]` && string(aud) != `"graphql-api"` {
		t.Fatalf("aud = %s", aud)
	}
	if roles, _ := json.Marshal(c["roles"]); string(roles) != `["USER","ADMIN"]` {
		t.Fatalf("roles = %s", roles)
	}
	jti, _ := c["jti"].(string)
	if b, err := base64.RawURLEncoding.DecodeString(jti); err != nil || len(b) < 16 {
		t.Fatalf("jti %q is not 128 random bits", jti)
	}
	other, _, _ := tokens.Issue(u, Session{ID: "sess-9"})
	if ktClaims(t, other)["jti"] == jti {
		t.Fatal("two tokens share a jti")
	}

	// The token never outlives its session.
	sessionEnd := ktStart.Add(5 * time.Minute)
	raw, ttl, err = tokens.Issue(u, Session{ID: "sess-9", ExpiresAt: sessionEnd})
	if err != nil {
		t.Fatal(err)
	}
	if ttl != 5*time.Minute || ktClaims(t, raw)["exp"] != float64(sessionEnd.Unix()) {
		t.Fatalf("capped ttl = %v, exp = %v", ttl, ktClaims(t, raw)["exp"])
	}
	c2, err := tokens.Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Subject != "user-42" || c2.SessionID != "sess-9" || len(c2.Roles) != 2 {
		t.Fatalf("verified claims %+v", c2)
	}
}

func TestVerifyTimeWindows(t *testing.T) {
	clock := fakeclock.New(ktStart)
	tokens, _ := ktHMACTokens(t, clock.Now)
	raw, _, err := tokens.Issue(ktUser, Session{ID: "sess-1"})
	if err != nil {
		t.Fatal(err)
	}
	exp := ktStart.Add(ktTTL)
	cases := []struct {
		name string
		at   time.Time
		want error
	}{
		{"just issued", ktStart, nil},
		{"one second before exp", exp.Add(-time.Second), nil},
		{"at exp, within leeway", exp, nil},
		{"exp + 4s, within leeway", exp.Add(4 * time.Second), nil},
		{"exp + 6s, beyond leeway", exp.Add(6 * time.Second), ErrTokenExpired},
		{"exp + 1h", exp.Add(time.Hour), ErrTokenExpired},
		{"clock 4s behind the issuer (iat, nbf in the future within leeway)", ktStart.Add(-4 * time.Second), nil},
		{"clock 6s behind the issuer (iat, nbf in the future)", ktStart.Add(-6 * time.Second), ErrTokenInvalid},
		{"clock an hour behind", ktStart.Add(-time.Hour), ErrTokenInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock.Set(c.at)
			claims, err := tokens.Verify(raw)
			if err != c.want {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
			if err == nil && claims.SessionID != "sess-1" {
				t.Fatalf("claims %+v", claims)
			}
		})
	}
}

func TestLeewayIsCapped(t *testing.T) {
	clock := fakeclock.New(ktStart)
	cfg := ktTokenConfig(clock.Now)
	cfg.Leeway = time.Hour
	k := dtHMACKey(t, ktSecret)
	ks, _ := NewKeySet(k)
	tokens := NewTokens(ks, cfg)
	raw, _, _ := tokens.Issue(ktUser, Session{ID: "s"})
	clock.Set(ktStart.Add(ktTTL + 10*time.Second))
	if _, err := tokens.Verify(raw); err != ErrTokenExpired {
		t.Fatalf("a leeway of an hour was not capped at %v: %v", MaxLeeway, err)
	}
	clock.Set(ktStart.Add(-10 * time.Second))
	if _, err := tokens.Verify(raw); err != ErrTokenInvalid {
		t.Fatalf("iat 10s in the future accepted: %v", err)
	}

	cfg.Leeway = 0
	strict := NewTokens(ks, cfg)
	clock.Set(ktStart.Add(ktTTL + time.Second))
	if _, err := strict.Verify(raw); err != ErrTokenExpired {
		t.Fatalf("no leeway: %v", err)
	}
}

// The refusals of docs/tokens.md, one token per rule, are the shared hostile-token table:
// TestHostileTable (hostile_test.go) runs it here, and package verify runs the same rows.

// TestVerifyRefusesAnyAlteredToken: changing any one character of a valid token, the
// signature's unused trailing bits included, makes it invalid. Accepting a second spelling of a
// signature (non-canonical base64url) would let a token be altered and still verify.
func TestVerifyRefusesAnyAlteredToken(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for _, alg := range ktAlgs {
		t.Run(alg, func(t *testing.T) {
			key, _ := ktSigningKey(t, alg, 0)
			ks, _ := NewKeySet(key)
			tokens := NewTokens(ks, ktTokenConfig(nil))
			raw, _, err := tokens.Issue(ktUser, Session{ID: "sess-1"})
			if err != nil {
				t.Fatal(err)
			}
			positions := []int{len(raw) - 1, len(raw) - 2, strings.LastIndexByte(raw, '.') + 1, 0, strings.IndexByte(raw, '.') + 3}
			if alg == AlgHS256 { // cheap: try every position
				positions = positions[:0]
				for i := range raw {
					positions = append(positions, i)
				}
			}
			// Line breaks are skipped by Go's base64 decoders; inside a segment they must not be.
			sig := strings.LastIndexByte(raw, '.') + 1
			for _, at := range []int{1, sig + 1, sig + 10, len(raw) - 1} {
				for _, lb := range []string{"\n", "\r", "\r\n"} {
					if _, err := tokens.Verify(raw[:at] + lb + raw[at:]); err == nil {
						t.Fatalf("token with a line break at %d still verifies", at)
					}
				}
			}
			for _, i := range positions {
				if raw[i] == '.' {
					continue
				}
				for _, c := range []byte(alphabet) {
					if c == raw[i] {
						continue
					}
					altered := raw[:i] + string(c) + raw[i+1:]
					if _, err := tokens.Verify(altered); err == nil {
						t.Fatalf("token with position %d of %d changed from %q to %q still verifies", i, len(raw), raw[i], c)
					}
				}
			}
		})
	}
}

func TestVerifyErrorsAreSentinels(t *testing.T) {
	// The adapters map errors with errors.Is; Verify returns the sentinels themselves.
	tokens, _ := ktHMACTokens(t, nil)
	for _, raw := range []string{"x", "a.b.c", strings.Repeat("a.", 2) + "a"} {
		if _, err := tokens.Verify(raw); err != ErrTokenInvalid || !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("Verify(%q) = %v", raw, err)
		}
	}
}

// Issue writes what golang-jwt's SignedString writes for the same claims and header (it only
// encodes the header once): byte for byte where the signature is deterministic (HS256, EdDSA),
// the same signing input and a signature that verifies otherwise.
func TestIssueMatchesGolangJWT(t *testing.T) {
	for _, alg := range ktAlgs {
		t.Run(alg, func(t *testing.T) {
			key, _ := ktSigningKey(t, alg, 0)
			ks, err := NewKeySet(key)
			if err != nil {
				t.Fatal(err)
			}
			tokens := NewTokens(ks, ktTokenConfig(nil))
			ours, _, err := tokens.Issue(User{ID: "u1", Roles: []Role{RoleUser, RoleAdmin}},
				Session{ID: "s1", AMR: []string{"pwd", "otp", "mfa"}, AuthTime: ktNow()})
			if err != nil {
				t.Fatal(err)
			}
			claims, err := tokens.Verify(ours)
			if err != nil {
				t.Fatalf("our token does not verify: %v", err)
			}
			tok := jwt.NewWithClaims(key.method, *claims)
			tok.Header["typ"] = accessTokenType
			tok.Header["kid"] = key.KID
			theirs, err := tok.SignedString(key.sign)
			if err != nil {
				t.Fatal(err)
			}
			ourInput, theirInput := ours[:strings.LastIndexByte(ours, '.')], theirs[:strings.LastIndexByte(theirs, '.')]
			if ourInput != theirInput {
				t.Fatalf("signing input\n ours   %s\n theirs %s", ourInput, theirInput)
			}
			if (alg == AlgHS256 || alg == AlgEdDSA) && ours != theirs {
				t.Fatalf("token\n ours   %s\n theirs %s", ours, theirs)
			}
		})
	}
}
