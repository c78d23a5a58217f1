package e2e

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/itest"
)

type apiKeyOut struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
}

const apiKeyFields = `id name prefix createdAt expiresAt lastUsedAt`

// createAPIKey runs createApiKey with a session's access token; days nil sends null.
func (s *testServer) createAPIKey(t testing.TB, token, name string, days any) (apiKeyOut, string, gqlResponse) {
	t.Helper()
	r := s.gql(t, token, `mutation($n:String!,$d:Int){ createApiKey(name:$n, expiresInDays:$d) { secret apiKey { `+apiKeyFields+` } } }`,
		map[string]any{"n": name, "d": days})
	var out struct {
		Secret string    `json:"secret"`
		APIKey apiKeyOut `json:"apiKey"`
	}
	if len(r.Errors) == 0 {
		r.decode(t, "createApiKey", &out)
	}
	return out.APIKey, out.Secret, r
}

func (s *testServer) apiKeys(t testing.TB, token string) []apiKeyOut {
	t.Helper()
	r := s.gql(t, token, `{ apiKeys { `+apiKeyFields+` } }`, nil)
	var out []apiKeyOut
	r.decode(t, "apiKeys", &out)
	return out
}

func (s *testServer) revokeAPIKey(t testing.TB, token, id string) gqlResponse {
	t.Helper()
	return s.gql(t, token, `mutation($id:ID!){ revokeApiKey(id:$id) }`, map[string]any{"id": id})
}

