package graph_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/graph"
	"github.com/example/gqlauth/store/sqlite"
)

// The GraphQL endpoint on an auth service. In front of it, the HTTP layer puts the request's
// identity (from the Authorization header) and client in the context; the program adds CORS,
// body limits, logs and the rest around both.
func ExampleNewHandler() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "graph-example-")
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

	gql := graph.NewHandler(graph.Options{Auth: svc})
	clientIP := auth.NewClientIP(nil, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gql.ServeHTTP(w, r.WithContext(auth.RequestContext(r.Context(), r, tokens, clientIP, auth.CookieNames{})))
	}))
	defer srv.Close()

	post := func(body string) {
		resp, err := http.Post(srv.URL+"/query", "application/json", strings.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, string(b))
	}
	post(`{"query":"mutation { register(input: {email: \"Ada@Example.com\", password: \"correct horse battery staple\"}) { tokenType expiresIn user { email roles } } }"}`)
	post(`{"query":"{ me { email } }"}`)
	// Output:
	// 200 {"data":{"register":{"tokenType":"Bearer","expiresIn":900,"user":{"email":"ada@example.com","roles":["USER"]}}}}
	// 200 {"errors":[{"message":"authentication required","path":["me"],"locations":[{"line":1,"column":3}],"extensions":{"code":"UNAUTHENTICATED","reason":"TOKEN_MISSING"}}],"data":null}
}
