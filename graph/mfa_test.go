package graph

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/authtest"
)

// TestCredentialFieldsNeedARecentSignIn: through the real schema and @auth, the second-factor
// mutations are refused to a session signed in more than ten minutes ago (FORBIDDEN,
// REAUTHENTICATION_REQUIRED), also when its access token is fresh from a refresh, and allowed
// again after a new sign-in. verifyMfa is public. The clock is the service's own.
func TestCredentialFieldsNeedARecentSignIn(t *testing.T) {
	// Access tokens outlive the recent sign-in: the refusal is the session's age, not the token's.
	a := newTestAPIWith(t, authtest.Options{AccessTTL: time.Hour})
	ctx, svc, clock := context.Background(), a.svc, a.clock
	post := func(token, query string) gqlResult {
		t.Helper()
		return a.post(t, gqlRequest{Query: query, Token: token})
	}
	reasonOf := func(out gqlResult) string {
		if len(out.Errors) == 0 {
			return ""
		}
		ext := out.Errors[0].Extensions
		reason, _ := ext["reason"].(string)
		return ext["code"].(string) + "/" + reason
	}

	g, err := svc.Register(ctx, "ada@example.com", "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	mutations := []string{
		`mutation { startTotpSetup { secret otpauthUri } }`,
		`mutation { confirmTotpSetup(code: "123456") }`,
		`mutation { disableTotp(code: "123456") }`,
		`mutation { regenerateRecoveryCodes(code: "123456") }`,
	}
	clock.Add(auth.RecentSignIn - time.Second)
	if got := reasonOf(post(g.AccessToken, mutations[0])); got != "" {
		t.Fatalf("startTotpSetup %v after the sign-in: %s", auth.RecentSignIn-time.Second, got)
	}
	clock.Add(2 * time.Second)
	refreshed, err := svc.Refresh(ctx, g.RefreshToken) // a refresh is no sign-in
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mutations {
		for _, token := range []string{g.AccessToken, refreshed.AccessToken} {
			if got := reasonOf(post(token, m)); got != "FORBIDDEN/REAUTHENTICATION_REQUIRED" {
				t.Errorf("%s, signed in %v ago: %s", m, auth.RecentSignIn+time.Second, got)
			}
		}
	}
	again, err := svc.Login(ctx, "ada@example.com", "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if got := reasonOf(post(again.AccessToken, mutations[0])); got != "" {
		t.Fatalf("startTotpSetup after signing in again: %s", got)
	}
	if got := reasonOf(post("", `mutation { verifyMfa(mfaToken: "mfa_x", code: "123456") { accessToken } }`)); got != "UNAUTHENTICATED/MFA_TOKEN_INVALID" {
		t.Fatalf("verifyMfa with a bad token: %s", got)
	}
}

// TestPresenterMFA: MFA_REQUIRED carries the token and the methods; a code or token refusal is
// UNAUTHENTICATED with its reason.
func TestPresenterMFA(t *testing.T) {
	present := errorPresenter(slog.Default(), true)
	got := present(context.Background(), &auth.MFARequiredError{Token: "mfa_abc", Methods: []string{auth.MethodTOTP, auth.MethodRecoveryCode}})
	if got.Extensions["code"] != CodeMFARequired || got.Extensions["mfaToken"] != "mfa_abc" {
		t.Errorf("MFA_REQUIRED extensions %v", got.Extensions)
	}
	for err, reason := range map[error]string{auth.ErrMFACodeInvalid: "MFA_CODE_INVALID", auth.ErrMFATokenInvalid: "MFA_TOKEN_INVALID"} {
		got := present(context.Background(), err)
		if got.Extensions["code"] != CodeUnauthenticated || got.Extensions["reason"] != reason {
			t.Errorf("%v: extensions %v", err, got.Extensions)
		}
	}
}
