package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestProductionSuggestsNothing: in production no error message suggests a name, whatever
// was misspelt and wherever (validation rules, variable coercion, WebSocket); development
// still suggests where gqlparser does.
func TestProductionSuggestsNothing(t *testing.T) {
	t.Parallel()
	dev := startServer(t, nil)
	prod := startServer(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": goodProductionKey(t)})

	for _, tc := range []struct {
		name  string
		query string
		vars  map[string]any
		leak  string // the suggestion development gives; "" where it gives none
	}{
		{"field", `{ mee { id } }`, nil, `"me"`},
		{"field of an object", `{ me { emial } }`, nil, `"email"`},
		{"argument", `{ users(frist: 1) { pageInfo { hasNextPage } } }`, nil, `"first"`},
		{"input field", `mutation { login(input: {email: "a@example.com", pasword: "x"}) { accessToken } }`, nil, `"password"`},
		{"enum value", `mutation { setUserRoles(userId: "1", roles: [ADMN]) { id } }`, nil, `"ADMIN"`},
		{"enum value as a variable default", `mutation($r: [Role!]! = [ADMN]) { setUserRoles(userId: "1", roles: $r) { id } }`, nil, `"ADMIN"`},
		{"enum value in a variable", `mutation($r: [Role!]!) { setUserRoles(userId: "1", roles: $r) { id } }`, map[string]any{"r": []string{"ADMN"}}, ""},
		{"input field in a variable", `mutation($i: LoginInput!) { login(input: $i) { accessToken } }`, map[string]any{"i": map[string]any{"email": "a@example.com", "pasword": "x"}}, ""},
		{"type of a fragment", `{ ...F } fragment F on Querry { __typename }`, nil, `"Query"`},
		{"type of an inline fragment", `{ ... on Querry { __typename } }`, nil, ""},
		{"type of a variable", `query($f: Innt) { users(first: $f) { pageInfo { hasNextPage } } }`, nil, ""},
		{"directive", `{ __typename @skp(if: true) }`, nil, ""},
		{"missing selection", `{ me }`, nil, `me { ... }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := prod.gql(t, "", tc.query, tc.vars)
			if len(r.Errors) == 0 || r.Status >= 500 {
				t.Fatalf("production: %d %+v", r.Status, r.Errors)
			}
			for _, e := range r.Errors {
				if strings.Contains(e.Message, "Did you mean") || tc.leak != "" && strings.Contains(e.Message, tc.leak) {
					t.Errorf("production suggests: %q", e.Message)
				}
			}
			if tc.leak == "" {
				return
			}
			d := dev.gql(t, "", tc.query, tc.vars)
			var msgs strings.Builder
			for _, e := range d.Errors {
				msgs.WriteString(e.Message + "\n")
			}
			if !strings.Contains(msgs.String(), "Did you mean") || !strings.Contains(msgs.String(), tc.leak) {
				t.Errorf("development does not suggest %s: %+v", tc.leak, d.Errors)
			}
		})
	}

	t.Run("WebSocket", func(t *testing.T) {
		c := dialSignedInWS(t, prod, prod.register(t, "ws-suggest@example.com").AccessToken)
		c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": `subscription { securityEvents { tpye } }`}})
		m, err := c.next(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if payload := mustJSONString(m["payload"]); m["type"] != "error" || strings.Contains(payload, "Did you mean") || !strings.Contains(payload, "tpye") {
			t.Errorf("want a validation error without suggestion, got %s %s", m["type"], payload)
		}
	})
}

func mustJSONString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestProductionRefusesIntrospection: in production __schema and __type are refused as a
// validation error (GRAPHQL_VALIDATION_FAILED, the status of any validation error), however
// they are reached, without an ERROR in the log; __typename still works. PLAYGROUND=true does
// not change it.
func TestProductionRefusesIntrospection(t *testing.T) {
	t.Parallel()
	key := goodProductionKey(t)
	for _, env := range []map[string]string{
		{"APP_ENV": "production", "JWT_SECRET": key},
		{"APP_ENV": "production", "JWT_SECRET": key, "PLAYGROUND": "true"},
	} {
		s := startServer(t, env)
		validationStatus := s.gql(t, "", `{ nope }`, nil).Status
		for _, q := range []string{
			`{ __schema { types { name } } }`,
			`{ __type(name: "User") { name } }`,
			`{ s: __schema { queryType { name } } }`,
			`{ me { id } t: __type(name: "User") { fields { name } } }`,
			`{ ...F } fragment F on Query { __schema { queryType { name } } }`,
			`{ ...F } fragment F on Query { ...G } fragment G on Query { __type(name: "Role") { enumValues { name } } }`,
			`{ ... on Query { __type(name: "User") { name } } }`,
			`query IntrospectionQuery { __schema { queryType { name } mutationType { name } types { name kind } directives { name } } }`,
		} {
			r := s.gql(t, "", q, nil)
			if r.code() != "GRAPHQL_VALIDATION_FAILED" || r.Status != validationStatus || r.Data != nil {
				t.Errorf("%s: %d %q data %v, want %d GRAPHQL_VALIDATION_FAILED without data: %+v", q, r.Status, r.code(), r.Data, validationStatus, r.Errors)
			}
		}
		for _, q := range []string{`{ __typename }`, `{ ... on Query { __typename } }`, `mutation { __typename }`} {
			expectOK(t, s.gql(t, "", q, nil))
		}
		if env["PLAYGROUND"] == "true" {
			if r := doRequest(t, http.MethodGet, s.URL+"/", nil, nil, false); r.status != http.StatusOK {
				t.Errorf("PLAYGROUND=true: GET / = %d", r.status)
			}
		}
		for _, line := range strings.Split(s.Log(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) {
				t.Errorf("logged at error level: %s", line)
			}
		}
	}
}
