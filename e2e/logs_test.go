package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestLogsHaveNoSecrets runs a whole session lifecycle against a server whose log is captured
// (text in development, JSON in production) and greps the log for every password, access
// token, refresh token and the signing key: none may appear. Each request's line names its
// GraphQL operation by the schema's root field.
func TestLogsHaveNoSecrets(t *testing.T) {
	t.Parallel()
	for _, appEnv := range []string{"development", "production"} {
		t.Run(appEnv, func(t *testing.T) {
			t.Parallel()
			key := make([]byte, 24)
			rand.Read(key)
			secret := hex.EncodeToString(key) // 48 bytes
			s := startServer(t, map[string]string{"APP_ENV": appEnv, "JWT_SECRET": secret, "REFRESH_REUSE_GRACE": "1s"})
			const (
				email     = "lifecycle@example.com"
				wrongPass = "wrong horse battery staple"
				newPass   = "a completely new passphrase"
			)
			secrets := map[string]string{"JWT_SECRET": secret, "password": testPassword, "wrong password": wrongPass, "new password": newPass}
			keep := func(what string, p payload) {
				secrets[what+" access token"] = p.AccessToken
				secrets[what+" refresh token"] = p.RefreshToken
				// A log might print part of a token; the signature alone must not show either.
				secrets[what+" access token signature"] = p.AccessToken[strings.LastIndexByte(p.AccessToken, '.')+1:]
			}

			reg := s.register(t, email)
			keep("register", reg)
			_, r := s.login(t, email, wrongPass)
			expectError(t, r, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
			login, r := s.login(t, email, testPassword)
			expectOK(t, r)
			keep("login", login)
			expectOK(t, s.me(t, login.AccessToken))
			refreshed, r := s.refresh(t, login.RefreshToken)
			expectOK(t, r)
			keep("refresh", refreshed)
			time.Sleep(1100 * time.Millisecond) // past REFRESH_REUSE_GRACE
			_, r = s.refresh(t, login.RefreshToken)
			expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_REUSED")

			// The OAuth endpoints: password grant, refresh grant, revocation.
			code, tok := postFormJSON(t, s, "/token", url.Values{"grant_type": {"password"}, "username": {email}, "password": {testPassword}})
			if code != http.StatusOK {
				t.Fatalf("/token password grant: %d %v", code, tok)
			}
			access, _ := tok["access_token"].(string)
			refresh, _ := tok["refresh_token"].(string)
			keep("token endpoint", payload{AccessToken: access, RefreshToken: refresh})
			code, tok2 := postFormJSON(t, s, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
			if code != http.StatusOK {
				t.Fatalf("/token refresh grant: %d %v", code, tok2)
			}
			access2, _ := tok2["access_token"].(string)
			refresh2, _ := tok2["refresh_token"].(string)
			keep("token endpoint refresh", payload{AccessToken: access2, RefreshToken: refresh2})
			if code, _ := postFormJSON(t, s, "/revoke", url.Values{"token": {refresh2}}); code != http.StatusOK {
				t.Fatalf("/revoke: %d", code)
			}
			postFormJSON(t, s, "/token", url.Values{"grant_type": {"password"}, "username": {email}, "password": {wrongPass}})

			// A WebSocket: connection_init with the token, a subscription.
			ws, _ := s.login(t, email, testPassword)
			keep("websocket", ws)
			c := dialWS(t, s, "graphql-transport-ws")
			c.send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + ws.AccessToken}})
			if m, err := c.next(5 * time.Second); err != nil || m["type"] != "connection_ack" {
				t.Fatalf("want connection_ack, got %v %v", m, err)
			}
			c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "subscription { securityEvents { type } }"}})
			time.Sleep(100 * time.Millisecond)

			// A password change and the logouts.
			r = s.gql(t, ws.AccessToken, `mutation($c:String!,$n:String!){ changePassword(input:{currentPassword:$c,newPassword:$n}) { `+payloadFields+` } }`,
				map[string]any{"c": testPassword, "n": newPass})
			var changed payload
			r.decode(t, "changePassword", &changed)
			keep("changePassword", changed)
			expectOK(t, s.gql(t, "", `mutation($t:String){ logout(refreshToken:$t) }`, map[string]any{"t": changed.RefreshToken}))
			c.conn.CloseNow()
			// The WebSocket's request line is written when its handler returns, which Shutdown
			// does not wait for (the connection is hijacked): wait for it before stopping.
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !strings.Contains(s.Log(), "securityEvents"); {
				time.Sleep(20 * time.Millisecond)
			}

			s.Stop() // flushes the log
			log := s.Log()
			for what, v := range secrets {
				if v == "" {
					t.Fatalf("no %s to look for", what)
				}
				if strings.Contains(log, v) {
					t.Errorf("the log contains the %s", what)
				}
			}

			// One line per request, naming the operation.
			lines := strings.Split(strings.TrimSpace(log), "\n")
			ops := map[string]bool{}
			for _, line := range lines {
				if appEnv == "production" {
					var rec map[string]any
					if err := json.Unmarshal([]byte(line), &rec); err != nil {
						t.Fatalf("production log line is not JSON: %q", line)
					}
					if rec["msg"] == "request" && rec["operation"] != nil {
						ops[rec["operation_type"].(string)+" "+rec["operation"].(string)] = true
						if rec["request_id"] == "" || rec["status"] == nil || rec["duration"] == nil {
							t.Errorf("request line lacks fields: %q", line)
						}
					}
					continue
				}
				if strings.Contains(line, "msg=request") {
					if _, op, ok := strings.Cut(line, " operation="); ok {
						typ, _, _ := strings.Cut(strings.SplitN(line, "operation_type=", 2)[1], " ")
						ops[typ+" "+strings.Fields(op)[0]] = true
					}
				}
			}
			for _, want := range []string{"mutation register", "mutation login", "query me", "mutation refresh",
				"mutation changePassword", "mutation logout", "subscription securityEvents"} {
				if !ops[want] {
					t.Errorf("no request line with operation %q; saw %v", want, ops)
				}
			}
		})
	}
}
