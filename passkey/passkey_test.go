package passkey_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/passkey/passkeytest"
)

func ptr(s string) *string { return &s }

// A passkey registered by a signed-in user signs that user in, by email and discoverably, with
// amr hwk user mfa; it is listed, named after its authenticator, and can be removed.
func TestRegisterSignInRemove(t *testing.T) {
	f := newFixture(t)
	p := f.register(t, "ada@example.com")
	a := passkeytest.New(origin)
	pk := f.addPasskey(t, p, a, "")
	if pk.Name != "Passkey on this device" {
		t.Errorf("derived name = %q", pk.Name)
	}
	list, err := f.svc.Passkeys(ctx(), p)
	if err != nil || len(list) != 1 || list[0].ID != pk.ID || !slices.Equal(list[0].Transports, []string{"internal", "hybrid"}) {
		t.Fatalf("Passkeys = %+v, %v", list, err)
	}
	if got := f.trail(t, auth.EventPasskeyAdded); len(got) != 1 || got[0].UserID != p.User.ID || got[0].Reason != pk.Name {
		t.Errorf("PASSKEY_ADDED trail = %+v", got)
	}

	for _, email := range []*string{ptr("ADA@example.com"), nil} {
		g, err := f.signIn(t, a, email)
		if err != nil {
			t.Fatalf("sign-in (email %v): %v", email, err)
		}
		claims, err := f.tokens.Verify(g.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if g.User.ID != p.User.ID || !slices.Equal(claims.AMR, []string{"hwk", "user", "mfa"}) || claims.AuthTime == nil {
			t.Errorf("grant user %s amr %v auth_time %v", g.User.ID, claims.AMR, claims.AuthTime)
		}
	}
	list, _ = f.svc.Passkeys(ctx(), p)
	if list[0].LastUsedAt.IsZero() || list[0].SignCount != 2 {
		t.Errorf("after two sign-ins: last used %v, counter %d", list[0].LastUsedAt, list[0].SignCount)
	}

	if ok, err := f.svc.DeletePasskey(ctx(), p, pk.ID); !ok || err != nil {
		t.Fatalf("DeletePasskey = %v, %v", ok, err)
	}
	if got := f.trail(t, auth.EventPasskeyRemoved); len(got) != 1 {
		t.Errorf("PASSKEY_REMOVED trail = %+v", got)
	}
	if _, err := f.signIn(t, a, nil); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("sign-in with a removed passkey = %v, want ErrInvalidCredentials", err)
	}
}

// The options are the WebAuthn JSON options object itself; the user handle is random, not the
// email, and the same for every passkey of the user; a user-given name wins.
func TestOptionsAndUserHandle(t *testing.T) {
	f := newFixture(t)
	p := f.register(t, "bob@example.com")
	_, options, err := f.svc.StartPasskeyRegistration(ctx(), p)
	if err != nil {
		t.Fatal(err)
	}
	var o map[string]any
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"challenge", "rp", "user", "pubKeyCredParams", "timeout", "authenticatorSelection"} {
		if _, ok := o[k]; !ok {
			t.Errorf("creation options lack %q: %s", k, options)
		}
	}
	if _, ok := o["publicKey"]; ok {
		t.Errorf("creation options have a publicKey wrapper: %s", options)
	}
	user := o["user"].(map[string]any)
	handle, err := base64.RawURLEncoding.DecodeString(user["id"].(string))
	if err != nil || len(handle) != 32 || bytes.Contains(handle, []byte("bob")) {
		t.Errorf("user.id = %q (%v): want 32 random bytes", user["id"], err)
	}
	if o["rp"].(map[string]any)["id"] != rpID {
		t.Errorf("rp = %v", o["rp"])
	}
	a, b := passkeytest.New(origin), passkeytest.New(origin)
	f.addPasskey(t, p, a, "Laptop")
	f.clock.Add(time.Second)
	f.addPasskey(t, p, b, "  Phone  ")
	creds := append(a.Credentials(), b.Credentials()...)
	if !bytes.Equal(creds[0].UserHandle, creds[1].UserHandle) || !bytes.Equal(creds[0].UserHandle, handle) {
		t.Errorf("user handles differ between passkeys of one user")
	}
	list, _ := f.svc.Passkeys(ctx(), p)
	if list[0].Name != "Laptop" || list[1].Name != "Phone" {
		t.Errorf("names = %q, %q", list[0].Name, list[1].Name)
	}
	// A new registration excludes the passkeys the user has: the authenticator refuses to
	// make a second one.
	_, options, _ = f.svc.StartPasskeyRegistration(ctx(), p)
	if _, err := a.Create(options); err == nil {
		t.Errorf("excludeCredentials does not list the existing passkey: %s", options)
	}
}

