package e2e

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/itest"
)

type auditEvent struct {
	ID        string  `json:"id"`
	Type      string  `json:"type"`
	At        string  `json:"at"`
	UserID    *string `json:"userId"`
	SessionID *string `json:"sessionId"`
	IPAddress *string `json:"ipAddress"`
	UserAgent *string `json:"userAgent"`
	Reason    *string `json:"reason"`
}

type auditPage struct {
	Edges []struct {
		Cursor string     `json:"cursor"`
		Node   auditEvent `json:"node"`
	} `json:"edges"`
	PageInfo struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	} `json:"pageInfo"`
}

const auditQuery = `query($u:ID,$f:Int,$a:String){ auditEvents(userId:$u, first:$f, after:$a) {
	edges { cursor node { id type at userId sessionId ipAddress userAgent reason } }
	pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`

// queryAudit returns one page of auditEvents (the admin token's view).
func queryAudit(t *testing.T, s *testServer, token string, vars map[string]any) auditPage {
	t.Helper()
	var page auditPage
	s.gql(t, token, auditQuery, vars).decode(t, "auditEvents", &page)
	return page
}

// auditTypes returns a user's audit event types, oldest first.
func auditTypes(t *testing.T, s *testServer, token, userID string) []string {
	t.Helper()
	page := queryAudit(t, s, token, map[string]any{"u": userID, "f": 100})
	var types []string
	for i := len(page.Edges) - 1; i >= 0; i-- {
		types = append(types, page.Edges[i].Node.Type)
	}
	return types
}

// TestAuditEventsQuery: security events are stored with time, user, session, IP and user agent,
// and an admin pages through them newest first; others are refused.
func TestAuditEventsQuery(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"REFRESH_REUSE_GRACE": "1s"})
	s.CreateUser(t, "root@example.com", "ADMIN", "admin passphrase 1")
	admin, r := s.login(t, "root@example.com", "admin passphrase 1")
	expectOK(t, r)

	reg := s.register(t, "audited@example.com")
	_, r = s.login(t, "audited@example.com", "not the password at all")
	expectError(t, r, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
	s.reuseRefreshToken(t, "audited@example.com", testPassword)
	expectOK(t, s.gql(t, reg.AccessToken, `mutation { logout }`, nil))
	expectOK(t, s.gql(t, admin.AccessToken, `mutation($id:ID!){ setUserRoles(userId:$id, roles:[USER]) { id } }`, map[string]any{"id": reg.User.ID}))
	expectOK(t, s.gql(t, admin.AccessToken, `mutation($id:ID!){ setUserDisabled(userId:$id, disabled:true) { id } }`, map[string]any{"id": reg.User.ID}))

	want := []string{"REGISTERED", "LOGIN_FAILED", "LOGIN", "REFRESH_TOKEN_REUSE", "LOGOUT", "ROLES_CHANGED", "USER_DISABLED"}
	var got []string
	itest.Eventually(t, 5*time.Second, "audit rows", func() bool {
		// MAIL_SENT (the notice of the token reuse) is written when the outbox delivers it,
		// at its own time: the order of the other events is what this test is about.
		got = slices.DeleteFunc(auditTypes(t, s, admin.AccessToken, reg.User.ID), func(typ string) bool {
			return strings.HasPrefix(typ, "MAIL_")
		})
		return len(got) >= len(want)
	})
	if !slices.Equal(got, want) {
		t.Fatalf("audit trail of the user = %v, want %v", got, want)
	}
	page := queryAudit(t, s, admin.AccessToken, map[string]any{"u": reg.User.ID, "f": 100})
	for _, e := range page.Edges {
		n := e.Node
		if n.UserID == nil || *n.UserID != reg.User.ID || n.IPAddress == nil || *n.IPAddress != "127.0.0.1" ||
			n.UserAgent == nil || *n.UserAgent == "" || n.ID == "" {
			t.Errorf("audit event lacks who or where: %+v", n)
		}
		if at, err := time.Parse(time.RFC3339Nano, n.At); err != nil || time.Since(at) > time.Minute {
			t.Errorf("audit event at %q", n.At)
		}
		switch n.Type {
		case "LOGIN", "LOGOUT", "REFRESH_TOKEN_REUSE", "REGISTERED":
			if n.SessionID == nil {
				t.Errorf("%s without a session", n.Type)
			}
		case "ROLES_CHANGED", "USER_DISABLED":
			if n.Reason == nil || *n.Reason != "by "+admin.User.ID {
				t.Errorf("%s reason = %v, want the admin", n.Type, n.Reason)
			}
		case "LOGIN_FAILED":
			if n.Reason == nil || *n.Reason != "INVALID_CREDENTIALS" {
				t.Errorf("LOGIN_FAILED reason = %v", n.Reason)
			}
		}
	}

	// Pages of 3 over every user's events, newest first, cover the trail once.
	all := queryAudit(t, s, admin.AccessToken, map[string]any{"f": 100})
	var walked []string
	vars := map[string]any{"f": 3}
	for pages := 0; ; pages++ {
		p := queryAudit(t, s, admin.AccessToken, vars)
		if pages > 0 != p.PageInfo.HasPreviousPage || len(p.Edges) > 3 {
			t.Fatalf("page %d info: %+v", pages, p.PageInfo)
		}
		for _, e := range p.Edges {
			walked = append(walked, e.Node.ID)
		}
		if !p.PageInfo.HasNextPage {
			break
		}
		vars["a"] = *p.PageInfo.EndCursor
	}
	var ids []string
	for _, e := range all.Edges {
		ids = append(ids, e.Node.ID)
	}
	if !slices.Equal(walked, ids) || len(ids) < len(want)+1 { // the admin's own LOGIN too
		t.Errorf("paged ids %v, want %v", walked, ids)
	}

	user, r := s.login(t, "root@example.com", "admin passphrase 1")
	expectOK(t, r)
	_ = user
	other := s.register(t, "curious@example.com")
	expectError(t, s.gql(t, other.AccessToken, auditQuery, nil), "FORBIDDEN", "")
	expectError(t, s.gql(t, "", auditQuery, nil), "UNAUTHENTICATED", "TOKEN_MISSING")
	expectError(t, s.gql(t, admin.AccessToken, auditQuery, map[string]any{"a": "bogus"}), "BAD_USER_INPUT", "")
	expectError(t, s.gql(t, admin.AccessToken, auditQuery, map[string]any{"f": 1000}), "BAD_USER_INPUT", "")
}

