package e2e

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/verify/verifytest"
	"github.com/golang-jwt/jwt/v5"
)

// tokenForge re-signs copies of a token the server minted, so each hostile token differs from an
// accepted one in exactly one respect.
type tokenForge struct {
	t      testing.TB
	secret []byte
	kid    string
	claims map[string]any // the real token's claims
	header map[string]any // the real token's header
	raw    string         // the real token
}

func newTokenForge(t testing.TB, s *testServer, token string) *tokenForge {
	t.Helper()
	secret := []byte(s.Env["JWT_SECRET"])
	key, err := auth.NewHMACKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", token)
	}
	f := &tokenForge{t: t, secret: secret, kid: key.KID, raw: token}
	f.header = decodeSegment(t, parts[0])
	f.claims = decodeSegment(t, parts[1])
	if f.header["kid"] != key.KID || f.header["typ"] != "at+jwt" || f.header["alg"] != "HS256" {
		t.Fatalf("the server's token header is not the documented one: %v (kid %s)", f.header, key.KID)
	}
	if f.claims["iss"] != s.Env["JWT_ISSUER"] {
		t.Fatalf("iss = %v, want %s", f.claims["iss"], s.Env["JWT_ISSUER"])
	}
	return f
}

func decodeSegment(t testing.TB, seg string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("segment %q: %v", seg, err)
	}
	m := map[string]any{}
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("segment %s: %v", raw, err)
	}
	return m
}

// tokenEdit changes a token: header or claim entries set to nil are removed.
type tokenEdit struct {
	header map[string]any
	claims map[string]any
	method jwt.SigningMethod // HS256 when nil
	key    any               // the server's secret when nil
}

func (f *tokenForge) mint(e tokenEdit) string {
	f.t.Helper()
	method, key := e.method, e.key
	if method == nil {
		method = jwt.SigningMethodHS256
	}
	if key == nil {
		key = f.secret
	}
	header := verifytest.Edited(map[string]any{"typ": f.header["typ"], "kid": f.header["kid"]}, e.header)
	return verifytest.Sign(method, key, header, verifytest.Edited(f.claims, e.claims))
}

// raw3 assembles a JWS from JSON header and claims and a signature made over them with the
// server's secret (HMAC-SHA256) unless sig is given.
func (f *tokenForge) raw3(header, claims map[string]any, sig *string) string {
	f.t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	if sig != nil {
		return input + "." + *sig
	}
	s, err := jwt.SigningMethodHS256.Sign(input, f.secret)
	if err != nil {
		f.t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(s)
}

// respell changes the unused low bit of a JWS's last base64url character.
func respell(tok string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, tok[len(tok)-1])
	return tok[:len(tok)-1] + string(alphabet[i^1])
}

func unixIn(d time.Duration) int64 { return time.Now().Add(d).Unix() }