// keysOf returns the options' member names and the allowCredentials' shape.
func shapeOf(t *testing.T, options []byte) (keys []string, allow []map[string]any) {
	t.Helper()
	var o map[string]json.RawMessage
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	for k := range o {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	_ = json.Unmarshal(o["allowCredentials"], &allow)
	return keys, allow
}

// An unknown email, and an account without passkeys, get options of the same shape as an
// account with passkeys: decoy credentials, the same on every request for that email.
func TestUnknownEmailLooksKnown(t *testing.T) {
	f := newFixture(t)
	p := f.register(t, "known@example.com")
	f.addPasskey(t, p, passkeytest.New(origin), "")
	f.register(t, "nopasskey@example.com")

	start := func(email string) []byte {
		_, options, err := f.svc.StartPasskeyLogin(ctx(), &email)
		if err != nil {
			t.Fatal(err)
		}
		return options
	}
	knownKeys, knownAllow := shapeOf(t, start("known@example.com"))
	for _, email := range []string{"nobody@example.com", "nopasskey@example.com"} {
		first := start(email)
		keys, allow := shapeOf(t, first)
		if !slices.Equal(keys, knownKeys) || len(allow) == 0 {
			t.Errorf("%s: options members %v allow %v; known: %v", email, keys, allow, knownKeys)
		}
		for _, c := range allow {
			id, err := base64.RawURLEncoding.DecodeString(c["id"].(string))
			if c["type"] != "public-key" || err != nil || len(id) < 16 || c["transports"] == nil {
				t.Errorf("%s: decoy credential %v", email, c)
			}
		}
		_, again := shapeOf(t, start(email))
		if a, b := mustJSON(allow), mustJSON(again); a != b {
			t.Errorf("%s: decoys differ between requests: %s vs %s", email, a, b)
		}
	}
	_ = knownAllow
	// A decoy challenge cannot be finished with a real passkey of someone else.
	id, options, _ := f.svc.StartPasskeyLogin(ctx(), ptr("nobody@example.com"))
	var o struct{ Challenge string }
	_ = json.Unmarshal(options, &o)
	other := passkeytest.New(origin)
	f.addPasskey(t, f.register(t, "eve@example.com"), other, "")
	resp, _ := other.Assert(other.Credentials()[0], o.Challenge)
	if _, err := f.svc.FinishPasskeyLogin(ctx(), id, resp); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("decoy challenge finished with another account's passkey: %v", err)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Everything a sign-in can get wrong is refused with a typed error, never a session.
func TestSignInRefusals(t *testing.T) {
	f := newFixture(t)
	p := f.register(t, "carol@example.com")
	a := passkeytest.New(origin)
	f.addPasskey(t, p, a, "")
	mallory := passkeytest.New(origin)
	f.addPasskey(t, f.register(t, "mallory@example.com"), mallory, "")

	challengeOf := func(options []byte) string {
		var o struct{ Challenge string }
		if err := json.Unmarshal(options, &o); err != nil {
			t.Fatal(err)
		}
		return o.Challenge
	}
	invalidChallenge := func(err error) bool {
		var ie *auth.InputError
		return errors.As(err, &ie) && ie.Field == "challengeId"
	}
	malformed := func(err error) bool {
		var ie *auth.InputError
		return errors.As(err, &ie) && ie.Field == "credential"
	}
	rejected := func(err error) bool { return errors.Is(err, auth.ErrInvalidCredentials) }

	cases := []struct {
		name   string
		email  *string
		answer func(t *testing.T, options []byte) []byte
		want   func(error) bool
	}{
		{"wrong origin", ptr("carol@example.com"), func(t *testing.T, o []byte) []byte {
			evil := a.Clone()
			evil.Origin = "http://localhost.evil.example"
			return must(evil.Get(o))
		}, rejected},
		{"wrong RP id", nil, func(t *testing.T, o []byte) []byte {
			evil := a.Clone()
			evil.RPID = "evil.example"
			return must(evil.Get(o))
		}, rejected},
		{"user not verified", nil, func(t *testing.T, o []byte) []byte {
			lazy := a.Clone()
			lazy.Flags = passkeytest.FlagUP
			return must(lazy.Get(o))
		}, rejected},
		{"another user's credential for this email", ptr("carol@example.com"), func(t *testing.T, o []byte) []byte {
			return must(mallory.Assert(mallory.Credentials()[0], challengeOf(o)))
		}, rejected},
		{"another user's credential under this user's handle", nil, func(t *testing.T, o []byte) []byte {
			forged := *mallory.Credentials()[0]
			forged.UserHandle = a.Credentials()[0].UserHandle
			return must(mallory.Assert(&forged, challengeOf(o)))
		}, rejected},
		{"signature of another key", nil, func(t *testing.T, o []byte) []byte {
			forged := *a.Credentials()[0]
			forged.Key = mallory.Credentials()[0].Key
			return must(a.Assert(&forged, challengeOf(o)))
		}, rejected},
		{"a registration response", nil, func(t *testing.T, o []byte) []byte {
			return must(passkeytest.New(origin).Create([]byte(`{"challenge":"` + challengeOf(o) + `","rp":{"id":"localhost"},"user":{"id":"AAAA"}}`)))
		}, malformed},
		{"not JSON", nil, func(*testing.T, []byte) []byte { return []byte("{") }, malformed},
		{"empty object", nil, func(*testing.T, []byte) []byte { return []byte("{}") }, malformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, options, err := f.svc.StartPasskeyLogin(ctx(), c.email)
			if err != nil {
				t.Fatal(err)
			}
			g, err := f.svc.FinishPasskeyLogin(ctx(), id, c.answer(t, options))
			if !c.want(err) || g.AccessToken != "" {
				t.Errorf("finish = %+v, %v", g, err)
			}
		})
	}

	t.Run("replayed challenge", func(t *testing.T) {
		id, options, _ := f.svc.StartPasskeyLogin(ctx(), nil)
		resp := must(a.Get(options))
		if _, err := f.svc.FinishPasskeyLogin(ctx(), id, resp); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.FinishPasskeyLogin(ctx(), id, resp); !invalidChallenge(err) {
			t.Errorf("second finish of one challenge = %v, want challengeId refused", err)
		}
		// The same answer to a new challenge does not verify either.
		id2, _, _ := f.svc.StartPasskeyLogin(ctx(), nil)
		if _, err := f.svc.FinishPasskeyLogin(ctx(), id2, resp); !rejected(err) {
			t.Errorf("an old answer to a new challenge = %v, want ErrInvalidCredentials", err)
		}
	})
	t.Run("expired challenge", func(t *testing.T) {
		id, options, _ := f.svc.StartPasskeyLogin(ctx(), nil)
		resp := must(a.Get(options))
		f.clock.Add(auth.PasskeyChallengeTTL + time.Second)
		defer f.clock.Add(-auth.PasskeyChallengeTTL - time.Second)
		if _, err := f.svc.FinishPasskeyLogin(ctx(), id, resp); !invalidChallenge(err) {
			t.Errorf("finish after 5 minutes = %v, want challengeId refused", err)
		}
	})
	t.Run("unknown challenge", func(t *testing.T) {
		if _, err := f.svc.FinishPasskeyLogin(ctx(), "nope", []byte("{}")); !invalidChallenge(err) {
			t.Errorf("unknown challenge = %v", err)
		}
	})
	t.Run("registration challenge used to sign in", func(t *testing.T) {
		id, _, _ := f.svc.StartPasskeyRegistration(ctx(), p)
		_, options, _ := f.svc.StartPasskeyLogin(ctx(), nil)
		if _, err := f.svc.FinishPasskeyLogin(ctx(), id, must(a.Get(options))); !invalidChallenge(err) {
			t.Errorf("= %v, want challengeId refused", err)
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// A signature counter that does not move forward is a clone: refused and audited, and the
// stored counter stays; an authenticator without a counter (always 0) is fine.
func TestCounterGoingBackIsAClone(t *testing.T) {
	f := newFixture(t)
	p := f.register(t, "dan@example.com")
	a := passkeytest.New(origin)
	f.addPasskey(t, p, a, "")
	c := a.Credentials()[0]
	for range 3 {
		if _, err := f.signIn(t, a, nil); err != nil {
			t.Fatal(err)
		}
	}
	c.Counter = 1 // the clone was copied after the first use
	if _, err := f.signIn(t, a, nil); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("sign-in with a counter gone back = %v, want ErrInvalidCredentials", err)
	}
	got := f.trail(t, auth.EventPasskeyCloneDetected)
	if len(got) != 1 || got[0].UserID != p.User.ID {
		t.Errorf("PASSKEY_CLONE_DETECTED trail = %+v", got)
	}
	list, _ := f.svc.Passkeys(ctx(), p)
	if list[0].SignCount != 3 {
		t.Errorf("stored counter = %d, want 3", list[0].SignCount)
	}
	c.Counter = 2 // the next assertion says 3: the same counter again is no better
	if _, err := f.signIn(t, a, nil); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("sign-in with an equal counter = %v", err)
	}
	c.Counter = 10
	if _, err := f.signIn(t, a, nil); err != nil {
		t.Errorf("sign-in with a counter past the stored one = %v", err)
	}

	b := passkeytest.New(origin)
	f.addPasskey(t, p, b, "")
	b.Credentials()[0].Step = 0
	b.Credentials()[0].Counter = 0
	for range 2 {
		if _, err := f.signIn(t, b, nil); err != nil {
			t.Errorf("counterless authenticator: %v", err)
		}
	}
}

// Registration refuses answers for another origin or RP id, another user's challenge, a used or
// expired one, a credential registered already, and malformed input; each needs a new start.
func TestRegistrationRefusals(t *testing.T) {
	f := newFixture(t)
	p := f.register(t, "erin@example.com")
	q := f.register(t, "frank@example.com")
	field := func(err error) string {
		var ie *auth.InputError
		if errors.As(err, &ie) {
			return ie.Field
		}
		return "not an input error: " + errors.Join(err).Error()
	}
	try := func(who auth.Principal, mutate func(*passkeytest.Authenticator), name string) error {
		id, options, err := f.svc.StartPasskeyRegistration(ctx(), p)
		if err != nil {
			t.Fatal(err)
		}
		a := passkeytest.New(origin)
		mutate(a)
		_, err = f.svc.FinishPasskeyRegistration(ctx(), who, id, must(a.Create(options)), name)
		return err
	}
	none := func(*passkeytest.Authenticator) {}
	if err := try(p, func(a *passkeytest.Authenticator) { a.Origin = "https://evil.example" }, ""); field(err) != "credential" {
		t.Errorf("wrong origin: %v", err)
	}
	if err := try(p, func(a *passkeytest.Authenticator) { a.RPID = "evil.example" }, ""); field(err) != "credential" {
		t.Errorf("wrong RP id: %v", err)
	}
	if err := try(p, func(a *passkeytest.Authenticator) { a.Flags = passkeytest.FlagUP }, ""); field(err) != "credential" {
		t.Errorf("user not verified: %v", err)
	}
	if err := try(q, none, ""); field(err) != "challengeId" {
		t.Errorf("another user's challenge: %v", err)
	}
	if err := try(p, none, string(bytes.Repeat([]byte("x"), 65))); field(err) != "name" {
		t.Errorf("long name: %v", err)
	}
	if err := try(p, none, "tab\there"); field(err) != "name" {
		t.Errorf("control character in name: %v", err)
	}

	id, options, _ := f.svc.StartPasskeyRegistration(ctx(), p)
	a := passkeytest.New(origin)
	resp := must(a.Create(options))
	if _, err := f.svc.FinishPasskeyRegistration(ctx(), p, id, resp, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishPasskeyRegistration(ctx(), p, id, resp, ""); field(err) != "challengeId" {
		t.Errorf("replayed registration: %v", err)
	}
	id3, options3, _ := f.svc.StartPasskeyRegistration(ctx(), p)
	resp3 := must(passkeytest.New(origin).Create(options3))
	f.clock.Add(auth.PasskeyChallengeTTL)
	if _, err := f.svc.FinishPasskeyRegistration(ctx(), p, id3, resp3, ""); field(err) != "challengeId" {
		t.Errorf("expired registration: %v", err)
	}
	f.clock.Add(-auth.PasskeyChallengeTTL)
	id4, _, _ := f.svc.StartPasskeyRegistration(ctx(), p)
	if _, err := f.svc.FinishPasskeyRegistration(ctx(), p, id4, []byte(`{"id":1}`), ""); field(err) != "credential" {
		t.Errorf("malformed registration: %v", err)
	}
	if list, _ := f.svc.Passkeys(ctx(), p); len(list) != 1 {
		t.Errorf("%d passkeys stored, want 1", len(list))
	}
}

// An account without a password signs in with its passkey (and cannot with a password).
func TestPasskeyOnlyAccount(t *testing.T) {
	f := newFixture(t)
	p := f.register(t, "grace@example.com")
	a := passkeytest.New(origin)
	pk := f.addPasskey(t, p, a, "")
	db, err := sql.Open("sqlite", f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), `UPDATE users SET password_hash = '' WHERE id = ?`, p.User.ID); err != nil {
		t.Fatal(err)
	}
	g, err := f.signIn(t, a, ptr("grace@example.com"))
	if err != nil || g.User.ID != p.User.ID {
		t.Fatalf("passkey sign-in of a passwordless account = %v", err)
	}
	if _, err := f.svc.Login(ctx(), "grace@example.com", ""); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("password login of a passwordless account = %v", err)
	}
	// Its only passkey cannot be removed: nothing else would sign it in.
	q := f.principal(t, g)
	var ie *auth.InputError
	if ok, err := f.svc.DeletePasskey(ctx(), q, pk.ID); ok || !errors.As(err, &ie) || ie.Field != "id" {
		t.Errorf("removing the last passkey of a passwordless account = %v, %v", ok, err)
	}
	f.addPasskey(t, q, passkeytest.New(origin), "second")
	if ok, err := f.svc.DeletePasskey(ctx(), q, pk.ID); !ok || err != nil {
		t.Errorf("removing one of two passkeys = %v, %v", ok, err)
	}
}