// TestAPIKeys: a key made by createApiKey (secret shown once, gqa_ prefix, 256 bits, 90 days by
// default) acts as its user on `me` and other @auth fields with the user's current roles and
// status, but credential-managing fields answer SESSION_REQUIRED; revoked keys answer
// TOKEN_REVOKED at once, malformed and unknown ones TOKEN_INVALID; lastUsedAt is recorded; an
// administrator sees and revokes anyone's keys; `apikeys revoke --user` revokes them all.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	owner := s.register(t, "keys@example.com")
	key, secret, r := s.createAPIKey(t, owner.AccessToken, "  ci deploy  ", 90)
	expectOK(t, r)
	if !strings.HasPrefix(secret, "gqa_") || len(secret) != 47 || key.Prefix != secret[:12] || key.Name != "ci deploy" ||
		key.LastUsedAt != nil || key.ExpiresAt == nil {
		t.Fatalf("key %+v secret %q", key, secret)
	}
	if d := key.ExpiresAt.Sub(key.CreatedAt); d != 90*24*time.Hour {
		t.Fatalf("expiry %v after creation, want 90 days", d)
	}
	if _, _, r := s.createAPIKey(t, owner.AccessToken, "default", nil); r.code() != "" {
		t.Fatalf("null expiry: %+v", r.Errors)
	}
	keys := s.apiKeys(t, owner.AccessToken)
	if len(keys) != 2 || keys[0].ExpiresAt != nil || keys[1].ID != key.ID {
		t.Fatalf("apiKeys = %+v", keys)
	}
	byDefault := s.gql(t, owner.AccessToken, `mutation { createApiKey(name:"d") { apiKey { createdAt expiresAt } } }`, nil)
	var dk struct{ APIKey apiKeyOut }
	byDefault.decode(t, "createApiKey", &dk)
	if dk.APIKey.ExpiresAt == nil || dk.APIKey.ExpiresAt.Sub(dk.APIKey.CreatedAt) != 90*24*time.Hour {
		t.Fatalf("default expiry %+v", dk.APIKey)
	}

	me := s.me(t, secret)
	var u struct{ ID, Email string }
	me.decode(t, "me", &u)
	if u.ID != owner.User.ID {
		t.Fatalf("me with the key: %+v", u)
	}
	if got := s.apiKeys(t, secret); len(got) != 3 {
		t.Fatalf("apiKeys with a key: %+v", got)
	}

	for name, q := range map[string]string{
		"createApiKey":   `mutation { createApiKey(name:"x") { secret } }`,
		"revokeApiKey":   `mutation { revokeApiKey(id:"` + key.ID + `") }`,
		"logoutAll":      `mutation { logoutAll }`,
		"changePassword": `mutation { changePassword(input:{currentPassword:"` + testPassword + `", newPassword:"another long passphrase"}) { accessToken } }`,
		"logout":         `mutation { logout }`,
	} {
		t.Run("credential field "+name, func(t *testing.T) {
			expectError(t, s.gql(t, secret, q, nil), "FORBIDDEN", "SESSION_REQUIRED")
		})
	}
	expectOK(t, s.me(t, secret)) // and nothing of that happened

	for _, tc := range []struct{ name, days, field string }{
		{"", "1", "name"}, {strings.Repeat("n", 101), "1", "name"}, {"a\x00b", "1", "name"},
		{"ok", "0", "expiresInDays"}, {"ok", "-5", "expiresInDays"}, {"ok", "367", "expiresInDays"},
	} {
		r := s.gql(t, owner.AccessToken, `mutation($n:String!){ createApiKey(name:$n, expiresInDays:`+tc.days+`) { secret } }`, map[string]any{"n": tc.name})
		if r.code() != "BAD_USER_INPUT" || r.ext("field") != tc.field {
			t.Errorf("name %q days %s: %+v", tc.name, tc.days, r.Errors)
		}
	}

	for name, bad := range map[string]string{
		"malformed": "gqa_short", "unknown": "gqa_" + strings.Repeat("A", 43), "bad base64": "gqa_" + strings.Repeat("!", 43),
		"one more char": secret + "A",
	} {
		expectError(t, s.me(t, bad), "UNAUTHENTICATED", "")
		if r := s.me(t, bad); r.reason() != "TOKEN_INVALID" {
			t.Errorf("%s key: %+v", name, r.Errors)
		}
	}

	// The user's current roles and status, not those at the key's creation.
	code, _, errOut := runCLI(t, s.Env, "user", "set-role", "--email", "keys@example.com", "--role", "ADMIN")
	if code != 0 {
		t.Fatal(errOut)
	}
	itest.Eventually(t, 2*time.Second, "the key gets the new role", func() bool {
		return len(s.gql(t, secret, `{ users { edges { node { id } } } }`, nil).Errors) == 0
	})
	if code, _, errOut := runCLI(t, s.Env, "user", "disable", "--email", "keys@example.com"); code != 0 {
		t.Fatal(errOut)
	}
	itest.Eventually(t, 2*time.Second, "a disabled user's key is refused", func() bool {
		return s.me(t, secret).reason() == "ACCOUNT_DISABLED"
	})
	if code, _, errOut := runCLI(t, s.Env, "user", "enable", "--email", "keys@example.com"); code != 0 {
		t.Fatal(errOut)
	}
	itest.Eventually(t, 2*time.Second, "re-enabled, the key works again", func() bool { return s.me(t, secret).code() == "" })

	// lastUsedAt, written in the background.
	fresh, _ := s.login(t, "keys@example.com", testPassword)
	itest.Eventually(t, 3*time.Second, "lastUsedAt recorded", func() bool {
		for _, k := range s.apiKeys(t, fresh.AccessToken) {
			if k.ID == key.ID && k.LastUsedAt != nil {
				return true
			}
		}
		return false
	})

	// Someone else's key: not theirs to see or revoke; an administrator's to do both.
	other := s.register(t, "other@example.com")
	theirs, theirSecret, r := s.createAPIKey(t, other.AccessToken, "theirs", 30)
	expectOK(t, r)
	other2 := s.register(t, "third@example.com")
	if r := s.revokeAPIKey(t, other2.AccessToken, theirs.ID); string(r.Data["revokeApiKey"]) != "false" {
		t.Fatalf("a stranger revoked a key: %s %+v", r.Data["revokeApiKey"], r.Errors)
	}
	expectError(t, s.gql(t, other2.AccessToken, `query($u:ID!){ userApiKeys(userId:$u) { id } }`, map[string]any{"u": other.User.ID}), "FORBIDDEN", "")
	admin := fresh.AccessToken // keys@example.com is an ADMIN now
	var listed []apiKeyOut
	s.gql(t, admin, `query($u:ID!){ userApiKeys(userId:$u) { `+apiKeyFields+` } }`, map[string]any{"u": other.User.ID}).decode(t, "userApiKeys", &listed)
	if len(listed) != 1 || listed[0].ID != theirs.ID {
		t.Fatalf("userApiKeys = %+v", listed)
	}
	expectOK(t, s.me(t, theirSecret))
	if r := s.revokeAPIKey(t, admin, theirs.ID); string(r.Data["revokeApiKey"]) != "true" {
		t.Fatalf("admin revoke: %+v", r.Errors)
	}
	expectError(t, s.me(t, theirSecret), "UNAUTHENTICATED", "TOKEN_REVOKED")

	// Revoking one's own key: refused at once, gone from the list; again: false.
	if r := s.revokeAPIKey(t, fresh.AccessToken, key.ID); string(r.Data["revokeApiKey"]) != "true" {
		t.Fatalf("revoke: %+v", r.Errors)
	}
	expectError(t, s.me(t, secret), "UNAUTHENTICATED", "TOKEN_REVOKED")
	if r := s.revokeAPIKey(t, fresh.AccessToken, key.ID); string(r.Data["revokeApiKey"]) != "false" {
		t.Fatalf("revoke again: %s", r.Data["revokeApiKey"])
	}
	if slices.ContainsFunc(s.apiKeys(t, fresh.AccessToken), func(k apiKeyOut) bool { return k.ID == key.ID }) {
		t.Fatal("a revoked key is still listed")
	}

	// The command line revokes every key of a user.
	_, last, r := s.createAPIKey(t, fresh.AccessToken, "last", 7)
	expectOK(t, r)
	expectOK(t, s.me(t, last))
	code, out, errOut := runCLI(t, s.Env, "apikeys", "revoke", "--user", "KEYS@example.com")
	if code != 0 || !strings.Contains(out, "3 API keys revoked") {
		t.Fatalf("apikeys revoke: %d %s %s", code, out, errOut)
	}
	itest.Eventually(t, 2*time.Second, "the command's revocation reaches the server", func() bool {
		return s.me(t, last).reason() == "TOKEN_REVOKED"
	})
	if code, _, _ := runCLI(t, s.Env, "apikeys", "revoke", "--user", "nobody@example.com"); code != 1 {
		t.Fatalf("unknown user: exit %d", code)
	}
	if code, _, _ := runCLI(t, s.Env, "apikeys", "revoke"); code != 2 {
		t.Fatalf("no --user: exit %d", code)
	}
}

