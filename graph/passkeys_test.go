package graph

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/graph/model"
	"github.com/example/gqlauth/passkey"
	"github.com/example/gqlauth/passkey/passkeytest"
)

const passkeyOrigin = "http://localhost:8080"

const (
	startRegistration  = `mutation { startPasskeyRegistration { challengeId options } }`
	finishRegistration = `mutation($id: ID!, $c: JSON!, $n: String) { finishPasskeyRegistration(challengeId: $id, credential: $c, name: $n) { id name createdAt lastUsedAt } }`
	startLogin         = `mutation($e: String) { startPasskeyLogin(email: $e) { challengeId options } }`
	finishLogin        = `mutation($id: ID!, $c: JSON!) { finishPasskeyLogin(challengeId: $id, credential: $c) { accessToken refreshToken user { email } } }`
)

type challengeData struct {
	ChallengeID string          `json:"challengeId"`
	Options     json.RawMessage `json:"options"`
}

func newPasskeyAPI(t *testing.T) *testAPI {
	t.Helper()
	adapter, err := passkey.New(passkey.Config{RPID: "localhost", Origins: []string{passkeyOrigin}})
	if err != nil {
		t.Fatal(err)
	}
	return newTestAPI(t, func(c *apiConfig) { c.auth.Passkeys = adapter })
}

// Registration and sign-in through GraphQL: options are JSON objects, a credential is accepted
// as an object or as its JSON text, and the sign-in's tokens work.
func TestPasskeyOperations(t *testing.T) {
	a := newPasskeyAPI(t)
	token := registerUser(t, a, "ada@example.com")
	authr := passkeytest.New(passkeyOrigin)

	var start struct{ StartPasskeyRegistration challengeData }
	a.query(t, token, startRegistration, nil, &start)
	var opts map[string]any
	if err := json.Unmarshal(start.StartPasskeyRegistration.Options, &opts); err != nil || opts["challenge"] == nil || opts["rp"] == nil {
		t.Fatalf("options = %s (%v)", start.StartPasskeyRegistration.Options, err)
	}
	resp, err := authr.Create(start.StartPasskeyRegistration.Options)
	if err != nil {
		t.Fatal(err)
	}
	var credential map[string]any
	_ = json.Unmarshal(resp, &credential)
	var fin struct {
		FinishPasskeyRegistration struct {
			ID, Name   string
			LastUsedAt *time.Time
		}
	}
	a.query(t, token, finishRegistration, map[string]any{"id": start.StartPasskeyRegistration.ChallengeID, "c": credential, "n": "Laptop"}, &fin)
	if fin.FinishPasskeyRegistration.Name != "Laptop" || fin.FinishPasskeyRegistration.LastUsedAt != nil {
		t.Errorf("passkey = %+v", fin.FinishPasskeyRegistration)
	}

	for _, email := range []any{"ada@example.com", nil} {
		var sl struct{ StartPasskeyLogin challengeData }
		a.query(t, "", startLogin, map[string]any{"e": email}, &sl)
		assertion, err := authr.Get(sl.StartPasskeyLogin.Options)
		if err != nil {
			t.Fatal(err)
		}
		var fl struct {
			FinishPasskeyLogin struct {
				AccessToken string
				User        struct{ Email string }
			}
		}
		a.query(t, "", finishLogin, map[string]any{"id": sl.StartPasskeyLogin.ChallengeID, "c": string(assertion)}, &fl)
		if fl.FinishPasskeyLogin.User.Email != "ada@example.com" {
			t.Errorf("signed in as %q", fl.FinishPasskeyLogin.User.Email)
		}
		a.query(t, fl.FinishPasskeyLogin.AccessToken, `{ me { email } }`, nil, nil)
	}
	var list struct {
		Passkeys []struct {
			ID         string
			LastUsedAt *time.Time
		}
	}
	a.query(t, token, `{ passkeys { id lastUsedAt } }`, nil, &list)
	if len(list.Passkeys) != 1 || list.Passkeys[0].LastUsedAt == nil {
		t.Errorf("passkeys = %+v", list.Passkeys)
	}
	var del struct{ DeletePasskey bool }
	a.query(t, token, `mutation($id: ID!) { deletePasskey(id: $id) }`, map[string]any{"id": list.Passkeys[0].ID}, &del)
	if !del.DeletePasskey {
		t.Error("deletePasskey = false")
	}
}

// registerUser registers email and returns its access token.
func registerUser(t *testing.T, a *testAPI, email string) string {
	t.Helper()
	var out struct{ Register struct{ AccessToken string } }
	a.query(t, "", `mutation($e: String!) { register(input: {email: $e, password: "correct horse battery staple"}) { accessToken } }`,
		map[string]any{"e": email}, &out)
	return out.Register.AccessToken
}

