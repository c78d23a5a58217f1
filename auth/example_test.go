package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/sqlite"
)

// Issuing an access token for a user's session and verifying it. Verify refuses anything that
// is not exactly what Issue made, and tells an expired token from an invalid one.
func ExampleTokens() {
	key, err := auth.NewHMACKey([]byte("an example secret of 32 bytes or more"))
	if err != nil {
		log.Fatal(err)
	}
	keys, err := auth.NewKeySet(key)
	if err != nil {
		log.Fatal(err)
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tokens := auth.NewTokens(keys, auth.TokenConfig{
		Issuer: "https://auth.example.com", Audience: "api", TTL: 15 * time.Minute,
		Now: func() time.Time { return now },
	})

	user := auth.User{ID: "user-1", Roles: []auth.Role{auth.RoleUser}}
	session := auth.Session{ID: "session-1", AMR: []string{auth.AMRPassword}, AuthTime: now}
	raw, ttl, err := tokens.Issue(user, session)
	if err != nil {
		log.Fatal(err)
	}
	claims, err := tokens.Verify(raw)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Subject, claims.SessionID, claims.Roles, claims.AMR, ttl)

	_, err = tokens.Verify(raw[:len(raw)-2] + "xx") // another signature
	fmt.Println(errors.Is(err, auth.ErrTokenInvalid))

	now = now.Add(16 * time.Minute)
	_, err = tokens.Verify(raw)
	fmt.Println(errors.Is(err, auth.ErrTokenExpired))
	// Output:
	// user-1 session-1 [USER] [pwd] 15m0s
	// true
	// true
}

// A key set publishes the public half of its asymmetric keys as a JWKS (RFC 7517), each with
// its RFC 7638 thumbprint as kid, for other services to verify the tokens with. (The kid
// below is SHA-256 over {"crv":"Ed25519","kty":"OKP","x":"O2on…"}, base64url.)
func ExampleKeySet_JWKS() {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // a fixed key, for the example
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		log.Fatal(err)
	}
	key, err := auth.ParsePrivateKeyPEM(auth.AlgEdDSA, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		log.Fatal(err)
	}
	keys, err := auth.NewKeySet(key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(keys.Alg(), key.KID)
	fmt.Println(string(keys.JWKS()))
	// Output:
	// EdDSA 9ZP03Nu8GrXPAUkbKNxHOKBzxPX83SShgFkRNK-f2lw
	// {"keys":[{"alg":"EdDSA","crv":"Ed25519","kid":"9ZP03Nu8GrXPAUkbKNxHOKBzxPX83SShgFkRNK-f2lw","kty":"OKP","use":"sig","x":"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik"}]}
}

// NormalizeEmail gives the one form of an address that accounts are keyed by, or an
// *InputError naming the field.
func ExampleNormalizeEmail() {
	email, err := auth.NormalizeEmail("  Ada.Lovelace@Example.COM ", "email")
	fmt.Println(email, err)

	_, err = auth.NormalizeEmail("ada at example.com", "email")
	var input *auth.InputError
	fmt.Println(errors.As(err, &input), input.Field)
	// Output:
	// ada.lovelace@example.com <nil>
	// true email
}

// The password rules of NIST SP 800-63B: a minimum length, no common password, not the email.
func ExamplePasswordPolicy_Check() {
	policy := auth.PasswordPolicy{MinLength: 10}
	for _, pw := range []string{"short", "1qaz2wsx3edc", "ada@example.com", "correct horse battery staple"} {
		fmt.Printf("%q: %v\n", pw, policy.Check(pw, "ada@example.com", "password"))
	}
	// Output:
	// "short": password: password is shorter than 10 characters
	// "1qaz2wsx3edc": password: password is too common
	// "ada@example.com": password: password must not be the email
	// "correct horse battery staple": <nil>
}

// The service on a SQLite store: register, sign in, and authorise a request carrying the
// access token. Adapters (GraphQL, OAuth) do exactly this, each in its own terms.
func ExampleService() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "auth-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "auth.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	key, err := auth.NewHMACKey([]byte("an example secret of 32 bytes or more"))
	if err != nil {
		log.Fatal(err)
	}
	keys, err := auth.NewKeySet(key)
	if err != nil {
		log.Fatal(err)
	}
	tokens := auth.NewTokens(keys, auth.TokenConfig{Issuer: "https://auth.example.com", Audience: "api", TTL: 15 * time.Minute})
	svc, err := auth.New(ctx, store, tokens, auth.Config{BcryptCost: 10})
	if err != nil {
		log.Fatal(err)
	}
	defer svc.Close()

	if _, err := svc.Register(ctx, "ada@example.com", "correct horse battery staple"); err != nil {
		log.Fatal(err)
	}
	_, err = svc.Login(ctx, "ada@example.com", "not the password")
	fmt.Println(err)
	grant, err := svc.Login(ctx, "ADA@example.com", "correct horse battery staple")
	if err != nil {
		log.Fatal(err)
	}

	// What the HTTP layer does with the Authorization header, and what @auth then asks.
	request := auth.WithIdentity(ctx, auth.IdentifyRequest(tokens, []string{"Bearer " + grant.AccessToken}))
	p, err := svc.Authorize(request, auth.Requirement{Role: auth.RoleUser})
	fmt.Println(p.User.Email, p.User.Roles, err)
	_, err = svc.Authorize(request, auth.Requirement{Role: auth.RoleAdmin})
	fmt.Println(err)
	// Output:
	// invalid email or password
	// ada@example.com [USER] <nil>
	// requires role ADMIN
}
