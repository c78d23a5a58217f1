package auth_test

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/fakeclock"
	"github.com/example/gqlauth/internal/totptest"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/authtest"
)

// mfaUser is a registered account with TOTP on.
type mfaUser struct {
	f        *svcFixture
	email    string
	secret   []byte
	recovery []string
}

func (m *mfaUser) code(offset int64) string {
	return totptest.Code(m.secret, m.f.clock.Now().Unix()/30+offset)
}

// wrong is a code that none of the accepted steps has now.
func (m *mfaUser) wrong() string {
	for n := 0; ; n++ {
		c := fmt.Sprintf("%06d", 100000+n)
		if c != m.code(-1) && c != m.code(0) && c != m.code(1) {
			return c
		}
	}
}

// enrol registers email and turns TOTP on through the API's steps.
func enrol(t *testing.T, f *svcFixture, email string) *mfaUser {
	t.Helper()
	g, err := f.svc.Register(clientCtx(), email, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	p := f.principal(t, g)
	setup, err := f.svc.StartTOTPSetup(clientCtx(), p)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(setup.Secret)
	if err != nil || len(secret) != 20 {
		t.Fatalf("secret %q: %d bytes, %v", setup.Secret, len(secret), err)
	}
	u, err := url.Parse(setup.URI)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || q.Get("secret") != setup.Secret || q.Get("issuer") != "gqlauth" ||
		q.Get("algorithm") != "SHA1" || q.Get("digits") != "6" || q.Get("period") != "30" ||
		!strings.HasSuffix(u.Path, ":"+email) {
		t.Fatalf("otpauth URI %s", setup.URI)
	}
	m := &mfaUser{f: f, email: email, secret: secret}
	if _, err := f.svc.ConfirmTOTPSetup(clientCtx(), p, m.wrong()); !errors.Is(err, auth.ErrMFACodeInvalid) {
		t.Fatalf("confirming with a wrong code: %v", err)
	}
	m.recovery, err = f.svc.ConfirmTOTPSetup(clientCtx(), p, m.code(0))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var recoveryFormat = regexp.MustCompile(`^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$`)

// login signs in with the password and returns the mfaToken it must answer with.
func (m *mfaUser) login(t *testing.T) string {
	t.Helper()
	_, err := m.f.svc.Login(clientCtx(), m.email, testPassword)
	var req *auth.MFARequiredError
	if !errors.As(err, &req) {
		t.Fatalf("login of an account with TOTP: %v, want MFARequiredError", err)
	}
	if !slices.Equal(req.Methods, []string{"TOTP", "RECOVERY_CODE"}) || !strings.HasPrefix(req.Token, "mfa_") {
		t.Fatalf("MFARequiredError %+v", req)
	}
	return req.Token
}

// TestTOTPTwoStepSignIn: enrolment gives 10 distinct recovery codes; the password alone then
// starts no session; verifyMfa with the app's code does, with amr ["pwd","otp","mfa"], and its
// session passes an MFA requirement.
func TestTOTPTwoStepSignIn(t *testing.T) {
	f := newSvc(t, "", nil, nil, nil)
	m := enrol(t, f, "ada@example.com")
	if len(m.recovery) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(m.recovery))
	}
	seen := map[string]bool{}
	for _, c := range m.recovery {
		if !recoveryFormat.MatchString(c) || seen[c] {
			t.Fatalf("recovery code %q (format or duplicate)", c)
		}
		seen[c] = true
	}
	if u, err := f.store.UserByEmail(context.Background(), m.email); err != nil || !u.MFAEnabled {
		t.Fatalf("MFAEnabled after confirming: %v, %v", u.MFAEnabled, err)
	}
	token := m.login(t)
	// The confirming code's step is spent: the same code does not sign in.
	if _, err := f.svc.VerifyMFA(clientCtx(), token, m.code(0)); !errors.Is(err, auth.ErrMFACodeInvalid) {
		t.Fatalf("the code that confirmed the setup: %v, want ErrMFACodeInvalid", err)
	}
	f.clock.Add(30 * time.Second)
	g, err := f.svc.VerifyMFA(clientCtx(), token, m.code(0))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := f.tokens.Verify(g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(claims.AMR, []string{"pwd", "otp", "mfa"}) || claims.AuthTime == nil || !claims.AuthTime.Time.Equal(f.clock.Now().Truncate(time.Second)) {
		t.Fatalf("amr %v, auth_time %v", claims.AMR, claims.AuthTime)
	}
	ctx := authtest.Bearer(clientCtx(), f.tokens, g.AccessToken)
	if _, err := f.svc.Authorize(ctx, auth.Requirement{MFA: true, Session: true, Recent: true}); err != nil {
		t.Fatalf("a session signed in with TOTP: %v", err)
	}
	// The token is single-use.
	f.clock.Add(30 * time.Second)
	if _, err := f.svc.VerifyMFA(clientCtx(), token, m.code(0)); !errors.Is(err, auth.ErrMFATokenInvalid) {
		t.Fatalf("a used mfaToken: %v, want ErrMFATokenInvalid", err)
	}
	// A wrong password says nothing about the second factor.
	if _, err := f.svc.Login(clientCtx(), m.email, "wrong password!"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
}

// TestTOTPDriftAndReplay: the codes of the steps either side are accepted, two steps away are
// not, and a step is accepted once, also after a later one.
func TestTOTPDriftAndReplay(t *testing.T) {
	f := newSvc(t, "", nil, nil, nil)
	m := enrol(t, f, "ada@example.com")
	for i, c := range []struct {
		name    string
		advance time.Duration
		offset  int64
		ok      bool
	}{
		{"two steps behind", 5 * time.Minute, -2, false},
		{"two steps ahead", 0, +2, false},
		{"one step behind", 0, -1, true},
		{"the same step again", 0, -1, false},
		{"one step ahead", 0, +1, true},
		{"the current step, before the one spent", 0, 0, false},
		{"one step ahead, a minute on", time.Minute, +1, true},
	} {
		f.clock.Add(c.advance)
		_, err := f.svc.VerifyMFA(clientCtx(), m.login(t), m.code(c.offset))
		if c.ok != (err == nil) || (err != nil && !errors.Is(err, auth.ErrMFACodeInvalid)) {
			t.Fatalf("%d %s: %v, want ok=%v", i, c.name, err, c.ok)
		}
	}
}

// TestRecoveryCodes: each works once (typed in upper case with spaces too), and using one is
// audited; regenerating replaces them all.
func TestRecoveryCodes(t *testing.T) {
	f := newSvc(t, "", nil, nil, nil)
	m := enrol(t, f, "ada@example.com")
	g, err := f.svc.VerifyMFA(clientCtx(), m.login(t), m.recovery[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.VerifyMFA(clientCtx(), m.login(t), m.recovery[0]); !errors.Is(err, auth.ErrMFACodeInvalid) {
		t.Fatalf("a recovery code used twice: %v", err)
	}
	typed := strings.ToUpper(strings.ReplaceAll(m.recovery[1], "-", " "))
	if _, err := f.svc.VerifyMFA(clientCtx(), m.login(t), typed); err != nil {
		t.Fatalf("recovery code typed as %q: %v", typed, err)
	}
	f.clock.Add(30 * time.Second)
	fresh, err := f.svc.RegenerateRecoveryCodes(clientCtx(), f.principal(t, g), m.code(0))
	if err != nil || len(fresh) != 10 {
		t.Fatalf("regenerate: %d codes, %v", len(fresh), err)
	}
	if _, err := f.svc.VerifyMFA(clientCtx(), m.login(t), m.recovery[2]); !errors.Is(err, auth.ErrMFACodeInvalid) {
		t.Fatalf("an old recovery code after regenerating: %v", err)
	}
	if _, err := f.svc.VerifyMFA(clientCtx(), m.login(t), fresh[0]); err != nil {
		t.Fatalf("a new recovery code: %v", err)
	}
	waitForAudit(t, f, auth.EventRecoveryCodeUsed, 3)
	waitForAudit(t, f, auth.EventMFAFailed, 2)
	waitForAudit(t, f, auth.EventMFAEnabled, 1)
}

// waitForAudit waits until the trail holds at least n events of type typ.
func waitForAudit(t *testing.T, f *svcFixture, typ auth.EventType, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		page, err := f.svc.AuditEvents(context.Background(), "", 100, "")
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, e := range page.Entries {
			if e.Type == typ {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s events in the audit trail, want %d", got, typ, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMFATokenLimits: five codes per token, then even the right one is refused; five minutes;
// garbage tokens.
func TestMFATokenLimits(t *testing.T) {
	f := newSvc(t, "", nil, nil, nil)
	m := enrol(t, f, "ada@example.com")
	f.clock.Add(time.Minute)
	token := m.login(t)
	wrong := m.wrong()
	for i := range 5 {
		if _, err := f.svc.VerifyMFA(clientCtx(), token, wrong); !errors.Is(err, auth.ErrMFACodeInvalid) {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	if _, err := f.svc.VerifyMFA(clientCtx(), token, m.code(0)); !errors.Is(err, auth.ErrMFATokenInvalid) {
		t.Fatalf("the right code after 5 wrong ones: %v, want ErrMFATokenInvalid", err)
	}

	token = m.login(t)
	f.clock.Add(auth.MFATokenTTL)
	if _, err := f.svc.VerifyMFA(clientCtx(), token, m.code(0)); !errors.Is(err, auth.ErrMFATokenInvalid) {
		t.Fatalf("the right code after 5 minutes: %v, want ErrMFATokenInvalid", err)
	}
	token = m.login(t)
	f.clock.Add(auth.MFATokenTTL - time.Second)
	if _, err := f.svc.VerifyMFA(clientCtx(), token, m.code(0)); err != nil {
		t.Fatalf("the right code just before the expiry: %v", err)
	}
	for _, bad := range []string{"", "mfa_", token + "x", strings.Replace(token, "mfa_", "rt_", 1), "mfa_" + strings.Repeat("A", 43), strings.Repeat("x", 10000)} {
		if _, err := f.svc.VerifyMFA(clientCtx(), bad, m.code(0)); !errors.Is(err, auth.ErrMFATokenInvalid) {
			t.Fatalf("token %.20q: %v, want ErrMFATokenInvalid", bad, err)
		}
	}
}

// TestVerifyMFARace: two verifyMfa with one code, on one token or on two sign-ins' tokens:
// exactly one session.
func TestVerifyMFARace(t *testing.T) {
	f := newSvc(t, "", nil, nil, nil)
	m := enrol(t, f, "ada@example.com")
	for round, sameToken := range []bool{true, false, true, false} {
		f.clock.Add(time.Minute)
		tokens := []string{m.login(t), ""}
		if sameToken {
			tokens[1] = tokens[0]
		} else {
			tokens[1] = m.login(t)
		}
		code := m.code(0)
		if round%2 == 1 {
			code = m.recovery[round]
		}
		var (
			wg   sync.WaitGroup
			errs [2]error
		)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.svc.VerifyMFA(clientCtx(), tokens[i], code)
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, auth.ErrMFACodeInvalid), errors.Is(err, auth.ErrMFATokenInvalid):
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d (same token %v): %d sessions from one code (%v)", round, sameToken, wins, errs)
		}
	}
}

// TestMFAFailuresCountAgainstLoginLimit: wrong codes spend the account's login budget, so a
// thief with the password gets no more guesses at the code than at the password.
func TestMFAFailuresCountAgainstLoginLimit(t *testing.T) {
	f := newSvc(t, "", nil, nil, func(c *auth.Config) {
		c.Limiter = auth.NewMemoryLimiter(nil)
		c.LoginPerAccount = auth.Limit{N: 5, Window: 15 * time.Minute}
	})
	m := enrol(t, f, "ada@example.com") // one wrong confirming code (counted), one right one
	f.clock.Add(time.Minute)
	for i := range 4 {
		token := m.login(t)
		if _, err := f.svc.VerifyMFA(clientCtx(), token, m.wrong()); !errors.Is(err, auth.ErrMFACodeInvalid) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	var limited *auth.RateLimitedError
	if _, err := f.svc.Login(clientCtx(), m.email, testPassword); !errors.As(err, &limited) {
		t.Fatalf("login after 5 failed codes: %v, want RateLimitedError", err)
	}
}

// TestDisableTOTPAndReset: turning TOTP off needs a code; afterwards the password alone signs
// in. An administrator's reset does the same without a code and ends every session.
func TestDisableTOTPAndReset(t *testing.T) {
	f := newSvc(t, "", nil, nil, nil)
	m := enrol(t, f, "ada@example.com")
	f.clock.Add(time.Minute)
	g, err := f.svc.VerifyMFA(clientCtx(), m.login(t), m.code(0))
	if err != nil {
		t.Fatal(err)
	}
	p := f.principal(t, g)
	if ok, err := f.svc.DisableTOTP(clientCtx(), p, m.wrong()); ok || !errors.Is(err, auth.ErrMFACodeInvalid) {
		t.Fatalf("disable with a wrong code: %v, %v", ok, err)
	}
	f.clock.Add(30 * time.Second)
	if ok, err := f.svc.DisableTOTP(clientCtx(), p, m.code(0)); !ok || err != nil {
		t.Fatalf("disable: %v, %v", ok, err)
	}
	if ok, err := f.svc.DisableTOTP(clientCtx(), p, m.code(0)); ok || err != nil {
		t.Fatalf("disable again: %v, %v; want false", ok, err)
	}
	if _, err := f.svc.Login(clientCtx(), m.email, testPassword); err != nil {
		t.Fatalf("password sign-in after disabling: %v", err)
	}
	waitForAudit(t, f, auth.EventMFADisabled, 1)

	b := enrol(t, f, "bob@example.com")
	f.clock.Add(time.Minute)
	bg, err := f.svc.VerifyMFA(clientCtx(), b.login(t), b.code(0))
	if err != nil {
		t.Fatal(err)
	}
	pending := b.login(t)
	if err := f.svc.ResetMFA(clientCtx(), auth.Principal{}, bg.User.ID); err != nil {
		t.Fatal(err)
	}
	ctx := authtest.Bearer(clientCtx(), f.tokens, bg.AccessToken)
	if _, err := f.svc.Authorize(ctx, auth.Requirement{}); !errors.Is(err, auth.ErrTokenRevoked) {
		t.Fatalf("a session after the reset: %v, want ErrTokenRevoked", err)
	}
	f.clock.Add(30 * time.Second)
	if _, err := f.svc.VerifyMFA(clientCtx(), pending, b.code(0)); !errors.Is(err, auth.ErrMFATokenInvalid) {
		t.Fatalf("an mfaToken from before the reset: %v", err)
	}
	if g, err := f.svc.Login(clientCtx(), b.email, testPassword); err != nil || g.User.MFAEnabled {
		t.Fatalf("password sign-in after the reset: %+v, %v", g.User, err)
	}
}

// TestTOTPSetupRules: a setup is pending until confirmed; starting with TOTP on is refused.
func TestTOTPSetupRules(t *testing.T) {
	f := newSvc(t, "", nil, nil, nil)
	g, err := f.svc.Register(clientCtx(), "ada@example.com", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	p := f.principal(t, g)
	var input *auth.InputError
	if _, err := f.svc.ConfirmTOTPSetup(clientCtx(), p, "123456"); !errors.As(err, &input) {
		t.Fatalf("confirm without a setup: %v", err)
	}
	if _, err := f.svc.StartTOTPSetup(clientCtx(), p); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Login(clientCtx(), "ada@example.com", testPassword); err != nil {
		t.Fatalf("a pending setup changed the sign-in: %v", err)
	}
	m := enrol(t, f, "bob@example.com")
	if _, err := f.svc.StartTOTPSetup(clientCtx(), f.principal(t, mustVerify(t, m))); !errors.As(err, &input) {
		t.Fatalf("start with TOTP on: %v, want InputError", err)
	}
	if _, err := f.svc.RegenerateRecoveryCodes(clientCtx(), p, "123456"); !errors.As(err, &input) {
		t.Fatalf("regenerate without TOTP: %v, want InputError", err)
	}
}

func mustVerify(t *testing.T, m *mfaUser) auth.Grant {
	t.Helper()
	m.f.clock.Add(30 * time.Second)
	g, err := m.f.svc.VerifyMFA(clientCtx(), m.login(t), m.code(0))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestMFAKeyRotation: a secret sealed under an old key opens while that key is listed as a
// previous one, and is re-sealed under the new key at its next use, after which the old key
// can go. Without the right key a code is an error of the server, not a wrong code.
func TestMFAKeyRotation(t *testing.T) {
	k1 := []byte("mfa-key-one-0123456789abcdefghijklmnop")
	k2 := []byte("mfa-key-two-0123456789abcdefghijklmnop")
	keys := func(current []byte, previous ...[]byte) func(*auth.Config) {
		return func(c *auth.Config) {
			k, err := auth.NewMFAKeys(current, previous...)
			if err != nil {
				t.Fatal(err)
			}
			c.MFAKeys = k
		}
	}
	path := t.TempDir() + "/auth.db"
	store := authtest.OpenSQLite(t, path)
	clock := fakeclock.New(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC))
	old := newSvc(t, path, clock, store, keys(k1))
	m := enrol(t, old, "ada@example.com")
	sealed := func() []byte {
		u, err := store.UserByEmail(context.Background(), m.email)
		if err != nil {
			t.Fatal(err)
		}
		tt, err := store.TOTPOf(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return tt.Secret
	}
	before := sealed()
	if strings.Contains(string(before), string(m.secret)) {
		t.Fatal("the secret is stored in the clear")
	}

	m.f = newSvc(t, path, clock, store, keys(k2))
	clock.Add(time.Minute)
	if _, err := m.f.svc.VerifyMFA(clientCtx(), m.login(t), m.code(0)); err == nil || errors.Is(err, auth.ErrMFACodeInvalid) {
		t.Fatalf("a code with the sealing key gone: %v, want a server error", err)
	}
	m.f = newSvc(t, path, clock, store, keys(k2, k1))
	clock.Add(time.Minute)
	if _, err := m.f.svc.VerifyMFA(clientCtx(), m.login(t), m.code(0)); err != nil {
		t.Fatalf("with the old key as a previous one: %v", err)
	}
	if string(sealed()) == string(before) {
		t.Fatal("the secret was not re-sealed at its use")
	}
	m.f = newSvc(t, path, clock, store, keys(k2))
	clock.Add(time.Minute)
	if _, err := m.f.svc.VerifyMFA(clientCtx(), m.login(t), m.code(0)); err != nil {
		t.Fatalf("with the new key alone after the re-seal: %v", err)
	}
}
