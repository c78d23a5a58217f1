package passkey_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/fakeclock"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/authtest"
	"github.com/example/gqlauth/passkey"
	"github.com/example/gqlauth/passkey/passkeytest"
	"github.com/example/gqlauth/store/sqlite"
)

const (
	origin   = "http://localhost:8080"
	rpID     = "localhost"
	password = "correct horse battery staple"
)

type clock = fakeclock.Clock

// fixture is the auth service with the WebAuthn adapter on a real SQLite file.
type fixture struct {
	svc    *auth.Service
	store  *sqlite.Store
	path   string
	tokens *auth.Tokens
	clock  *clock
}

func newAdapter(t testing.TB) *passkey.Adapter {
	t.Helper()
	a, err := passkey.New(passkey.Config{RPID: rpID, Origins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "auth.db")
	c := fakeclock.New(time.Now().UTC())
	env := authtest.NewWith(t, authtest.Options{Path: path, Clock: c, AccessTTL: 15 * time.Minute,
		Configure: func(cfg *auth.Config) { cfg.Passkeys = newAdapter(t) }})
	return &fixture{svc: env.Service, store: env.Store, path: path, tokens: env.Tokens, clock: c}
}

func ctx() context.Context {
	return auth.WithClient(context.Background(), auth.Client{IP: "198.51.100.9", UserAgent: "passkey-test"})
}

// register makes an account with a password and returns its principal.
func (f *fixture) register(t *testing.T, email string) auth.Principal {
	t.Helper()
	g, err := f.svc.Register(ctx(), email, password)
	if err != nil {
		t.Fatal(err)
	}
	return f.principal(t, g)
}

func (f *fixture) principal(t *testing.T, g auth.Grant) auth.Principal {
	t.Helper()
	return authtest.Principal(ctx(), t, f.svc, f.tokens, g)
}

// addPasskey registers a passkey of a for p.
func (f *fixture) addPasskey(t *testing.T, p auth.Principal, a *passkeytest.Authenticator, name string) auth.Passkey {
	t.Helper()
	id, options, err := f.svc.StartPasskeyRegistration(ctx(), p)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Create(options)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := f.svc.FinishPasskeyRegistration(ctx(), p, id, resp, name)
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

// signIn runs a passkey sign-in (email nil: discoverable) and returns finish's answer.
func (f *fixture) signIn(t *testing.T, a *passkeytest.Authenticator, email *string) (auth.Grant, error) {
	t.Helper()
	id, options, err := f.svc.StartPasskeyLogin(ctx(), email)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	return f.svc.FinishPasskeyLogin(ctx(), id, resp)
}

// trail returns the stored audit events of type typ (after the writer caught up).
func (f *fixture) trail(t *testing.T, typ auth.EventType) []auth.AuditEntry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var out []auth.AuditEntry
	for time.Now().Before(deadline) {
		es, err := f.store.AuditAfter(context.Background(), 0, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		out = out[:0]
		for _, e := range es {
			if e.Type == typ {
				out = append(out, e)
			}
		}
		if len(out) > 0 {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
	return out
}
