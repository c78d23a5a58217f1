package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer is the real program, started through run() on a free port with its own data
// folder, as a user would start it.
type testServer struct {
	URL     string
	DataDir string
	env     map[string]string
	stderr  *syncBuffer
	cancel  context.CancelFunc
	done    chan error
}

// syncBuffer is a bytes.Buffer safe for the server's logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// testEnv is the environment every test server starts from; overrides win.
func testEnv(t testing.TB, overrides map[string]string) map[string]string {
	port := freePort(t)
	env := map[string]string{
		"PORT":         port,
		"DATA_DIR":     t.TempDir(),
		"BCRYPT_COST":  "10",
		"JWT_SECRET":   "test-secret-0123456789abcdefghijklmnopqrstuvwxyz",
		"JWT_ISSUER":   "http://127.0.0.1:" + port,
		"JWT_AUDIENCE": "graphql-api",
		// No verification mail at register: its MAIL_SENT event arrives on its own time and
		// would interleave with the events tests wait for. The mail tests ask for "optional".
		"EMAIL_VERIFICATION": "off",
	}
	for k, v := range overrides {
		env[k] = v
	}
	return env
}

// startServer runs the program with env and waits until /healthz answers.
func startServer(t testing.TB, overrides map[string]string) *testServer {
	t.Helper()
	return startWithEnv(t, testEnv(t, overrides))
}

func startWithEnv(t testing.TB, env map[string]string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{
		URL: "http://127.0.0.1:" + env["PORT"], DataDir: env["DATA_DIR"], env: env,
		stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1),
	}
	go func() {
		s.done <- run(ctx, []string{"gqlauth"}, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, s.stderr)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("server exited during start: %v\n%s", err, s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy\n%s", s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop sends the equivalent of SIGTERM and waits for a clean exit.
func (s *testServer) stop(t testing.TB) {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("server exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("server did not stop")
	}
}

// gqlResponse is a GraphQL response with its errors decoded.
type gqlResponse struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []gqlError                 `json:"errors"`
	Status int                        `json:"-"`
	Header http.Header                `json:"-"`
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// code and reason of the first error ("" when none).
func (r gqlResponse) code() string   { return r.ext("code") }
func (r gqlResponse) reason() string { return r.ext("reason") }
func (r gqlResponse) ext(k string) string {
	if len(r.Errors) == 0 {
		return ""
	}
	return fmt.Sprint(r.Errors[0].Extensions[k])
}

// decode unmarshals data[field] into v.
func (r gqlResponse) decode(t testing.TB, field string, v any) {
	t.Helper()
	raw, ok := r.Data[field]
	if !ok || string(raw) == "null" {
		t.Fatalf("no data.%s in response; errors: %+v", field, r.Errors)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", field, err)
	}
}

// gql posts a GraphQL request with an optional bearer token.
func (s *testServer) gql(t testing.TB, token, query string, vars map[string]any) gqlResponse {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return s.gqlWithHeader(t, h, query, vars)
}

func (s *testServer) gqlWithHeader(t testing.TB, h http.Header, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/query", bytes.NewReader(body))
	req.Header = h.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /query: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response is not JSON (status %d): %s", resp.StatusCode, raw)
	}
	out.Status, out.Header = resp.StatusCode, resp.Header
	return out
}

// payload is an AuthPayload.
type payload struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	TokenType    string `json:"tokenType"`
	ExpiresIn    int    `json:"expiresIn"`
	DeviceToken  string `json:"deviceToken"`
	User         struct {
		ID       string   `json:"id"`
		Email    string   `json:"email"`
		Roles    []string `json:"roles"`
		Disabled bool     `json:"disabled"`
	} `json:"user"`
}

const payloadFields = `accessToken refreshToken tokenType expiresIn deviceToken user { id email roles disabled createdAt }`

const testPassword = "correct horse battery staple"

func (s *testServer) register(t testing.TB, email string) payload {
	t.Helper()
	r := s.gql(t, "", `mutation($e:String!,$p:String!){ register(input:{email:$e,password:$p}) { `+payloadFields+` } }`,
		map[string]any{"e": email, "p": testPassword})
	var p payload
	r.decode(t, "register", &p)
	return p
}

func (s *testServer) login(t testing.TB, email, password string) (payload, gqlResponse) {
	t.Helper()
	r := s.gql(t, "", `mutation($e:String!,$p:String!){ login(input:{email:$e,password:$p}) { `+payloadFields+` } }`,
		map[string]any{"e": email, "p": password})
	var p payload
	if len(r.Errors) == 0 {
		r.decode(t, "login", &p)
	}
	return p, r
}

func (s *testServer) refresh(t testing.TB, refreshToken string) (payload, gqlResponse) {
	t.Helper()
	r := s.gql(t, "", `mutation($t:String){ refresh(refreshToken:$t) { `+payloadFields+` } }`, map[string]any{"t": refreshToken})
	var p payload
	if len(r.Errors) == 0 {
		r.decode(t, "refresh", &p)
	}
	return p, r
}

// me runs { me { id email roles } } and returns the response.
func (s *testServer) me(t testing.TB, token string) gqlResponse {
	t.Helper()
	return s.gql(t, token, `{ me { id email roles disabled } }`, nil)
}

// expectError fails unless r has exactly the code (and reason, when given) in its first error.
func expectError(t testing.TB, r gqlResponse, code, reason string) {
	t.Helper()
	if r.code() != code || (reason != "" && r.reason() != reason) {
		t.Fatalf("want %s/%s, got %s/%s (errors %+v)", code, reason, r.code(), r.reason(), r.Errors)
	}
}

func expectOK(t testing.TB, r gqlResponse) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %+v", r.Errors)
	}
}

// createUser runs `user create` against the server's database and returns the new id.
func (s *testServer) createUser(t testing.TB, email, role, password string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"gqlauth", "user", "create", "--email", email, "--role", role, "--password-stdin"},
		func(k string) string { return s.env[k] }, strings.NewReader(password+"\n"), &out, &errOut)
	if err != nil {
		t.Fatalf("user create: %v\n%s", err, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// claimRoles decodes the roles claim of a JWT without verifying it (the server verified it).
func claimRoles(t testing.TB, token string) []string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Roles []string }
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c.Roles
}
