// Package authtest gives tests (the service's own, and its adapters': graph, oauth, passkey)
// the real auth service to run against: a Service over a SQLite file in the test's temporary folder, with an HS256 key, a
// manual clock and the policy the test asks for. Each call makes a fresh one.
package authtest

import (
	"cmp"
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

// Options are what a test may choose of its service; the zero value is New's.
type Options struct {
	Path      string             // the SQLite file; "": auth.db in the test's temporary folder
	Store     auth.Store         // the store to use instead of opening Path (a wrapped one, a shared one)
	Clock     *limitertest.Clock // nil: limitertest.NewClock()
	AccessTTL time.Duration      // 0: AccessTTL
	Keys      *auth.KeySet       // nil: KeySet
	// Configure adjusts the service's configuration (Now and BcryptCost are set already:
	// bcrypt at cost 4, for speed).
	Configure func(*auth.Config)
}

// New builds the service; configure, when given, adjusts its configuration first (Now and
// BcryptCost are set already: bcrypt at cost 4, for speed). Everything is closed when the
// test ends.
func New(t testing.TB, configure ...func(*auth.Config)) *Env {
	t.Helper()
	return NewWith(t, Options{Configure: func(c *auth.Config) {
		for _, f := range configure {
			f(c)
		}
	}})
}

// NewWith builds the service o describes. Env.Store is the SQLite store it opened (nil when
// o.Store was given). Everything is closed when the test ends.
func NewWith(t testing.TB, o Options) *Env {
	t.Helper()
	env := &Env{Clock: o.Clock, Keys: o.Keys}
	if env.Keys == nil {
		env.Keys = KeySet(t)
	}
	if env.Clock == nil {
		env.Clock = limitertest.NewClock()
	}
	store := o.Store
	if store == nil {
		path := o.Path
		if path == "" {
			path = filepath.Join(t.TempDir(), "auth.db")
		}
		env.Store = OpenSQLite(t, path)
		store = env.Store
	}
	env.Tokens = auth.NewTokens(env.Keys, auth.TokenConfig{Issuer: Issuer, Audience: Audience, TTL: cmp.Or(o.AccessTTL, AccessTTL), Now: env.Clock.Now})
	cfg := auth.Config{BcryptCost: 4, Now: env.Clock.Now}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	svc, err := auth.New(context.Background(), store, env.Tokens, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	env.Service = svc
	return env
}

// OpenSQLite opens (creating it if need be) the SQLite store at path; the test's end closes it.
func OpenSQLite(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// KeySet is one HMAC key, the test services' (for the tests that issue tokens of their own).
func KeySet(t testing.TB) *auth.KeySet {
	t.Helper()
	key, err := auth.NewHMACKey([]byte("authtest-secret-0123456789abcdefghijklm"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// Bearer is ctx as the service sees a request whose Authorization header carries token.
func Bearer(ctx context.Context, tokens *auth.Tokens, token string) context.Context {
	return auth.WithIdentity(ctx, auth.IdentifyRequest(tokens, []string{"Bearer " + token}))
}

// Principal authorises the bearer of g's access token, on ctx (the request's client), failing
// the test if the service refuses it.
func Principal(ctx context.Context, t testing.TB, svc *auth.Service, tokens *auth.Tokens, g auth.Grant) auth.Principal {
	t.Helper()
	p, err := svc.Authorize(Bearer(ctx, tokens, g.AccessToken), auth.Requirement{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
