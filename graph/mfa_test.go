package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/sqlite"
)

type mfaClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *mfaClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *mfaClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestCredentialFieldsNeedARecentSignIn: through the real schema and @auth, the second-factor
// mutations are refused to a session signed in more than ten minutes ago (FORBIDDEN,
// REAUTHENTICATION_REQUIRED), also when its access token is fresh from a refresh, and allowed
// again after a new sign-in. verifyMfa is public. The clock is the service's own.
func TestCredentialFieldsNeedARecentSignIn(t *testing.T) {
	clock := &mfaClock{t: time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "graph.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	key, err := auth.NewHMACKey([]byte("graph-test-secret-0123456789abcdefghijklm"))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := auth.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	tokens := auth.NewTokens(ks, auth.TokenConfig{Issuer: "http://test", Audience: "graphql-api", TTL: time.Hour, Now: clock.Now})
	svc, err := auth.New(ctx, store, tokens, auth.Config{BcryptCost: 4, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	gql, _ := newServer(Options{Auth: svc})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := auth.WithClient(r.Context(), auth.Client{IP: "198.51.100.7"})
		c = auth.WithIdentity(c, auth.IdentifyRequest(tokens, r.Header.Values("Authorization")))
		gql.ServeHTTP(w, r.WithContext(c))
	}))
	t.Cleanup(srv.Close)
	post := func(token, query string) map[string]any {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query})
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	reasonOf := func(out map[string]any) string {
		errs, _ := out["errors"].([]any)
		if len(errs) == 0 {
			return ""
		}
		ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
		return ext["code"].(string) + "/" + func() string { s, _ := ext["reason"].(string); return s }()
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
