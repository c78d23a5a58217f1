package oauth_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/oauth"
	"github.com/example/gqlauth/store/sqlite"
)

// An endpoint of another OAuth feature that only registered clients may call authenticates
// them with AuthenticateClient (HTTP Basic or client_secret_post) and answers a failure with
// WriteClientError (401 invalid_client with WWW-Authenticate: Basic, or 429 when limited).
func ExampleHandler_AuthenticateClient() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "oauth-example-")
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "auth.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	key, _ := auth.NewHMACKey([]byte("example-secret-0123456789abcdefghijklmn"))
	keys, _ := auth.NewKeySet(key)
	tokens := auth.NewTokens(keys, auth.TokenConfig{Issuer: "http://issuer.example", Audience: "api", TTL: time.Minute})
	svc, err := auth.New(ctx, store, tokens, auth.Config{BcryptCost: 4})
	if err != nil {
		panic(err)
	}
	defer svc.Close()
	h := &oauth.Handler{Auth: svc, Keys: keys, Issuer: "http://issuer.example", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

	whoAmI := func(w http.ResponseWriter, r *http.Request) {
		c, err := h.AuthenticateClient(r)
		if err != nil {
			h.WriteClientError(w, r, err)
			return
		}
		fmt.Fprint(w, c.Name)
	}
	registered, _ := svc.CreateClient(ctx, "billing", []string{"invoices:read"})

	for _, secret := range []string{registered.Secret, "cs_wrong"} {
		r := httptest.NewRequest(http.MethodPost, "/whoami", strings.NewReader(url.Values{}.Encode()))
		r.SetBasicAuth(url.QueryEscape(registered.Client.ID), url.QueryEscape(secret))
		w := httptest.NewRecorder()
		whoAmI(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()), w.Header().Get("WWW-Authenticate") != "")
	}
	// Output:
	// 200 billing false
	// 401 {"error":"invalid_client","error_description":"client authentication failed"} true
}