// Adding or removing a passkey needs a sign-in within ten minutes; listing does not.
func TestPasskeyChangesNeedARecentSignIn(t *testing.T) {
	a := newPasskeyAPI(t)
	var reg struct{ Register struct{ RefreshToken string } }
	a.query(t, "", `mutation { register(input: {email: "bob@example.com", password: "correct horse battery staple"}) { refreshToken } }`, nil, &reg)
	a.clock.Add(11 * time.Minute)
	var ref struct{ Refresh struct{ AccessToken string } }
	a.query(t, "", `mutation($t: String) { refresh(refreshToken: $t) { accessToken } }`, map[string]any{"t": reg.Register.RefreshToken}, &ref)
	token := ref.Refresh.AccessToken
	for name, q := range map[string]struct {
		query string
		vars  map[string]any
	}{
		"start":  {startRegistration, nil},
		"finish": {finishRegistration, map[string]any{"id": "x", "c": map[string]any{}}},
		"delete": {`mutation { deletePasskey(id: "x") }`, nil},
	} {
		e := a.refusal(t, token, q.query, q.vars)
		if e.Extensions["code"] != CodeForbidden || e.Extensions["reason"] != "REAUTHENTICATION_REQUIRED" {
			t.Errorf("%s an hour after sign-in: %v", name, e.Extensions)
		}
	}
	a.query(t, token, `{ passkeys { id } }`, nil, nil)
}

// Bad input gets the API's codes, never an internal error.
func TestPasskeyErrorCodes(t *testing.T) {
	a := newPasskeyAPI(t)
	token := registerUser(t, a, "carol@example.com")
	var start struct{ StartPasskeyRegistration challengeData }
	a.query(t, token, startRegistration, nil, &start)
	id := start.StartPasskeyRegistration.ChallengeID

	e := a.refusal(t, token, finishRegistration, map[string]any{"id": id, "c": "{not json"})
	if e.Extensions["code"] != CodeBadUserInput || e.Extensions["field"] != "credential" {
		t.Errorf("credential not JSON: %v %v", e.Extensions, e.Path)
	}
	e = a.refusal(t, token, finishRegistration, map[string]any{"id": id, "c": 42})
	if e.Extensions["code"] != CodeBadUserInput || e.Extensions["field"] != "credential" {
		t.Errorf("credential a number: %v", e.Extensions)
	}
	e = a.refusal(t, token, finishRegistration, map[string]any{"id": id, "c": map[string]any{"id": 1}})
	if e.Extensions["code"] != CodeBadUserInput || e.Extensions["field"] != "credential" {
		t.Errorf("malformed credential: %v", e.Extensions)
	}
	e = a.refusal(t, token, finishRegistration, map[string]any{"id": id, "c": map[string]any{}})
	if e.Extensions["code"] != CodeBadUserInput || e.Extensions["field"] != "challengeId" {
		t.Errorf("used challenge: %v", e.Extensions)
	}
	e = a.refusal(t, "", finishLogin, map[string]any{"id": "unknown", "c": map[string]any{}})
	if e.Extensions["code"] != CodeBadUserInput || e.Extensions["field"] != "challengeId" {
		t.Errorf("unknown challenge: %v", e.Extensions)
	}
	e = a.refusal(t, "", startLogin, map[string]any{"e": "not an email"})
	if e.Extensions["code"] != CodeBadUserInput || e.Extensions["field"] != "email" {
		t.Errorf("bad email: %v", e.Extensions)
	}
	// A sign-in answer that does not verify: UNAUTHENTICATED, as a wrong password is.
	var sl struct{ StartPasskeyLogin challengeData }
	a.query(t, "", startLogin, map[string]any{"e": nil}, &sl)
	stranger := passkeytest.New(passkeyOrigin)
	if _, err := stranger.Create([]byte(`{"challenge":"AAAAAAAAAAAAAAAAAAAAAA","rp":{"id":"localhost"},"user":{"id":"AAAA"}}`)); err != nil {
		t.Fatal(err)
	}
	assertion, err := stranger.Get(sl.StartPasskeyLogin.Options)
	if err != nil {
		t.Fatal(err)
	}
	e = a.refusal(t, "", finishLogin, map[string]any{"id": sl.StartPasskeyLogin.ChallengeID, "c": string(assertion)})
	if e.Extensions["code"] != CodeUnauthenticated || e.Extensions["reason"] != "INVALID_CREDENTIALS" {
		t.Errorf("unknown passkey: %v", e.Extensions)
	}
}

// Without a relying party, the passkey operations say so.
func TestPasskeysOff(t *testing.T) {
	a := newTestAPI(t)
	e := a.refusal(t, "", startLogin, map[string]any{"e": nil})
	if e.Extensions["code"] != CodeUnavailable || e.Extensions["reason"] != "PASSKEYS_NOT_CONFIGURED" {
		t.Errorf("passkeys off: %v", e.Extensions)
	}
}

// The passkey events are values of both event enums, so auditEvents and securityEvents can
// carry them.
func TestPasskeyEventTypes(t *testing.T) {
	for _, e := range []auth.EventType{auth.EventPasskeyAdded, auth.EventPasskeyRemoved, auth.EventPasskeyCloneDetected} {
		if !model.AuditEventType(e).IsValid() || !model.SecurityEventType(e).IsValid() {
			t.Errorf("%s is not in AuditEventType and SecurityEventType", e)
		}
	}
}
