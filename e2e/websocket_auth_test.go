package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/example/gqlauth/auth"
)

// closeSlack is what a loaded test machine may add to the 5 s within which a socket must close.
const closeSlack = time.Second

// TestWebsocketTokenExpiryWhateverTheUpgradeSpelling: however the upgrade request spells its
// Upgrade and Connection headers, an operation sent over the socket after the access token
// expired (beyond the verifier's leeway) is refused as TOKEN_EXPIRED, and the socket closes
// with 4401 within 5 s of the expiry.
func TestWebsocketTokenExpiryWhateverTheUpgradeSpelling(t *testing.T) {
	s := startServer(t, map[string]string{"ACCESS_TOKEN_TTL": "2s"})
	for i, sp := range upgradeSpellings {
		t.Run(sp.name, func(t *testing.T) {
			t.Parallel()
			p := s.register(t, fmt.Sprintf("expiry%d@example.com", i))
			exp := claimExp(t, p.AccessToken)
			c := dialWSSpelled(t, s, "graphql-transport-ws", sp.set)
			c.init(p.AccessToken)

			type answer struct {
				m   map[string]any
				err error
			}
			answers := make(chan answer, 64)
			go func() {
				for {
					m, err := c.next(time.Minute)
					answers <- answer{m, err}
					if err != nil {
						return
					}
				}
			}()

			// Ask `me` every 250 ms until the socket closes.
			sent := map[string]time.Time{}
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			deadline := time.After(time.Until(exp.Add(5*time.Second + closeSlack)))
			for n := 1; ; {
				select {
				case <-tick.C:
					id := strconv.Itoa(n)
					n++
					b, _ := json.Marshal(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": "{ me { id } }"}})
					sent[id] = time.Now()
					_ = c.conn.Write(context.Background(), websocket.MessageText, b) // fails once closed; the reader reports how
				case a := <-answers:
					if a.err != nil {
						if code := closeCode(a.err); code != 4401 {
							t.Fatalf("want close 4401, got %d (%v)", code, a.err)
						}
						return
					}
					id, _ := a.m["id"].(string)
					switch a.m["type"] {
					case "next", "error":
						errs := payloadErrors(a.m)
						if len(errs) == 0 {
							if at := sent[id]; at.After(exp.Add(auth.MaxLeeway)) {
								t.Fatalf("`me` sent %v after the token expired was answered: %v", at.Sub(exp).Round(time.Millisecond), a.m)
							}
							continue
						}
						if errs[0].Extensions["code"] != "UNAUTHENTICATED" || errs[0].Extensions["reason"] != "TOKEN_EXPIRED" {
							t.Fatalf("want UNAUTHENTICATED/TOKEN_EXPIRED, got %+v", errs)
						}
					}
				case <-deadline:
					t.Fatalf("socket still open %v after its token expired", time.Since(exp).Round(time.Millisecond))
				}
			}
		})
	}
}

// TestWebsocketSessionEndStopsSecurityEvents: however the upgrade request is spelled, a
// securityEvents subscription delivers nothing more once its session ended (logoutAll, a
// password change from another session) or its account was disabled, and the socket closes
// with 4401 (4403 for the disabled account) within 5 s.
func TestWebsocketSessionEndStopsSecurityEvents(t *testing.T) {
	s := startServer(t, nil)
	s.CreateUser(t, "root@example.com", "ADMIN", "admin passphrase 1")
	admin, r := s.login(t, "root@example.com", "admin passphrase 1")
	expectOK(t, r)

	actions := []struct {
		name string
		code int
		do   func(t *testing.T, mine, other payload)
	}{
		{"logoutAll", 4401, func(t *testing.T, mine, _ payload) {
			expectOK(t, s.gql(t, mine.AccessToken, `mutation { logoutAll }`, nil))
		}},
		{"changePassword from another session", 4401, func(t *testing.T, _, other payload) {
			expectOK(t, s.gql(t, other.AccessToken,
				`mutation($c:String!,$n:String!){ changePassword(input:{currentPassword:$c,newPassword:$n}) { accessToken } }`,
				map[string]any{"c": testPassword, "n": "another horse battery staple"}))
		}},
		{"setUserDisabled", 4403, func(t *testing.T, mine, _ payload) {
			expectOK(t, s.gql(t, admin.AccessToken, `mutation($id:ID!){ setUserDisabled(userId:$id, disabled:true) { id } }`,
				map[string]any{"id": mine.User.ID}))
		}},
	}
	n := 0
	for i, sp := range upgradeSpellings {
		proto := []string{"graphql-transport-ws", "graphql-ws"}[i%2]
		for _, a := range actions {
			n++
			email := fmt.Sprintf("events%d@example.com", n)
			t.Run(sp.name+"/"+proto+"/"+a.name, func(t *testing.T) {
				t.Parallel()
				mine := s.register(t, email)
				c := dialWSSpelled(t, s, proto, sp.set)
				c.init(mine.AccessToken)
				c.send(map[string]any{"id": "1", "type": subscribeMsg(proto), "payload": map[string]any{"query": "subscription { securityEvents { type } }"}})
				time.Sleep(200 * time.Millisecond) // let the subscription register

				// The subscription is live: a second sign-in shows up.
				other, r := s.login(t, email, testPassword)
				expectOK(t, r)
				if m, err := c.next(5 * time.Second); err != nil || m["type"] != dataMsg(proto) {
					t.Fatalf("want the LOGIN event, got %v %v", m, err)
				}

				a.do(t, mine, other)
				c.expectClose(a.code, 5*time.Second+closeSlack, func(m map[string]any) {
					errs := payloadErrors(m)
					if m["type"] == dataMsg(proto) && len(errs) == 0 {
						t.Fatalf("event delivered after %s: %v", a.name, m)
					}
					if len(errs) > 0 && errs[0].Extensions["code"] != "UNAUTHENTICATED" {
						t.Fatalf("want the subscription to end as UNAUTHENTICATED, got %+v", errs)
					}
				})
			})
		}
	}
}
