package e2e

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/example/gqlauth/internal/servertest"
	"github.com/example/gqlauth/passkey/passkeytest"
)

// Passkeys through the real program: registered by a signed-in user, used to sign in on
// another instance (PostgreSQL) or after a restart (SQLite), since challenges live in the
// database.

const (
	pkStartRegistration  = `mutation { startPasskeyRegistration { challengeId options } }`
	pkFinishRegistration = `mutation($id: ID!, $c: JSON!) { finishPasskeyRegistration(challengeId: $id, credential: $c) { id name } }`
	pkStartLogin         = `mutation($e: String) { startPasskeyLogin(email: $e) { challengeId options } }`
	pkFinishLogin        = `mutation($id: ID!, $c: JSON!) { finishPasskeyLogin(challengeId: $id, credential: $c) { ` + payloadFields + ` } }`
)

type pkChallenge struct {
	ChallengeID string          `json:"challengeId"`
	Options     json.RawMessage `json:"options"`
}

func pkStart(t *testing.T, s *testServer, token, query string, vars map[string]any, field string) pkChallenge {
	t.Helper()
	r := s.gql(t, token, query, vars)
	var c pkChallenge
	r.decode(t, field, &c)
	return c
}

// pkCredential is a software authenticator's answer as a JSON object; the authenticator
// failing is a broken test, so it panics.
func pkCredential(b []byte, err error) map[string]any {
	var m map[string]any
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		panic(err)
	}
	return m
}

// pkAMR reads the amr claim of an access token.
func pkAMR(t *testing.T, token string) []string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		AMR      []string `json:"amr"`
		AuthTime int64    `json:"auth_time"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil || claims.AuthTime == 0 {
		t.Fatalf("claims %s: %v", raw, err)
	}
	return claims.AMR
}

// pkRoundTrip registers a passkey on reg and signs in with it: started on start, finished on
// finish (any instances of one deployment). It returns the sign-in's payload.
func pkRoundTrip(t *testing.T, reg, start, finish *testServer, origin, email string) payload {
	t.Helper()
	user := reg.register(t, email)
	authr := passkeytest.New(origin)
	c := pkStart(t, start, user.AccessToken, pkStartRegistration, nil, "startPasskeyRegistration")
	r := finish.gql(t, user.AccessToken, pkFinishRegistration, map[string]any{"id": c.ChallengeID, "c": pkCredential(authr.Create(c.Options))})
	expectOK(t, r)
	expectOK(t, logout(t, reg, user.RefreshToken))

	c = pkStart(t, start, "", pkStartLogin, map[string]any{"e": email}, "startPasskeyLogin")
	r = finish.gql(t, "", pkFinishLogin, map[string]any{"id": c.ChallengeID, "c": pkCredential(authr.Get(c.Options))})
	var p payload
	r.decode(t, "finishPasskeyLogin", &p)
	if p.User.Email != email || !slices.Equal(pkAMR(t, p.AccessToken), []string{"hwk", "user", "mfa"}) {
		t.Fatalf("signed in as %s with amr %v", p.User.Email, pkAMR(t, p.AccessToken))
	}
	return p
}

// TestPasskeyAcrossInstances: two instances on one PostgreSQL; every ceremony starts on A and
// finishes on B, and B's session works on A.
func TestPasskeyAcrossInstances(t *testing.T) {
	t.Parallel()
	shared := sharedEnv(t, "")
	shared["PUBLIC_URL"] = "http://localhost:8443" // one relying party for both
	a, b := startPair(t, shared)
	p := pkRoundTrip(t, a, a, b, "http://localhost:8443", "pk-scale@example.com")
	expectOK(t, a.me(t, p.AccessToken))
	// A challenge is used once, whichever instance tries again.
	c := pkStart(t, a, "", pkStartLogin, map[string]any{"e": nil}, "startPasskeyLogin")
	expectError(t, b.gql(t, "", pkFinishLogin, map[string]any{"id": c.ChallengeID, "c": map[string]any{}}), "BAD_USER_INPUT", "")
	expectError(t, a.gql(t, "", pkFinishLogin, map[string]any{"id": c.ChallengeID, "c": map[string]any{}}), "BAD_USER_INPUT", "")
}

// TestPasskeyChallengeSurvivesRestart: a sign-in started before a restart finishes after it.
func TestPasskeyChallengeSurvivesRestart(t *testing.T) {
	t.Parallel()
	env := servertest.Env(t, map[string]string{"PUBLIC_URL": "http://localhost:8443"})
	s := startWithEnv(t, env)
	user := s.register(t, "restart@example.com")
	authr := passkeytest.New(env["PUBLIC_URL"])
	c := pkStart(t, s, user.AccessToken, pkStartRegistration, nil, "startPasskeyRegistration")
	expectOK(t, s.gql(t, user.AccessToken, pkFinishRegistration, map[string]any{"id": c.ChallengeID, "c": pkCredential(authr.Create(c.Options))}))
	c = pkStart(t, s, "", pkStartLogin, map[string]any{"e": nil}, "startPasskeyLogin")
	assertion := pkCredential(authr.Get(c.Options))
	s.Stop()

	s = startWithEnv(t, env)
	r := s.gql(t, "", pkFinishLogin, map[string]any{"id": c.ChallengeID, "c": assertion})
	var p payload
	r.decode(t, "finishPasskeyLogin", &p)
	expectOK(t, s.me(t, p.AccessToken))
}

// TestPasskeysOffWithoutASecureOrigin: the default test server (JWT_ISSUER http://gqlauth.test,
// plain http off localhost, where browsers refuse WebAuthn) has no relying party; passkey
// sign-in says so, everything else works.
func TestPasskeysOffWithoutASecureOrigin(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	expectError(t, s.gql(t, "", pkStartLogin, map[string]any{"e": nil}), "UNAVAILABLE", "PASSKEYS_NOT_CONFIGURED")
	expectOK(t, s.me(t, s.register(t, "ip@example.com").AccessToken))
}
