package verify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/fakeclock"

	"github.com/example/gqlauth/verify"
	"github.com/example/gqlauth/verify/verifytest"
)

const (
	testIssuer   = "https://issuer.test"
	testAudience = "graphql-api"
)

var testNow = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

// newTestVerifier serves iss and returns a verifier of its tokens at a fixed clock.
func newTestVerifier(t *testing.T, iss *verifytest.Issuer, o verify.Options) *verify.Verifier {
	t.Helper()
	o.Issuer, o.Audience = iss.Issuer, iss.Audience
	if o.Clock == nil {
		o.Clock = iss.Now
	}
	if iss.Alg() == "HS256" {
		o.HS256Secret = iss.Secret()
	} else if o.JWKSURL == "" && o.MetadataURL == "" {
		srv := iss.Serve()
		t.Cleanup(srv.Close)
		o.JWKSURL = srv.URL + "/.well-known/jwks.json"
	}
	v, err := verify.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func fixedIssuer(alg string) *verifytest.Issuer {
	iss := verifytest.NewIssuer(alg, testIssuer, testAudience)
	iss.Now = func() time.Time { return testNow }
	return iss
}

// TestHostileTable: the verifier judges the shared table exactly as the service's own verifier
// does (auth's TestHostileTable runs the same rows).
func TestHostileTable(t *testing.T) {
	for _, alg := range []string{"HS256", "EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			iss := fixedIssuer(alg)
			v := newTestVerifier(t, iss, verify.Options{})
			for _, c := range iss.Hostile() {
				_, err := v.Verify(context.Background(), c.Token)
				ok := false
				switch c.Want {
				case verifytest.Accept:
					ok = err == nil
				case verifytest.Expired:
					ok = err == verify.ErrExpired
				case verifytest.Invalid:
					ok = errors.Is(err, verify.ErrInvalid) && !errors.Is(err, verify.ErrExpired)
				}
				if !ok {
					t.Errorf("%s: Verify = %v, want %v", c.Name, err, c.Want)
				}
			}
		})
	}
}