// TestAPIKeyRevocationAcrossInstances: a key revoked on instance A is refused on instance B
// within one second, with PostgreSQL and Redis, and with PostgreSQL alone (LISTEN/NOTIFY);
// several revocations measure the delay (PROPAGATION_SAMPLES=200 for the documented figures).
func TestAPIKeyRevocationAcrossInstances(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		redis bool
	}{{"PostgresRedis", true}, {"PostgresOnly", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			redisURL := ""
			if tc.redis {
				redisURL = itest.RedisURL(t)
			}
			shared := sharedEnv(t, redisURL)
			shared["RATE_LIMITS"] = "off"
			a, b := startPair(t, shared)
			p := a.register(t, "across@example.com")
			n := 20 // PROPAGATION_SAMPLES overrides, as for the session propagation test
			if v, err := strconv.Atoi(os.Getenv("PROPAGATION_SAMPLES")); err == nil && v > 0 {
				n = v
			}
			var delays []time.Duration
			for i := range n {
				key, secret, r := a.createAPIKey(t, p.AccessToken, "k", 1)
				expectOK(t, r)
				expectOK(t, b.me(t, secret)) // B knows the key (and caches it)
				sent := time.Now()
				if r := a.revokeAPIKey(t, p.AccessToken, key.ID); string(r.Data["revokeApiKey"]) != "true" {
					t.Fatalf("revoke %d: %+v", i, r.Errors)
				}
				for {
					r := b.me(t, secret)
					if r.reason() == "TOKEN_REVOKED" {
						break
					}
					if len(r.Errors) > 0 {
						t.Fatalf("B: %+v", r.Errors)
					}
					if time.Since(sent) > time.Second {
						t.Fatalf("revocation %d on A not seen by B within 1 s", i)
					}
					time.Sleep(time.Millisecond)
				}
				delays = append(delays, time.Since(sent))
			}
			slices.Sort(delays)
			t.Logf("%s: %d API key revocations on A, refused on B after p50 %v, p99 %v, max %v (from the revocation sent)",
				tc.name, n, percentile(delays, 50), percentile(delays, 99), delays[n-1])
		})
	}
}

// TestAPIKeyWebSocket: an API key in connection_init opens a securityEvents subscription that
// delivers its user's events; revoking the key closes the socket with 4401 within 5 s.
func TestAPIKeyWebSocket(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	p := s.register(t, "ws-key@example.com")
	key, secret, r := s.createAPIKey(t, p.AccessToken, "ws", 1)
	expectOK(t, r)
	c := dialWS(t, s, "graphql-transport-ws")
	c.init(secret)
	c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "subscription { securityEvents { type } }"}})
	time.Sleep(200 * time.Millisecond) // let the subscription register
	fresh, r := s.login(t, "ws-key@example.com", testPassword)
	expectOK(t, r)
	if m, err := c.next(5 * time.Second); err != nil || m["type"] != "next" {
		t.Fatalf("want the LOGIN event, got %v %v", m, err)
	}
	expectOK(t, s.revokeAPIKey(t, fresh.AccessToken, key.ID))
	c.expectClose(4401, 5*time.Second+closeSlack, func(m map[string]any) {
		if m["type"] == "next" && len(payloadErrors(m)) == 0 {
			t.Fatalf("event delivered after the key was revoked: %v", m)
		}
	})
}
