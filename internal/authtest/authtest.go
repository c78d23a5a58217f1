// Package authtest gives an adapter's tests (graph, oauth) the real auth service to run
// against: a Service over a SQLite file in the test's temporary folder, with an HS256 key, a
// manual clock and the policy the test asks for. Each call makes a fresh one.
package authtest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/auth/limitertest"
	"github.com/example/gqlauth/store/sqlite"
)

// Issuer and Audience of the tokens a test service issues; AccessTTL their lifetime.
const (
	Issuer    = "http://issuer.test"
	Audience  = "graphql-api"
	AccessTTL = time.Minute
)

// Env is a test's auth service and what it is made of.
type Env struct {
	Service *auth.Service
	Store   *sqlite.Store // Close it to make every store call fail
	Keys    *auth.KeySet
	Tokens  *auth.Tokens
	Clock   *limitertest.Clock // the service's and the tokens' time
}

// New builds the service; configure, when given, adjusts its configuration first (Now and
// BcryptCost are set already: bcrypt at cost 4, for speed). Everything is closed when the
// test ends.
func New(t testing.TB, configure ...func(*auth.Config)) *Env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "auth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	key, err := auth.NewHMACKey([]byte("authtest-secret-0123456789abcdefghijklm"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	clock := limitertest.NewClock()
	tokens := auth.NewTokens(keys, auth.TokenConfig{Issuer: Issuer, Audience: Audience, TTL: AccessTTL, Now: clock.Now})
	cfg := auth.Config{BcryptCost: 4, Now: clock.Now}
	for _, c := range configure {
		c(&cfg)
	}
	svc, err := auth.New(ctx, store, tokens, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return &Env{Service: svc, Store: store, Keys: keys, Tokens: tokens, Clock: clock}
}