func TestRefusalReasons(t *testing.T) {
	iss := fixedIssuer("ES256")
	v := newTestVerifier(t, iss, verify.Options{})
	good := iss.Claims("u", "s").Map()
	for _, c := range []struct {
		name   string
		header map[string]any
		claims map[string]any
		want   error
	}{
		{"audience", nil, verifytest.With(good, "aud", "x"), verify.ErrAudience},
		{"issuer", nil, verifytest.With(good, "iss", "x"), verify.ErrIssuer},
		{"type", map[string]any{"typ": "JWT"}, good, verify.ErrType},
		{"kid", map[string]any{"kid": "x"}, good, verify.ErrUnknownKey},
		{"crit", map[string]any{"crit": []string{"x"}}, good, verify.ErrCritical},
		{"jku", map[string]any{"jku": "https://x"}, good, verify.ErrEmbeddedKey},
		{"nbf", nil, verifytest.With(good, "nbf", testNow.Add(time.Hour).Unix()), verify.ErrNotYetValid},
		{"iat", nil, verifytest.With(good, "iat", testNow.Add(time.Hour).Unix()), verify.ErrIssuedInFuture},
		{"jti", nil, verifytest.With(good, "jti", nil), verify.ErrClaims},
	} {
		if _, err := v.Verify(context.Background(), iss.Sign(c.header, c.claims)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// A client_credentials token: no session, a client id.
	client := verifytest.With(good, "sid", nil, "roles", nil, "client_id", "u", "scope", "read write")
	c, err := v.Verify(context.Background(), iss.Sign(nil, client))
	if err != nil || !c.IsClient() || !c.HasScope("write") || c.HasScope("admin") {
		t.Fatalf("client token: %+v, %v", c, err)
	}
}

// TestUnknownKidRefetchesOnce: after a key rotation, a burst of tokens naming the new kid costs
// one JWKS request, and more unknown kids within 10 s cost none.
func TestUnknownKidRefetchesOnce(t *testing.T) {
	iss := fixedIssuer("EdDSA")
	clock := fakeclock.New(testNow)
	v := newTestVerifier(t, iss, verify.Options{Clock: clock.Now})
	if _, err := v.Verify(context.Background(), iss.Mint("u", "s")); err != nil {
		t.Fatal(err)
	}
	before := iss.JWKSRequests()
	iss.Rotate(true)
	clock.Add(11 * time.Second) // the key set was loaded more than 10 s ago
	tok := iss.Mint("u", "s")
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("token of the new key refused: %v", err)
		}
	}
	if n := iss.JWKSRequests() - before; n != 1 {
		t.Fatalf("%d JWKS requests for 200 verifications after a rotation, want 1", n)
	}
	forged := iss.Sign(map[string]any{"kid": "no-such-key"}, iss.Claims("u", "s").Map())
	for range 100 {
		if _, err := v.Verify(context.Background(), forged); !errors.Is(err, verify.ErrUnknownKey) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := iss.JWKSRequests() - before; n != 1 {
		t.Fatalf("unknown kids within 10 s made %d JWKS requests in all, want 1", n)
	}
}

func TestMetadataURL(t *testing.T) {
	iss := fixedIssuer("RS256")
	srv := iss.Serve()
	defer srv.Close()
	v := newTestVerifier(t, iss, verify.Options{MetadataURL: srv.URL + "/.well-known/oauth-authorization-server"})
	if _, err := v.Verify(context.Background(), iss.Mint("u", "s")); err != nil {
		t.Fatal(err)
	}
	// The metadata must name our issuer.
	_, err := verify.New(context.Background(), verify.Options{Issuer: "https://other.test", Audience: testAudience,
		MetadataURL: srv.URL + "/.well-known/oauth-authorization-server"})
	if err == nil || !strings.Contains(err.Error(), "issuer") {
		t.Fatalf("metadata of another issuer: %v", err)
	}
}

func TestOptionsRefused(t *testing.T) {
	for name, o := range map[string]verify.Options{
		"no issuer":     {Audience: "a", HS256Secret: make([]byte, 32)},
		"no key source": {Issuer: "i", Audience: "a"},
		"two sources":   {Issuer: "i", Audience: "a", HS256Secret: make([]byte, 32), JWKSURL: "http://x"},
		"short secret":  {Issuer: "i", Audience: "a", HS256Secret: make([]byte, 31)},
		"HS256 JWKS":    {Issuer: "i", Audience: "a", JWKSURL: "http://127.0.0.1:1/", Algorithm: "HS256"},
		"unreachable":   {Issuer: "i", Audience: "a", JWKSURL: "http://127.0.0.1:1/"},
	} {
		if v, err := verify.New(context.Background(), o); err == nil {
			v.Close()
			t.Errorf("%s: accepted", name)
		}
	}
	// With the algorithm given, New does not need the service up; Ready says when it is.
	v, err := verify.New(context.Background(), verify.Options{Issuer: "i", Audience: "a", JWKSURL: "http://127.0.0.1:1/", Algorithm: "EdDSA"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if v.Ready() {
		t.Fatal("ready without keys")
	}
	if _, err := v.Verify(context.Background(), fixedIssuer("EdDSA").Mint("u", "s")); !errors.Is(err, verify.ErrKeysUnavailable) {
		t.Fatalf("without keys: %v", err)
	}
}

func TestMiddleware(t *testing.T) {
	iss := fixedIssuer("HS256")
	v := newTestVerifier(t, iss, verify.Options{})
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := verify.ClaimsFrom(r.Context())
		if !ok {
			t.Error("no claims in the context")
		}
		w.Write([]byte(c.Subject))
	}))
	expired := iss.Sign(nil, verifytest.With(iss.Claims("u", "s").Map(), "exp", testNow.Add(-time.Hour).Unix()))
	for _, c := range []struct {
		name      string
		headers   []string
		status    int
		challenge string
	}{
		{"valid", []string{"Bearer " + iss.Mint("user-7", "s")}, 200, ""},
		{"scheme in lower case", []string{"bearer " + iss.Mint("user-7", "s")}, 200, ""},
		{"none", nil, 401, `Bearer`},
		{"blank", []string{""}, 401, `Bearer`},
		{"expired", []string{"Bearer " + expired}, 401, `Bearer error="invalid_token", error_description="the access token expired"`},
		{"garbage", []string{"Bearer x.y.z"}, 401, `Bearer error="invalid_token", error_description="the access token is invalid"`},
		{"basic", []string{"Basic dTpw"}, 401, `Bearer error="invalid_token", error_description="the access token is invalid"`},
		{"two headers", []string{"Bearer " + iss.Mint("u", "s"), "Bearer " + iss.Mint("u", "s")}, 401, `Bearer error="invalid_token", error_description="the access token is invalid"`},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		for _, h := range c.headers {
			r.Header.Add("Authorization", h)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.status || w.Header().Get("WWW-Authenticate") != c.challenge {
			t.Errorf("%s: %d %q, want %d %q", c.name, w.Code, w.Header().Get("WWW-Authenticate"), c.status, c.challenge)
		}
		if c.status == 200 && w.Body.String() != "user-7" {
			t.Errorf("%s: body %q", c.name, w.Body)
		}
	}
}

func TestIdentifyNeverRefuses(t *testing.T) {
	iss := fixedIssuer("HS256")
	v := newTestVerifier(t, iss, verify.Options{})
	var got error
	h := v.Identify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = verify.ErrorFrom(r.Context()) }))
	for hdr, want := range map[string]error{"": verify.ErrMissing, "Bearer x.y.z": verify.ErrInvalid, "Bearer " + iss.Mint("u", "s"): nil} {
		r := httptest.NewRequest("GET", "/", nil)
		if hdr != "" {
			r.Header.Set("Authorization", hdr)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 || !errors.Is(got, want) || (want == nil && got != nil) {
			t.Errorf("%q: %d, %v, want %v", hdr, w.Code, got, want)
		}
	}
}

