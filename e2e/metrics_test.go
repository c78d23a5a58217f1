package e2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"testing"
)

// TestMetrics: after a scripted session /metrics shows the operation histogram, auth event
// counters and the Go runtime collectors, and made-up operation names do not grow the labels.
func TestMetrics(t *testing.T) {
	s := startServer(t, nil)
	reg := s.register(t, "m@example.com")
	s.login(t, "m@example.com", "wrong password 1")
	s.login(t, "m@example.com", testPassword)
	for i := range 1000 {
		s.gql(t, reg.AccessToken, fmt.Sprintf("query Made%d { me { id } }", i), nil)
	}
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	expectSeries(t, text,
		`graphql_operation_duration_seconds_count{operation="me",outcome="ok",type="query"} 1000`,
		`graphql_operation_duration_seconds_count{operation="login",outcome="error",type="mutation"} 1`,
		`auth_events_total{event="LOGIN"} 1`,
		`auth_events_total{event="LOGIN_FAILED"} 1`,
		`auth_login_failures_total{reason="INVALID_CREDENTIALS"} 1`,
		`auth_bcrypt_queue_wait_seconds_count`,
		`go_goroutines`,
	)
	series := regexp.MustCompile(`(?m)^graphql_operation_duration_seconds_count\{`).FindAllString(text, -1)
	if len(series) > 10 {
		t.Errorf("operation label set grew to %d series", len(series))
	}
}