// TestHostileTokens sends a table of forged, tampered and malformed access tokens to an @auth
// field and checks each is refused with the reason docs/api.md's Errors section gives, while
// near-misses the token rules allow are accepted.
func TestHostileTokens(t *testing.T) {
	s := startServer(t, nil)
	alice := s.register(t, "alice@example.com")
	f := newTokenForge(t, s, alice.AccessToken)

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherSecret := []byte("another-secret-0123456789abcdefghijklmnopqrstu")
	otherKey, _ := auth.NewHMACKey(otherSecret)
	rsaJWK := map[string]any{
		"kty": "RSA",
		"n":   base64.RawURLEncoding.EncodeToString(rsaKey.N.Bytes()),
		"e":   "AQAB",
	}

	// The signature of the real token, to keep on a changed payload.
	realParts := strings.Split(alice.AccessToken, ".")
	tamperedClaims := maps.Clone(f.claims)
	tamperedClaims["roles"] = []string{"USER", "ADMIN"}
	tamperedSig := realParts[2]

	// alg "none": the jwt library's own encoding and a hand-made one with an empty signature.
	noneLib := f.mint(tokenEdit{method: jwt.SigningMethodNone, key: jwt.UnsafeAllowNoneSignatureType})
	noneHeader := maps.Clone(f.header)
	noneHeader["alg"] = "none"
	empty := ""
	noneRaw := f.raw3(noneHeader, f.claims, &empty)
	noneUpper := maps.Clone(f.header)
	noneUpper["alg"] = "NONE"
	noneUpperRaw := f.raw3(noneUpper, f.claims, &empty)
	// HS256 computed but labelled with a lower-case alg name.
	lowerAlg := maps.Clone(f.header)
	lowerAlg["alg"] = "hs256"
	lowerAlgRaw := f.raw3(lowerAlg, f.claims, nil)

	long := "Bearer " + strings.Repeat("a", 4<<10) + "." + strings.Repeat("b", 4<<10) + "." + strings.Repeat("c", 1<<10)

	type row struct {
		name   string
		header string // the Authorization header value; "" sends none
		reason string // "" means accepted
	}
	bearer := func(tok string) string { return "Bearer " + tok }
	rows := []row{
		// Controls: the real token, and the forge's re-signed copy of it, are accepted.
		{"control/real token", bearer(alice.AccessToken), ""},
		{"control/re-signed copy", bearer(f.mint(tokenEdit{})), ""},

		{"alg/none via library", bearer(noneLib), "TOKEN_INVALID"},
		{"alg/none hand-made", bearer(noneRaw), "TOKEN_INVALID"},
		{"alg/NONE upper case", bearer(noneUpperRaw), "TOKEN_INVALID"},
		{"alg/hs256 lower-case name", bearer(lowerAlgRaw), "TOKEN_INVALID"},
		{"alg/HS384 with the right secret", bearer(f.mint(tokenEdit{method: jwt.SigningMethodHS384})), "TOKEN_INVALID"},
		{"alg/HS512 with the right secret", bearer(f.mint(tokenEdit{method: jwt.SigningMethodHS512})), "TOKEN_INVALID"},
		{"alg/RS256 with some RSA key", bearer(f.mint(tokenEdit{method: jwt.SigningMethodRS256, key: rsaKey})), "TOKEN_INVALID"},
		{"alg/PS256 with some RSA key", bearer(f.mint(tokenEdit{method: jwt.SigningMethodPS256, key: rsaKey})), "TOKEN_INVALID"},
		{"alg/ES256 with some EC key", bearer(f.mint(tokenEdit{method: jwt.SigningMethodES256, key: ecKey})), "TOKEN_INVALID"},
		{"alg/EdDSA with some Ed25519 key", bearer(f.mint(tokenEdit{method: jwt.SigningMethodEdDSA, key: edKey})), "TOKEN_INVALID"},

		{"key/another HS256 secret, our kid", bearer(f.mint(tokenEdit{key: otherSecret})), "TOKEN_INVALID"},
		{"key/another HS256 secret, its own kid", bearer(f.mint(tokenEdit{key: otherSecret, header: map[string]any{"kid": otherKey.KID}})), "TOKEN_INVALID"},
		{"key/tampered payload, roles ADMIN, signature kept", bearer(f.raw3(f.header, tamperedClaims, &tamperedSig)), "TOKEN_INVALID"},
		{"key/signature stripped", bearer(realParts[0] + "." + realParts[1] + "."), "TOKEN_INVALID"},
		// The signature's last character carries unused bits: flipping one is another spelling of
		// the same bytes, and must not verify either.
		{"key/signature respelled (non-canonical base64url)", bearer(respell(alice.AccessToken)), "TOKEN_INVALID"},
		{"key/signature truncated", bearer(realParts[0] + "." + realParts[1] + "." + realParts[2][:20]), "TOKEN_INVALID"},

		{"exp/missing", bearer(f.mint(tokenEdit{claims: map[string]any{"exp": nil}})), "TOKEN_INVALID"},
		{"exp/not a number", bearer(f.mint(tokenEdit{claims: map[string]any{"exp": "tomorrow"}})), "TOKEN_INVALID"},

		{"iss/wrong", bearer(f.mint(tokenEdit{claims: map[string]any{"iss": "https://evil.example"}})), "TOKEN_INVALID"},
		{"iss/trailing slash", bearer(f.mint(tokenEdit{claims: map[string]any{"iss": s.Env["JWT_ISSUER"] + "/"}})), "TOKEN_INVALID"},
		{"iss/missing", bearer(f.mint(tokenEdit{claims: map[string]any{"iss": nil}})), "TOKEN_INVALID"},
		{"aud/wrong", bearer(f.mint(tokenEdit{claims: map[string]any{"aud": "other-api"}})), "TOKEN_INVALID"},
		{"aud/wrong in a list", bearer(f.mint(tokenEdit{claims: map[string]any{"aud": []string{"other-api"}}})), "TOKEN_INVALID"},
		{"aud/missing", bearer(f.mint(tokenEdit{claims: map[string]any{"aud": nil}})), "TOKEN_INVALID"},

		{"typ/JWT", bearer(f.mint(tokenEdit{header: map[string]any{"typ": "JWT"}})), "TOKEN_INVALID"},
		{"typ/missing", bearer(f.mint(tokenEdit{header: map[string]any{"typ": nil}})), "TOKEN_INVALID"},
		{"typ/not a string", bearer(f.mint(tokenEdit{header: map[string]any{"typ": 1}})), "TOKEN_INVALID"},
		{"typ/application/at+jwt accepted", bearer(f.mint(tokenEdit{header: map[string]any{"typ": "application/at+jwt"}})), ""},

		{"kid/unknown", bearer(f.mint(tokenEdit{header: map[string]any{"kid": "no-such-key"}})), "TOKEN_INVALID"},
		{"kid/missing", bearer(f.mint(tokenEdit{header: map[string]any{"kid": nil}})), "TOKEN_INVALID"},
		{"kid/not a string", bearer(f.mint(tokenEdit{header: map[string]any{"kid": 7}})), "TOKEN_INVALID"},

		{"crit/unknown extension", bearer(f.mint(tokenEdit{header: map[string]any{"crit": []string{"exp-ext"}, "exp-ext": true}})), "TOKEN_INVALID"},
		{"crit/b64 false", bearer(f.mint(tokenEdit{header: map[string]any{"crit": []string{"b64"}, "b64": false}})), "TOKEN_INVALID"},

		// Keys offered inside the token are refused, whoever signed it.
		{"embedded/jwk with our signature", bearer(f.mint(tokenEdit{header: map[string]any{"jwk": map[string]any{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(f.secret)}}})), "TOKEN_INVALID"},
		{"embedded/jwk of the attacker's RSA key", bearer(f.mint(tokenEdit{method: jwt.SigningMethodRS256, key: rsaKey, header: map[string]any{"jwk": rsaJWK, "kid": nil}})), "TOKEN_INVALID"},
		{"embedded/jku", bearer(f.mint(tokenEdit{header: map[string]any{"jku": "http://127.0.0.1:1/jwks.json"}})), "TOKEN_INVALID"},
		{"embedded/x5u", bearer(f.mint(tokenEdit{header: map[string]any{"x5u": "http://127.0.0.1:1/cert.pem"}})), "TOKEN_INVALID"},
		{"embedded/x5c", bearer(f.mint(tokenEdit{header: map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString([]byte("not really a certificate"))}}})), "TOKEN_INVALID"},
		{"embedded/x5c with RS256", bearer(f.mint(tokenEdit{method: jwt.SigningMethodRS256, key: rsaKey, header: map[string]any{"x5c": []string{"MIIB"}, "kid": nil}})), "TOKEN_INVALID"},

		{"claims/no sub", bearer(f.mint(tokenEdit{claims: map[string]any{"sub": nil}})), "TOKEN_INVALID"},
		{"claims/no sid", bearer(f.mint(tokenEdit{claims: map[string]any{"sid": nil}})), "TOKEN_INVALID"},

		{"shape/refresh token as bearer", bearer(alice.RefreshToken), "TOKEN_INVALID"},
		{"shape/garbage", bearer("garbage"), "TOKEN_INVALID"},
		{"shape/three dots of garbage", bearer("a.b.c"), "TOKEN_INVALID"},
		{"shape/four segments", bearer(alice.AccessToken + ".x"), "TOKEN_INVALID"},
		{"shape/JWE-like five segments", bearer("eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aaaa.bbbb.cccc"), "TOKEN_INVALID"},
		{"shape/over 8 KiB", long, "TOKEN_INVALID"},
		{"shape/header not JSON", bearer(base64.RawURLEncoding.EncodeToString([]byte("{not json")) + "." + realParts[1] + "." + realParts[2]), "TOKEN_INVALID"},
		{"shape/token with a comma", bearer(alice.AccessToken + ",x"), "TOKEN_INVALID"},
		{"shape/Bearer without token", "Bearer", "TOKEN_INVALID"},
		{"shape/Bearer and spaces only", "Bearer   ", "TOKEN_INVALID"},

		{"scheme/bearer lower case", "bearer " + alice.AccessToken, ""},
		{"scheme/BEARER upper case", "BEARER " + alice.AccessToken, ""},
		{"scheme/Basic", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice@example.com:"+testPassword)), "TOKEN_INVALID"},
		{"scheme/token without scheme", alice.AccessToken, "TOKEN_INVALID"},
		{"scheme/DPoP", "DPoP " + alice.AccessToken, "TOKEN_INVALID"},
		{"scheme/no header", "", "TOKEN_MISSING"},
	}
	// Rows that depend on the clock are minted just before their request.
	timed := map[string]func() string{}
	for _, r := range []struct {
		name   string
		mk     func() string
		reason string
	}{
		{"exp/expired an hour ago", func() string {
			return bearer(f.mint(tokenEdit{claims: map[string]any{"iat": unixIn(-2 * time.Hour), "nbf": unixIn(-2 * time.Hour), "exp": unixIn(-time.Hour)}}))
		}, "TOKEN_EXPIRED"},
		{"exp/expired 10s ago (beyond the leeway)", func() string {
			return bearer(f.mint(tokenEdit{claims: map[string]any{"iat": unixIn(-time.Minute), "nbf": unixIn(-time.Minute), "exp": unixIn(-10 * time.Second)}}))
		}, "TOKEN_EXPIRED"},
		// exp is whole seconds: time.Now().Add(-2s).Unix() lies 2 to 3 s in the past.
		{"exp/expired at most 3s ago (within the leeway)", func() string {
			return bearer(f.mint(tokenEdit{claims: map[string]any{"iat": unixIn(-time.Minute), "nbf": unixIn(-time.Minute), "exp": unixIn(-2 * time.Second)}}))
		}, ""},
		{"exp/expired and wrong audience", func() string {
			return bearer(f.mint(tokenEdit{claims: map[string]any{"aud": "other-api", "iat": unixIn(-2 * time.Hour), "nbf": unixIn(-2 * time.Hour), "exp": unixIn(-time.Hour)}}))
		}, "TOKEN_INVALID"},
		{"nbf/a minute in the future", func() string { return bearer(f.mint(tokenEdit{claims: map[string]any{"nbf": unixIn(time.Minute)}})) }, "TOKEN_INVALID"},
		{"nbf/10s in the future", func() string {
			return bearer(f.mint(tokenEdit{claims: map[string]any{"nbf": unixIn(10 * time.Second)}}))
		}, "TOKEN_INVALID"},
		{"nbf/2s in the future (within the leeway)", func() string {
			return bearer(f.mint(tokenEdit{claims: map[string]any{"nbf": unixIn(2 * time.Second)}}))
		}, ""},
		{"iat/a minute in the future", func() string { return bearer(f.mint(tokenEdit{claims: map[string]any{"iat": unixIn(time.Minute)}})) }, "TOKEN_INVALID"},
		{"iat/10s in the future", func() string {
			return bearer(f.mint(tokenEdit{claims: map[string]any{"iat": unixIn(10 * time.Second)}}))
		}, "TOKEN_INVALID"},
	} {
		timed[r.name] = r.mk
		rows = append(rows, row{r.name, "", r.reason})
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			h := http.Header{}
			if mk := timed[r.name]; mk != nil {
				r.header = mk() // minted just before the request: these rows depend on the clock
			}
			if r.header != "" {
				h.Set("Authorization", r.header)
			}
			resp := s.gqlWithHeader(t, h, `{ me { id } }`, nil)
			if r.reason == "" {
				expectOK(t, resp)
				var me struct{ ID string }
				resp.decode(t, "me", &me)
				if me.ID != alice.User.ID {
					t.Fatalf("me.id = %q, want %q", me.ID, alice.User.ID)
				}
				return
			}
			expectError(t, resp, "UNAUTHENTICATED", r.reason)
			if len(resp.Errors) != 1 {
				t.Fatalf("want one error, got %+v", resp.Errors)
			}
			if string(resp.Data["me"]) != "" && string(resp.Data["me"]) != "null" {
				t.Fatalf("data.me leaked: %s", resp.Data["me"])
			}
		})
	}

	t.Run("empty Authorization header", func(t *testing.T) {
		// What Apollo Client's documented auth link sends when signed out: no token.
		h := http.Header{"Authorization": {""}}
		expectError(t, s.gqlWithHeader(t, h, `{ me { id } }`, nil), "UNAUTHENTICATED", "TOKEN_MISSING")
	})

	t.Run("two Authorization headers", func(t *testing.T) {
		// Even two copies of the same valid token: proxies disagree which one counts.
		for _, second := range []string{"Bearer " + alice.AccessToken, "Bearer garbage", "Basic Zm9vOmJhcg=="} {
			h := http.Header{}
			h.Add("Authorization", "Bearer "+alice.AccessToken)
			h.Add("Authorization", second)
			expectError(t, s.gqlWithHeader(t, h, `{ me { id } }`, nil), "UNAUTHENTICATED", "TOKEN_INVALID")
		}
	})
}