func TestHooks(t *testing.T) {
	iss := fixedIssuer("ES256")
	var fetched, refused atomic.Int64
	v := newTestVerifier(t, iss, verify.Options{Hooks: verify.Hooks{
		JWKSFetched: func(err error) {
			if err == nil {
				fetched.Add(1)
			}
		},
		Refused: func(err error) {
			if errors.Is(err, verify.ErrInvalid) {
				refused.Add(1)
			}
		},
	}})
	if _, err := v.Verify(context.Background(), "x.y.z"); err == nil {
		t.Fatal("accepted garbage")
	}
	if _, err := v.Verify(context.Background(), iss.Mint("u", "s")); err != nil {
		t.Fatal(err)
	}
	if fetched.Load() != 1 || refused.Load() != 1 {
		t.Fatalf("hooks saw %d fetches, %d refusals; want 1, 1", fetched.Load(), refused.Load())
	}
	if s := v.Stats(); s.Keys != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"HS256", "EdDSA", "ES256", "RS256"} {
		b.Run(alg, func(b *testing.B) {
			iss := verifytest.NewIssuer(alg, testIssuer, testAudience)
			o := verify.Options{Issuer: iss.Issuer, Audience: iss.Audience}
			if alg == "HS256" {
				o.HS256Secret = iss.Secret()
			} else {
				srv := iss.Serve()
				defer srv.Close()
				o.JWKSURL = srv.URL + "/.well-known/jwks.json"
			}
			v, err := verify.New(context.Background(), o)
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			tok := iss.Mint("user-1", "sess-1")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRemovedKeyStopsVerifying: a token verified (and cached) before its key left the key set
// is refused once the set is reloaded without it.
func TestRemovedKeyStopsVerifying(t *testing.T) {
	iss := fixedIssuer("EdDSA")
	clock := fakeclock.New(testNow)
	v := newTestVerifier(t, iss, verify.Options{Clock: clock.Now})
	old := iss.Mint("u", "s")
	for range 2 { // the second answer comes from the cache
		if _, err := v.Verify(context.Background(), old); err != nil {
			t.Fatal(err)
		}
	}
	iss.Rotate(false) // the old key is withdrawn
	clock.Add(11 * time.Second)
	if _, err := v.Verify(context.Background(), iss.Mint("u", "s")); err != nil { // reloads the set
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), old); !errors.Is(err, verify.ErrUnknownKey) {
		t.Fatalf("a token of a withdrawn key: %v", err)
	}
}