// subscribeSecurityEvents opens a securityEvents subscription with token and returns its client.
func subscribeSecurityEvents(t *testing.T, s *testServer, token string) *wsClient {
	t.Helper()
	c := dialSignedInWS(t, s, token)
	c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "subscription { securityEvents { type sessionId userAgent } }"}})
	time.Sleep(200 * time.Millisecond) // let the subscription register
	return c
}

// nextSecurityEvent returns the next securityEvents event's type and user agent.
func nextSecurityEvent(t *testing.T, c *wsClient, within time.Duration) (string, string) {
	t.Helper()
	m, err := c.next(within)
	if err != nil {
		t.Fatalf("no event within %v: %v", within, err)
	}
	raw, _ := json.Marshal(m["payload"])
	var p struct {
		Data struct {
			SecurityEvents struct{ Type, UserAgent string }
		}
	}
	if err := json.Unmarshal(raw, &p); err != nil || p.Data.SecurityEvents.Type == "" {
		t.Fatalf("not an event: %s", raw)
	}
	return p.Data.SecurityEvents.Type, p.Data.SecurityEvents.UserAgent
}

// TestSubscriptionAcrossInstances: the subscription's events come from the audit trail, so a
// subscriber on one instance sees what happened on another, and what the command line did,
// each once.
func TestSubscriptionAcrossInstances(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			var shared map[string]string
			if backend == "postgres" {
				shared = map[string]string{"DATABASE_URL": itest.PostgresURL(t)}
			} else {
				shared = map[string]string{"DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "shared.db")}
			}
			shared["JWT_ISSUER"] = "http://gqlauth.test"
			a, b := startServer(t, shared), startServer(t, shared)
			reg := a.register(t, "roaming@example.com")
			c := subscribeSecurityEvents(t, b, reg.AccessToken)

			a.login(t, "roaming@example.com", testPassword)
			if typ, _ := nextSecurityEvent(t, c, 5*time.Second); typ != "LOGIN" {
				t.Fatalf("event from the other instance: %s, want LOGIN", typ)
			}
			code, out, errOut := runCLI(t, a.Env, "user", "set-role", "--email", "roaming@example.com", "--role", "USER")
			if code != 0 {
				t.Fatalf("set-role: exit %d\n%s%s", code, out, errOut)
			}
			if typ, ua := nextSecurityEvent(t, c, 5*time.Second); typ != "ROLES_CHANGED" || ua != "gqlauth command line" {
				t.Fatalf("event from the command line: %s (%q), want ROLES_CHANGED", typ, ua)
			}
			b.login(t, "roaming@example.com", testPassword)
			if typ, _ := nextSecurityEvent(t, c, 5*time.Second); typ != "LOGIN" {
				t.Fatalf("event from this instance: %s, want LOGIN", typ)
			}
			if m, err := c.next(1500 * time.Millisecond); err == nil {
				t.Fatalf("an event was delivered twice: %v", m)
			} else if !strings.Contains(err.Error(), "deadline") && !strings.Contains(err.Error(), "context") {
				t.Fatalf("socket: %v", err)
			}
		})
	}
}
