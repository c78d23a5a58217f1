package graph

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/auth/limitertest"
	"github.com/example/gqlauth/internal/authtest"
	"github.com/example/gqlauth/internal/itest"
	"github.com/example/gqlauth/internal/reqmeta"
	"github.com/example/gqlauth/store/sqlite"
)

// The package's tests run the GraphQL handler as the program builds it (NewHandler), on a real
// auth service over a real SQLite file, behind the one thing the HTTP layer adds in front of
// it: the request's identity and client in the context (auth.RequestContext). Each test gets
// its own database, clock and listener on 127.0.0.1:0.

// testAccessTTL is the access tokens' lifetime in these tests.
const testAccessTTL = authtest.AccessTTL

// testAPI is one such handler and what a test needs to drive it.
type testAPI struct {
	svc   *auth.Service
	store *sqlite.Store
	clock *limitertest.Clock
	url   string // of the GraphQL endpoint
	logs  *itest.Buffer
}

// apiConfig is what a test may change before the handler is built.
type apiConfig struct {
	graph Options
	auth  auth.Config
}

// newTestAPI builds the handler; configure, when given, adjusts the options first.
func newTestAPI(t *testing.T, configure ...func(*apiConfig)) *testAPI {
	t.Helper()
	return newTestAPIWith(t, authtest.Options{}, configure...)
}

// newTestAPIWith is newTestAPI on the service o describes (o.Configure is configure's).
func newTestAPIWith(t *testing.T, o authtest.Options, configure ...func(*apiConfig)) *testAPI {
	t.Helper()
	logs := &itest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	cfg := apiConfig{graph: Options{Logger: log}}
	o.Configure = func(c *auth.Config) {
		cfg.auth = *c
		cfg.auth.Logger = log
		for _, c := range configure {
			c(&cfg)
		}
		*c = cfg.auth
	}
	env := authtest.NewWith(t, o)
	cfg.graph.Auth = env.Service
	gql := NewHandler(cfg.graph)
	clientIP := auth.NewClientIP(nil, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The request's metadata and identity, as the server's middleware makes them.
		ctx := reqmeta.NewContext(r.Context(), "req-0123456789")
		ctx = auth.RequestContext(ctx, r, env.Tokens, clientIP, auth.CookieNames{})
		gql.ServeHTTP(w, r.WithContext(ctx))
	}))
	t.Cleanup(srv.Close)
	return &testAPI{svc: env.Service, store: env.Store, clock: env.Clock, url: srv.URL + "/query", logs: logs}
}

// newTestService is an auth service on a real SQLite file, with one user; it returns an
// access token of that user.
func newTestService(t *testing.T) (*auth.Service, string) {
	t.Helper()
	a := newTestAPI(t)
	g, err := a.svc.Register(context.Background(), "ada@example.com", "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	return a.svc, g.AccessToken
}

// gqlRequest is one GraphQL request over HTTP POST.
type gqlRequest struct {
	Query     string
	Variables map[string]any
	Token     string // the bearer token, if any
	Accept    string // "" sends no Accept header
}

// gqlResult is the answer, decoded.
type gqlResult struct {
	Status  int
	Header  http.Header
	Body    string
	HasData bool            // a "data" entry is present (null included)
	Data    json.RawMessage // the "data" entry as sent
	Errors  []gqlError
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// post sends req and decodes the answer; a body that is not a GraphQL response fails the test.
func (a *testAPI) post(t *testing.T, req gqlRequest) gqlResult {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": req.Query, "variables": req.Variables})
	if err != nil {
		t.Fatal(err)
	}
	return a.postRaw(t, string(body), req.Token, req.Accept)
}

// postRaw sends body as it is, with Content-Type application/json.
func (a *testAPI) postRaw(t *testing.T, body, token, accept string) gqlResult {
	t.Helper()
	hr, err := http.NewRequest(http.MethodPost, a.url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Content-Type", "application/json")
	return a.send(t, hr, token, accept)
}

// get sends params as a GET request's URL parameters.
func (a *testAPI) get(t *testing.T, params url.Values, accept string) gqlResult {
	t.Helper()
	hr, err := http.NewRequest(http.MethodGet, a.url+"?"+params.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return a.send(t, hr, "", accept)
}

// send sends hr with the bearer token and Accept header given ("" for none) and decodes the
// answer; a body that is not a GraphQL response fails the test.
func (a *testAPI) send(t *testing.T, hr *http.Request, token, accept string) gqlResult {
	t.Helper()
	if accept != "" {
		hr.Header.Set("Accept", accept)
	}
	if token != "" {
		hr.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	res := gqlResult{Status: resp.StatusCode, Header: resp.Header, Body: string(raw)}
	var envelope map[string]json.RawMessage
	if err := json.Unmarshal(raw, &envelope); err != nil {
		t.Fatalf("HTTP %d, not a GraphQL response: %s", resp.StatusCode, raw)
	}
	res.Data, res.HasData = envelope["data"]
	if e, ok := envelope["errors"]; ok {
		if err := json.Unmarshal(e, &res.Errors); err != nil {
			t.Fatalf("errors: %v in %s", err, raw)
		}
	}
	return res
}

// query posts query with vars as the holder of token and wants it to succeed: HTTP 200, no
// errors. It decodes data into out.
func (a *testAPI) query(t *testing.T, token, query string, vars map[string]any, out any) {
	t.Helper()
	res := a.post(t, gqlRequest{Query: query, Variables: vars, Token: token})
	if res.Status != http.StatusOK || len(res.Errors) > 0 {
		t.Fatalf("%s: HTTP %d %s", query, res.Status, res.Body)
	}
	if out != nil {
		if err := json.Unmarshal(res.Data, out); err != nil {
			t.Fatalf("data: %v in %s", err, res.Body)
		}
	}
}

// refusal posts query and wants exactly one error; it returns its extensions.
func (a *testAPI) refusal(t *testing.T, token, query string, vars map[string]any) gqlError {
	t.Helper()
	res := a.post(t, gqlRequest{Query: query, Variables: vars, Token: token})
	if len(res.Errors) != 1 {
		t.Fatalf("%s: want one error, got HTTP %d %s", query, res.Status, res.Body)
	}
	return res.Errors[0]
}

// payload is the AuthPayload fields the tests read.
type payload struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	TokenType    string `json:"tokenType"`
	ExpiresIn    int    `json:"expiresIn"`
	User         struct {
		ID    string   `json:"id"`
		Email string   `json:"email"`
		Roles []string `json:"roles"`
	} `json:"user"`
}

const payloadFields = `accessToken refreshToken tokenType expiresIn user { id email roles }`

const testPassword = "correct horse battery staple"

// register makes an account through the API and returns its first sign-in.
func (a *testAPI) register(t *testing.T, email string) payload {
	t.Helper()
	var out struct{ Register payload }
	a.query(t, "", `mutation($e: String!, $p: String!) { register(input: {email: $e, password: $p}) { `+payloadFields+` } }`,
		map[string]any{"e": email, "p": testPassword}, &out)
	return out.Register
}

// login signs in through the API.
func (a *testAPI) login(t *testing.T, email string) payload {
	t.Helper()
	var out struct{ Login payload }
	a.query(t, "", `mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { `+payloadFields+` } }`,
		map[string]any{"e": email, "p": testPassword}, &out)
	return out.Login
}

// admin makes an administrator (as the command line does) and signs it in.
func (a *testAPI) admin(t *testing.T, email string) payload {
	t.Helper()
	if _, err := a.svc.CreateUser(context.Background(), email, testPassword, []auth.Role{auth.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	return a.login(t, email)
}
