package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/authtest"
)

// keyCtx is a request presenting secret as its bearer token.
func keyCtx(f *svcFixture, secret string) context.Context {
	return authtest.Bearer(clientCtx(), f.tokens, secret)
}

// TestAPIKeyExpiry: a key works until its expiry and answers ErrTokenExpired from then on; a
// key made with no expiry still works years later.
func TestAPIKeyExpiry(t *testing.T) {
	f := newSvc(t, "", nil, nil, nil)
	if _, err := f.svc.Register(clientCtx(), "ada@example.com", testPassword); err != nil {
		t.Fatal(err)
	}
	p := f.principal(t, f.login(t, "ada@example.com"))
	day := 1
	short, err := f.svc.CreateAPIKey(clientCtx(), p, "one day", &day)
	if err != nil {
		t.Fatal(err)
	}
	forever, err := f.svc.CreateAPIKey(clientCtx(), p, "forever", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		after time.Duration
		want  error
	}{{0, nil}, {24*time.Hour - time.Second, nil}, {24 * time.Hour, auth.ErrTokenExpired}, {400 * 24 * time.Hour, auth.ErrTokenExpired}} {
		f.clock.Add(step.after - f.clock.Now().Sub(short.Key.CreatedAt))
		got, err := f.svc.Authorize(keyCtx(f, short.Secret), auth.Requirement{})
		if !errors.Is(err, step.want) {
			t.Fatalf("%v after creation: %v, want %v", step.after, err, step.want)
		}
		if err == nil && (got.Kind != auth.PrincipalAPIKey || got.User.ID != p.User.ID || got.APIKeyID != short.Key.ID || got.SessionID != "") {
			t.Fatalf("principal %+v", got)
		}
		if _, err := f.svc.Authorize(keyCtx(f, forever.Secret), auth.Requirement{}); err != nil {
			t.Fatalf("the key without expiry, %v after creation: %v", step.after, err)
		}
	}
}

// TestAPIKeyCredentialFields: a key is refused where a session is required, and where the
// user's role is not enough, the role answer comes first (as for sessions).
func TestAPIKeyCredentialFields(t *testing.T) {
	f := newSvc(t, "", nil, nil, nil)
	_, k := f.userWithKey(t, "ada@example.com")
	ctx := keyCtx(f, k.Secret)
	var fe *auth.ForbiddenError
	if _, err := f.svc.Authorize(ctx, auth.Requirement{Session: true}); !errors.As(err, &fe) || fe.Reason != auth.ReasonSessionRequired {
		t.Fatalf("Session: %v", err)
	}
	if _, err := f.svc.Authorize(ctx, auth.Requirement{Role: auth.RoleAdmin}); !errors.As(err, &fe) || fe.Requires != auth.RoleAdmin {
		t.Fatalf("ADMIN: %v", err)
	}
	// A key has no second factor: it must not open an mfa field (a password-only session could
	// otherwise mint a key and get past ADMIN_MFA or @auth(mfa: true) with it).
	if _, err := f.svc.Authorize(ctx, auth.Requirement{MFA: true}); !errors.As(err, &fe) || fe.Reason != auth.ReasonMFARequired {
		t.Fatalf("MFA: %v", err)
	}
	kp, err := f.svc.Authorize(ctx, auth.Requirement{Recent: true}) // recency is about sessions
	if err != nil {
		t.Fatalf("Recent: %v", err)
	}
	if _, err := f.svc.CreateAPIKey(clientCtx(), kp, "from a key", nil); !errors.As(err, &fe) || fe.Reason != auth.ReasonSessionRequired {
		t.Fatalf("a key making a key: %v", err)
	}
}

