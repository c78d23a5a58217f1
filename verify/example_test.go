package verify_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/example/gqlauth/verify"
	"github.com/example/gqlauth/verify/verifytest"
)

// A resource server trusting the service's tokens: keys from its JWKS, revocations from its
// feed (with the id and secret of a client made by `gqlauth clients create`).
func Example() {
	ctx := context.Background()
	v, err := verify.New(ctx, verify.Options{
		Issuer:      "https://auth.example.com",
		Audience:    "graphql-api",
		Algorithm:   "EdDSA", // the service's JWT_ALG; lets New return while the service is down
		MetadataURL: "https://auth.example.com/.well-known/oauth-authorization-server",
		// ClientID:     os.Getenv("AUTH_CLIENT_ID"),     // turn on the revocation feed
		// ClientSecret: os.Getenv("AUTH_CLIENT_SECRET"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		claims, _ := verify.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "hello %s\n", claims.Subject)
	})
	_ = http.Handler(v.Middleware(mux)) // serve it: only requests with a valid token get through
}

// Verify returns a sentinel error per reason of refusal.
func ExampleVerifier_Verify() {
	iss := verifytest.NewIssuer("HS256", "https://auth.example.com", "graphql-api")
	v, err := verify.New(context.Background(), verify.Options{
		Issuer: iss.Issuer, Audience: iss.Audience, HS256Secret: iss.Secret(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	claims, err := v.Verify(context.Background(), iss.Mint("user-1", "session-1", "USER"))
	fmt.Println(claims.Subject, claims.SessionID, claims.HasRole("USER"), err)

	forged := iss.Sign(map[string]any{"jku": "https://evil.example/keys"}, iss.Claims("user-1", "session-1").Map())
	_, err = v.Verify(context.Background(), forged)
	fmt.Println(errors.Is(err, verify.ErrInvalid), errors.Is(err, verify.ErrEmbeddedKey))
	// Output:
	// user-1 session-1 true <nil>
	// true true
}

// Middleware answers RFC 6750: 401 with a Bearer challenge.
func ExampleVerifier_Middleware() {
	iss := verifytest.NewIssuer("HS256", "https://auth.example.com", "graphql-api")
	v, _ := verify.New(context.Background(), verify.Options{Issuer: iss.Issuer, Audience: iss.Audience, HS256Secret: iss.Secret()})
	defer v.Close()
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer not.a.token")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	// Output:
	// 401 Bearer error="invalid_token", error_description="the access token is invalid"
}
