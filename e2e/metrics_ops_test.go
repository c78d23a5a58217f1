package e2e

import (
	"reflect"
	"regexp"
	"testing"

	"github.com/example/gqlauth/auth"
)

// TestOperationalMetrics: after a scripted session /metrics shows store latency by method,
// sessions ended by reason, refresh and reuse counts and the live-sessions gauge; the `me` hot
// path makes no store call.
func TestOperationalMetrics(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"REFRESH_REUSE_GRACE": "1s"})
	reg := s.register(t, "metrics@example.com")
	s.reuseRefreshToken(t, "metrics@example.com", testPassword)
	other, _ := s.login(t, "metrics@example.com", testPassword)
	expectOK(t, s.gql(t, reg.AccessToken, `mutation($id:ID!){ revokeSession(id:$id) }`, map[string]any{"id": sessionIDOf(t, s, other.AccessToken)}))
	expectOK(t, s.gql(t, reg.AccessToken, `mutation { logout }`, nil))

	text := scrapeMetrics(t, s)
	expectSeries(t, text,
		`auth_store_duration_seconds_count{method="CreateSession"} 3`,
		`auth_store_duration_seconds_count{method="RotateRefreshToken"} 2`,
		`auth_sessions_ended_total{reason="logout"} 1`,
		`auth_sessions_ended_total{reason="revoked"} 1`,
		`auth_sessions_ended_total{reason="refresh_token_reuse"} 1`,
		`auth_events_total{event="REFRESHED"} 1`,
		`auth_events_total{event="REFRESH_TOKEN_REUSE"} 1`,
		`auth_live_sessions `,
		`auth_housekeeping_purged_rows_total`,
	)
	// At most one series per method of the store (Close is not timed).
	methods := reflect.TypeFor[auth.Store]().NumMethod()
	if n := len(regexp.MustCompile(`(?m)^auth_store_duration_seconds_count\{`).FindAllString(text, -1)); n > methods {
		t.Errorf("store latency has %d series; its label set must stay the store's methods", n)
	}

	// `me` answers from memory: no store method runs for it (background polls aside).
	fresh, _ := s.login(t, "metrics@example.com", testPassword)
	expectOK(t, s.me(t, fresh.AccessToken)) // warms the user cache
	requestPath := []string{"UserByID", "UserByEmail", "SessionByID", "SessionByRefreshHash", "ListLiveSessions"}
	before := scrapeMetrics(t, s)
	for range 50 {
		expectOK(t, s.me(t, fresh.AccessToken))
	}
	after := scrapeMetrics(t, s)
	for _, method := range requestPath {
		series := `auth_store_duration_seconds_count{method="` + method + `"}`
		if b, a := metricValue(before, series), metricValue(after, series); a != b {
			t.Errorf("50 `me` requests called %s %v times", method, a-b)
		}
	}
}

// sessionIDOf returns the session id of an access token (its current session in `sessions`).
func sessionIDOf(t *testing.T, s *testServer, token string) string {
	t.Helper()
	var list []struct {
		ID      string
		Current bool
	}
	s.gql(t, token, `{ sessions { id current } }`, nil).decode(t, "sessions", &list)
	for _, x := range list {
		if x.Current {
			return x.ID
		}
	}
	t.Fatal("no current session")
	return ""
}