// TestAPIKeyLastUsed: uses are written in the background, at most once a minute per key.
func TestAPIKeyLastUsed(t *testing.T) {
	f := newSvc(t, "", nil, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	p, k := f.userWithKey(t, "ada@example.com")
	lastUsed := func() time.Time {
		ks, err := f.svc.APIKeys(context.Background(), p.User.ID)
		if err != nil || len(ks) != 1 {
			t.Fatalf("APIKeys: %v %v", ks, err)
		}
		return ks[0].LastUsedAt
	}
	waitFor := func(want time.Time) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for !lastUsed().Equal(want) {
			if time.Now().After(deadline) {
				t.Fatalf("LastUsedAt = %v, want %v", lastUsed(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	use := func() {
		t.Helper()
		if _, err := f.svc.Authorize(keyCtx(f, k.Secret), auth.Requirement{}); err != nil {
			t.Fatal(err)
		}
	}
	first := f.clock.Now().UTC()
	use()
	waitFor(first)
	f.clock.Add(30 * time.Second)
	use()
	time.Sleep(200 * time.Millisecond) // room for a write that must not happen
	if got := lastUsed(); !got.Equal(first) {
		t.Fatalf("a use 30 s later wrote LastUsedAt = %v", got)
	}
	f.clock.Add(31 * time.Second)
	use()
	waitFor(f.clock.Now().UTC())
}

// TestParseAPIKey: only gqa_ and exactly 43 base64url characters (32 bytes) parse.
func TestParseAPIKey(t *testing.T) {
	good := "gqa_" + strings.Repeat("A", 43)
	for key, want := range map[string]bool{
		good: true, "gqa_" + strings.Repeat("A", 42): false, good + "A": false, "gqb_" + strings.Repeat("A", 43): false,
		"gqa_" + strings.Repeat("A", 42) + "\n": false, "gqa_" + strings.Repeat("A", 42) + "=": false, "gqa_" + strings.Repeat("A", 42) + "+": false,
		"": false, "gqa_": false,
	} {
		if _, ok := auth.ParseAPIKey(key); ok != want {
			t.Errorf("ParseAPIKey(%q) = %v, want %v", key, ok, want)
		}
	}
}

// FuzzParseAPIKey: whatever it accepts is an API key of the one shape, and its hash is fixed.
func FuzzParseAPIKey(f *testing.F) {
	for _, s := range []string{"gqa_" + strings.Repeat("A", 43), "gqa_", "gqa_" + strings.Repeat("_", 43), "rt_abc", "gqa_" + strings.Repeat("A", 42) + "\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := auth.ParseAPIKey(s)
		if !ok {
			return
		}
		if !auth.IsAPIKey(s) || len(s) != 47 || len(h) != 32 || strings.ContainsAny(s, "\r\n=+/ ") {
			t.Fatalf("accepted %q", s)
		}
		if h2, _ := auth.ParseAPIKey(s); string(h2) != string(h) {
			t.Fatal("hash not deterministic")
		}
	})
}

// TestUnknownAPIKeysLimited: made-up keys from one address cost a store read each only up to
// the limit, then answer RATE_LIMITED; a repeated unknown key is answered from memory and does
// not count; real keys are unaffected from other addresses.
func TestUnknownAPIKeysLimited(t *testing.T) {
	f := newSvc(t, "", nil, nil, func(c *auth.Config) {
		c.Limiter = auth.NewMemoryLimiter(nil)
		c.UnknownAPIKeyPerIP = auth.Limit{N: 3, Window: time.Minute}
	})
	if _, err := f.svc.Register(clientCtx(), "ada@example.com", testPassword); err != nil {
		t.Fatal(err)
	}
	p := f.principal(t, f.login(t, "ada@example.com"))
	k, err := f.svc.CreateAPIKey(clientCtx(), p, "real", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The last character carries 4 bits: these decode strictly.
	made := func(i int) string { return "gqa_" + strings.Repeat("A", 42) + string("AEIMQUYcgkosw"[i]) }
	for i := range 3 {
		if _, err := f.svc.Authorize(keyCtx(f, made(i)), auth.Requirement{}); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Fatalf("made-up key %d: %v", i, err)
		}
	}
	if _, err := f.svc.Authorize(keyCtx(f, made(0)), auth.Requirement{}); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("a repeated made-up key (cached): %v", err)
	}
	var limited *auth.RateLimitedError
	if _, err := f.svc.Authorize(keyCtx(f, made(3)), auth.Requirement{}); !errors.As(err, &limited) {
		t.Fatalf("the fourth made-up key: %v, want RATE_LIMITED", err)
	}
	other := authtest.Bearer(auth.WithClient(context.Background(), auth.Client{IP: "203.0.113.9"}), f.tokens, k.Secret)
	if _, err := f.svc.Authorize(other, auth.Requirement{}); err != nil {
		t.Fatalf("a real key from another address: %v", err)
	}
	if _, err := f.svc.Authorize(keyCtx(f, k.Secret), auth.Requirement{}); err != nil {
		t.Fatalf("a real key, now cached, from the limited address: %v", err)
	}
}

// userWithKey registers email, signs in and makes the session's principal an API key "k".
func (f *svcFixture) userWithKey(t *testing.T, email string) (auth.Principal, auth.NewAPIKey) {
	t.Helper()
	if _, err := f.svc.Register(clientCtx(), email, testPassword); err != nil {
		t.Fatal(err)
	}
	p := f.principal(t, f.login(t, email))
	k, err := f.svc.CreateAPIKey(clientCtx(), p, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, k
}
