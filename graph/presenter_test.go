package graph

import (
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

const (
	registerQuery = `mutation($e: String!, $p: String!) { register(input: {email: $e, password: $p}) { accessToken } }`
	loginQuery    = `mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken } }`
)

// TestPresenterCodes: every refusal of the service reaches the client with the API's code and
// the extension that says more (reason, field, retryAfter), through the real handler.
func TestPresenterCodes(t *testing.T) {
	a := newTestAPI(t, func(c *apiConfig) {
		c.auth.Limiter = auth.NewMemoryLimiter(nil)
		c.auth.LoginPerAccount = auth.Limit{N: 2, Window: time.Hour}
	})
	a.register(t, "ada@example.com")
	vars := func(email, password string) map[string]any { return map[string]any{"e": email, "p": password} }

	for _, c := range []struct {
		name, query string
		vars        map[string]any
		code, key   string
		value       any
	}{
		{"no token", meQuery, nil, CodeUnauthenticated, "reason", "TOKEN_MISSING"},
		{"unknown email", loginQuery, vars("nobody@example.com", testPassword), CodeUnauthenticated, "reason", "INVALID_CREDENTIALS"},
		{"wrong password", loginQuery, vars("ada@example.com", "not the password at all"), CodeUnauthenticated, "reason", "INVALID_CREDENTIALS"},
		{"bad refresh token", refreshQuery, map[string]any{"t": "not-a-refresh-token"}, CodeUnauthenticated, "reason", "REFRESH_TOKEN_INVALID"},
		{"bad email", registerQuery, vars("not an email", testPassword), CodeBadUserInput, "field", "email"},
		{"email taken", registerQuery, vars("ADA@example.com", testPassword), CodeBadUserInput, "field", "email"},
		{"short password", registerQuery, vars("bob@example.com", "short"), CodeBadUserInput, "field", "password"},
		{"common password", registerQuery, vars("bob@example.com", "1qaz2wsx3edc"), CodeBadUserInput, "field", "password"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, a.refusal(t, "", c.query, c.vars), c.code, c.key, c.value)
		})
	}

	t.Run("malformed token", func(t *testing.T) {
		wantError(t, a.refusal(t, "not.a.jwt", meQuery, nil), CodeUnauthenticated, "reason", "TOKEN_INVALID")
	})

	// The second failure of the account (one was made above) uses its budget: the next attempt is
	// refused before its password is checked, the right one too.
	t.Run("rate limited", func(t *testing.T) {
		wantError(t, a.refusal(t, "", loginQuery, vars("ada@example.com", "still not the password")),
			CodeUnauthenticated, "reason", "INVALID_CREDENTIALS")
		e := a.refusal(t, "", loginQuery, vars("ada@example.com", testPassword))
		wantError(t, e, CodeRateLimited, "", nil)
		if r, _ := e.Extensions["retryAfter"].(float64); r < 1 {
			t.Errorf("retryAfter %v, want whole seconds ≥ 1", e.Extensions["retryAfter"])
		}
	})

	// gqlgen's own errors keep gqlgen's codes.
	t.Run("parse", func(t *testing.T) {
		wantError(t, a.refusal(t, "", `{ me {`, nil), "GRAPHQL_PARSE_FAILED", "", nil)
	})
	t.Run("validation", func(t *testing.T) {
		wantError(t, a.refusal(t, "", `{ nosuchfield }`, nil), "GRAPHQL_VALIDATION_FAILED", "", nil)
	})
}

// TestPresenterMasksInternalErrors: an error the presenter does not know (here the database is
// gone) reaches the client as INTERNAL_SERVER_ERROR with the request id and nothing of its
// cause; the cause is in the log, under the same request id.
func TestPresenterMasksInternalErrors(t *testing.T) {
	a := newTestAPI(t)
	reg := a.register(t, "ada@example.com")
	if err := a.store.Close(); err != nil {
		t.Fatal(err)
	}
	res := a.post(t, gqlRequest{Query: sessionsQuery, Token: reg.AccessToken})
	if len(res.Errors) != 1 {
		t.Fatalf("HTTP %d %s", res.Status, res.Body)
	}
	e := res.Errors[0]
	wantError(t, e, CodeInternal, "requestId", "req-0123456789")
	if e.Message != "internal server error" || strings.Contains(strings.ToLower(res.Body), "closed") {
		t.Errorf("the answer tells the cause: %s", res.Body)
	}
	if logs := a.logs.String(); !strings.Contains(logs, "req-0123456789") || !strings.Contains(logs, "closed") {
		t.Errorf("the log lacks the request id or the cause:\n%s", logs)
	}
}
