package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

// TestAuthorizeRefusesClaimsThatExpiredSinceVerification: claims verified once (as a WebSocket's
// are, at connection_init) stop being authorised exactly when a fresh verification of the same
// token would refuse it: at exp plus the verifier's leeway, with ErrTokenExpired.
func TestAuthorizeRefusesClaimsThatExpiredSinceVerification(t *testing.T) {
	clock := &testClock{t: time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)}
	key, err := auth.NewHMACKey([]byte("authorize-test-secret-0123456789abcdefgh"))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := auth.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	const ttl, leeway = time.Minute, auth.MaxLeeway
	tokens := auth.NewTokens(ks, auth.TokenConfig{Issuer: "http://test", Audience: "graphql-api", TTL: ttl, Leeway: leeway, Now: clock.Now})
	store := openSQLite(t, filepath.Join(t.TempDir(), "auth.db"))
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
	verifiedOnce := auth.WithIdentity(clientCtx(), auth.IdentifyRequest(tokens, []string{"Bearer " + g.AccessToken}))

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
		_, err := svc.Authorize(verifiedOnce, auth.RoleUser)
		if !errors.Is(err, step.want) {
			t.Fatalf("%v after issue: Authorize = %v, want %v", step.after, err, step.want)
		}
		// An HTTP request presenting the token now gets the same answer.
		fresh := auth.WithIdentity(clientCtx(), auth.IdentifyRequest(tokens, []string{"Bearer " + g.AccessToken}))
		if _, ferr := svc.Authorize(fresh, auth.RoleUser); !errors.Is(ferr, step.want) {
			t.Fatalf("%v after issue: a fresh request gets %v, the verified-once claims %v", step.after, ferr, err)
		}
	}
}