// TestTokenOfEndedSessionOrChangedUser covers the refusals that depend on server state: a
// logged-out session, a disabled account and a demoted admin.
func TestTokenOfEndedSessionOrChangedUser(t *testing.T) {
	s := startServer(t, nil)
	s.CreateUser(t, "root@example.com", "ADMIN", "admin passphrase 1")
	s.CreateUser(t, "deputy@example.com", "ADMIN", "admin passphrase 2")
	root, r := s.login(t, "root@example.com", "admin passphrase 1")
	expectOK(t, r)
	deputy, r := s.login(t, "deputy@example.com", "admin passphrase 2")
	expectOK(t, r)

	t.Run("logout", func(t *testing.T) {
		p := s.register(t, "bob@example.com")
		expectOK(t, s.me(t, p.AccessToken))
		r := s.gql(t, "", `mutation($t:String){ logout(refreshToken:$t) }`, map[string]any{"t": p.RefreshToken})
		expectOK(t, r)
		expectError(t, s.me(t, p.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")
		// A re-signed copy of the token (new jti, same sid) is refused too: the session ended.
		f := newTokenForge(t, s, p.AccessToken)
		expectError(t, s.me(t, f.mint(tokenEdit{claims: map[string]any{"jti": "another-jti"}})), "UNAUTHENTICATED", "TOKEN_REVOKED")
	})

	t.Run("disabled user", func(t *testing.T) {
		p := s.register(t, "carol@example.com")
		expectOK(t, s.me(t, p.AccessToken))
		const setDisabled = `mutation($id:ID!,$d:Boolean!){ setUserDisabled(userId:$id, disabled:$d) { id disabled } }`
		expectOK(t, s.gql(t, root.AccessToken, setDisabled, map[string]any{"id": p.User.ID, "d": true}))
		// Disabling also ends the user's sessions, but the API names the more specific
		// reason for a disabled user: otherwise ACCOUNT_DISABLED could never be given.
		expectError(t, s.me(t, p.AccessToken), "UNAUTHENTICATED", "ACCOUNT_DISABLED")
		_, r := s.refresh(t, p.RefreshToken)
		if r.code() != "UNAUTHENTICATED" || (r.reason() != "REFRESH_TOKEN_INVALID" && r.reason() != "ACCOUNT_DISABLED") {
			t.Fatalf("refresh of a disabled user: %+v", r.Errors)
		}
		// Enabled again, the old token's session stays ended.
		expectOK(t, s.gql(t, root.AccessToken, setDisabled, map[string]any{"id": p.User.ID, "d": false}))
		expectError(t, s.me(t, p.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")
	})

	t.Run("demoted admin", func(t *testing.T) {
		const users = `{ users(first: 1) { edges { node { id } } } }`
		expectOK(t, s.gql(t, deputy.AccessToken, users, nil))
		const setRoles = `mutation($id:ID!,$r:[Role!]!){ setUserRoles(userId:$id, roles:$r) { id roles } }`
		expectOK(t, s.gql(t, root.AccessToken, setRoles, map[string]any{"id": deputy.User.ID, "r": []string{"USER"}}))
		// The token still says ADMIN; the current roles decide.
		r := s.gql(t, deputy.AccessToken, users, nil)
		expectError(t, r, "FORBIDDEN", "")
		if got := r.ext("requires"); got != "ADMIN" {
			t.Fatalf("requires = %q, want ADMIN", got)
		}
		if string(r.Data["users"]) != "" && string(r.Data["users"]) != "null" {
			t.Fatalf("data.users leaked: %s", r.Data["users"])
		}
		// Still signed in as a user.
		expectOK(t, s.me(t, deputy.AccessToken))
	})
}

// TestBadTokenDoesNotBreakPublicOperations: a present but bad, expired or revoked bearer token
// is ignored by register, login, refresh and logout with a refresh token.
func TestBadTokenDoesNotBreakPublicOperations(t *testing.T) {
	s := startServer(t, nil)
	first := s.register(t, "dave@example.com")
	f := newTokenForge(t, s, first.AccessToken)
	expired := f.mint(tokenEdit{claims: map[string]any{"iat": unixIn(-2 * time.Hour), "nbf": unixIn(-2 * time.Hour), "exp": unixIn(-time.Hour)}})
	revoked := s.register(t, "erin@example.com")
	expectOK(t, s.gql(t, revoked.AccessToken, `mutation{ logout }`, nil))
	expectError(t, s.me(t, revoked.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")

	cases := []struct {
		name     string
		values   []string
		register bool // also register under it (each registration costs a bcrypt hash)
	}{
		{"garbage", []string{"Bearer garbage"}, true},
		{"expired", []string{"Bearer " + expired}, true},
		{"revoked", []string{"Bearer " + revoked.AccessToken}, false},
		{"basic", []string{"Basic Zm9vOmJhcg=="}, false},
		{"two headers", []string{"Bearer a", "Bearer b"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{"Authorization": c.values}
			expectError(t, s.gqlWithHeader(t, h, `{ me { id } }`, nil), "UNAUTHENTICATED", "")
			email := "dave@example.com"
			if c.register {
				email = "public-" + c.name + "@example.com"
				r := s.gqlWithHeader(t, h, `mutation($e:String!,$p:String!){ register(input:{email:$e,password:$p}) { `+payloadFields+` } }`,
					map[string]any{"e": email, "p": testPassword})
				var reg payload
				r.decode(t, "register", &reg)
				expectOK(t, s.me(t, reg.AccessToken))
			}

			r := s.gqlWithHeader(t, h, `mutation($e:String!,$p:String!){ login(input:{email:$e,password:$p}) { `+payloadFields+` } }`,
				map[string]any{"e": email, "p": testPassword})
			var in payload
			r.decode(t, "login", &in)
			expectOK(t, s.me(t, in.AccessToken))

			r = s.gqlWithHeader(t, h, `mutation($t:String){ refresh(refreshToken:$t) { `+payloadFields+` } }`,
				map[string]any{"t": in.RefreshToken})
			var ref payload
			r.decode(t, "refresh", &ref)
			expectOK(t, s.me(t, ref.AccessToken))

			r = s.gqlWithHeader(t, h, `mutation($t:String){ logout(refreshToken:$t) }`, map[string]any{"t": ref.RefreshToken})
			expectOK(t, r)
			if string(r.Data["logout"]) != "true" {
				t.Fatalf("logout = %s", r.Data["logout"])
			}
			expectError(t, s.me(t, ref.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")
		})
	}
}
