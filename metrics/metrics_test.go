package metrics_test

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/metrics"
	"github.com/example/gqlauth/store/sqlite"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

func expectMetrics(t *testing.T, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("metrics lack %q", w)
		}
	}
}

// InstrumentStore times every call by method.
func TestInstrumentStore(t *testing.T) {
	inner, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	s := m.InstrumentStore(inner)
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	_ = s.CreateUser(ctx, auth.User{ID: "u1", Email: "u1@example.com", CreatedAt: now, UpdatedAt: now})
	_, _ = s.UserByID(ctx, "u1")
	_, _ = s.UserByID(ctx, "nobody")
	_, _ = s.CountLiveSessions(ctx, now)
	_ = s.AppendAudit(ctx, []auth.Event{{Type: auth.EventLogin, At: now, UserID: "u1"}})
	text := scrape(t, m)
	expectMetrics(t, text,
		`auth_store_duration_seconds_count{method="CreateUser"} 1`,
		`auth_store_duration_seconds_count{method="UserByID"} 2`,
		`auth_store_duration_seconds_count{method="CountLiveSessions"} 1`,
		`auth_store_duration_seconds_count{method="AppendAudit"} 1`,
		`auth_store_duration_seconds_count{method="RotateRefreshToken"} 0`, // every method shows
	)
	// Counted from the interface, so a method added to auth.Store without a timer fails here.
	want := reflect.TypeFor[auth.Store]().NumMethod() - 1
	if n := len(regexp.MustCompile(`(?m)^auth_store_duration_seconds_count\{`).FindAllString(text, -1)); n != want {
		t.Errorf("%d store method series, want %d (one per auth.Store method but Close)", n, want)
	}
}

// Sessions ended are counted by how they ended, with a bounded label set.
func TestSessionsEndedByReason(t *testing.T) {
	m := metrics.New()
	ctx := context.Background()
	for _, e := range []auth.Event{
		{Type: auth.EventLogout, Reason: auth.EndLogout},
		{Type: auth.EventLogout, Reason: auth.EndLogoutAll},
		{Type: auth.EventSessionRevoked, Reason: auth.EndAdminRevoked + " by command line"},
		{Type: auth.EventSessionRevoked, Reason: auth.EndPasswordChange},
		{Type: auth.EventRefreshReuse, Reason: auth.EndTokenReuse},
		{Type: auth.EventSessionRevoked, Reason: "something made up"},
		{Type: auth.EventLogin},
	} {
		m.Publish(ctx, e)
	}
	m.ObservePurged("audit", 1200)
	text := scrape(t, m)
	expectMetrics(t, text,
		`auth_sessions_ended_total{reason="logout"} 1`,
		`auth_sessions_ended_total{reason="logout_all"} 1`,
		`auth_sessions_ended_total{reason="admin_revoked"} 1`,
		`auth_sessions_ended_total{reason="password_changed"} 1`,
		`auth_sessions_ended_total{reason="refresh_token_reuse"} 1`,
		`auth_sessions_ended_total{reason="other"} 1`,
		`auth_sessions_ended_total{reason="user_disabled"} 0`,
		`auth_housekeeping_purged_rows_total{table="audit"} 1200`,
		`auth_events_total{event="LOGIN"} 1`,
	)
}

// The live-sessions gauge follows the periodic count and keeps its value when a count fails.
func TestLiveSessionsGauge(t *testing.T) {
	m := metrics.New()
	counts := make(chan int64, 1)
	counts <- 7
	count := func(ctx context.Context, now time.Time) (int64, error) {
		select {
		case n := <-counts:
			return n, nil
		default:
			return 0, context.DeadlineExceeded
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.RunLiveSessions(ctx, count, 10*time.Millisecond); close(done) }()
	wait := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(scrape(t, m), want) {
			if time.Now().After(deadline) {
				t.Fatalf("metrics never showed %q", want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait("auth_live_sessions 7")
	time.Sleep(50 * time.Millisecond) // failed counts meanwhile
	wait("auth_live_sessions 7")
	counts <- 3
	wait("auth_live_sessions 3")
	cancel()
	<-done
}
