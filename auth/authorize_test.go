package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/fakeclock"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/authtest"
)

// TestAuthorizeRefusesClaimsThatExpiredSinceVerification: claims verified once (as a WebSocket's
// are, at connection_init) stop being authorised exactly when a fresh verification of the same
// token would refuse it: at exp plus the verifier's leeway, with ErrTokenExpired.
func TestAuthorizeRefusesClaimsThatExpiredSinceVerification(t *testing.T) {
	clock := fakeclock.New(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC))
	ks := authtest.KeySet(t)
	const ttl, leeway = time.Minute, auth.MaxLeeway
	tokens := auth.NewTokens(ks, auth.TokenConfig{Issuer: "http://test", Audience: "graphql-api", TTL: ttl, Leeway: leeway, Now: clock.Now})
	store := authtest.OpenSQLite(t, filepath.Join(t.TempDir(), "auth.db"))
	svc, err := auth.New(context.Background(), store, tokens, auth.Config{BcryptCost: 4, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	if _, err := svc.Register(clientCtx(), "ada@example.com", testPassword); err != nil {
		t.Fatal(err)
	}
	g, err := svc.Login(clientCtx(), "ada@example.com", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	verifiedOnce := authtest.Bearer(clientCtx(), tokens, g.AccessToken)

	var elapsed time.Duration
	for _, step := range []struct {
		after time.Duration // since the token was issued
		want  error
	}{
		{ttl - time.Second, nil},
		{ttl + leeway - time.Second, nil}, // within the leeway, as for a fresh request
		{ttl + leeway, auth.ErrTokenExpired},
		{ttl + time.Hour, auth.ErrTokenExpired},
	} {
		clock.Add(step.after - elapsed)
		elapsed = step.after
		_, err := svc.Authorize(verifiedOnce, auth.Requirement{})
		if !errors.Is(err, step.want) {
			t.Fatalf("%v after issue: Authorize = %v, want %v", step.after, err, step.want)
		}
		// An HTTP request presenting the token now gets the same answer.
		fresh := authtest.Bearer(clientCtx(), tokens, g.AccessToken)
		if _, ferr := svc.Authorize(fresh, auth.Requirement{}); !errors.Is(ferr, step.want) {
			t.Fatalf("%v after issue: a fresh request gets %v, the verified-once claims %v", step.after, ferr, err)
		}
	}
}

// TestAuthorizeRequirements: a password sign-in's tokens say amr ["pwd"] and auth_time (kept by
// a refresh, which is no sign-in), and Authorize refuses what such a session lacks, with the
// reason: a second factor (asked by the field, or by AdminMFA for ADMIN fields), a sign-in in
// the last ten minutes; a role is still reported as the role.
func TestAuthorizeRequirements(t *testing.T) {
	clock := fakeclock.New(time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC))
	ks := authtest.KeySet(t)
	tokens := auth.NewTokens(ks, auth.TokenConfig{Issuer: "http://test", Audience: "graphql-api", TTL: time.Hour, Now: clock.Now})
	store := authtest.OpenSQLite(t, filepath.Join(t.TempDir(), "auth.db"))
	svc, err := auth.New(context.Background(), store, tokens, auth.Config{BcryptCost: 4, Now: clock.Now, AdminMFA: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	if _, err := svc.CreateUser(clientCtx(), "root@example.com", testPassword, []auth.Role{auth.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	signedIn := clock.Now().Truncate(time.Second)
	g, err := svc.Login(clientCtx(), "root@example.com", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	identify := func(access string) context.Context {
		return authtest.Bearer(clientCtx(), tokens, access)
	}
	claims := auth.IdentityFrom(identify(g.AccessToken)).Claims
	if claims == nil || len(claims.AMR) != 1 || claims.AMR[0] != auth.AMRPassword || claims.AuthTime == nil || !claims.AuthTime.Time.Equal(signedIn) {
		t.Fatalf("claims after a password sign-in: %+v, want amr [pwd] and auth_time %v", claims, signedIn)
	}

	clock.Add(5 * time.Minute)
	r, err := svc.Refresh(clientCtx(), g.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	refreshed := identify(r.AccessToken)
	if c := auth.IdentityFrom(refreshed).Claims; c == nil || len(c.AMR) != 1 || c.AuthTime == nil || !c.AuthTime.Time.Equal(signedIn) {
		t.Fatalf("claims after a refresh: %+v, want the sign-in's amr and auth_time %v", c, signedIn)
	}

	reason := func(err error) string {
		var f *auth.ForbiddenError
		if !errors.As(err, &f) {
			return "not forbidden: " + errorString(err)
		}
		if f.Reason == "" {
			return "role " + string(f.Requires)
		}
		return f.Reason
	}
	for _, c := range []struct {
		name string
		req  auth.Requirement
		want string // "" allowed
	}{
		{"user field", auth.Requirement{}, ""},
		{"credential field, session", auth.Requirement{Session: true}, ""},
		{"recent sign-in, 5 min ago", auth.Requirement{Session: true, Recent: true}, ""},
		{"mfa field", auth.Requirement{MFA: true}, auth.ReasonMFARequired},
		{"admin field under AdminMFA", auth.Requirement{Role: auth.RoleAdmin}, auth.ReasonMFARequired},
	} {
		_, err := svc.Authorize(refreshed, c.req)
		if got := reason(err); (c.want == "" && err != nil) || (c.want != "" && got != c.want) {
			t.Errorf("%s: Authorize = %v (%s), want %q", c.name, err, got, c.want)
		}
	}
	clock.Add(auth.RecentSignIn) // the sign-in is now 15 minutes old
	if got := reason(func() error { _, err := svc.Authorize(refreshed, auth.Requirement{Recent: true}); return err }()); got != auth.ReasonReauthenticationRequired {
		t.Errorf("recent sign-in, 15 min ago: %s, want %s", got, auth.ReasonReauthenticationRequired)
	}

	// A plain user asking for ADMIN hears about the role, whatever else is missing.
	if _, err := svc.Register(clientCtx(), "ada@example.com", testPassword); err != nil {
		t.Fatal(err)
	}
	u, err := svc.Login(clientCtx(), "ada@example.com", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if got := reason(func() error {
		_, err := svc.Authorize(identify(u.AccessToken), auth.Requirement{Role: auth.RoleAdmin, MFA: true})
		return err
	}()); got != "role ADMIN" {
		t.Errorf("user on an ADMIN mfa field: %s, want role ADMIN", got)
	}
}

func errorString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}
