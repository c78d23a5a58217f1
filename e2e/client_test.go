package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/itest"
)

// The clients of the harness: GraphQL over HTTP, raw HTTP, the OAuth endpoints, /metrics.

// ---- GraphQL ----

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
	h = h.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/json")
	return asGQL(t, doRequest(t, http.MethodPost, s.URL+"/query", h, queryBody(query, vars), false))
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

const (
	loginMutation    = `mutation($e:String!,$p:String!){ login(input:{email:$e,password:$p}) { ` + payloadFields + ` } }`
	refreshMutation  = `mutation($t:String){ refresh(refreshToken:$t) { ` + payloadFields + ` } }`
	logoutMutation   = `mutation($t:String){ logout(refreshToken:$t) }`
	registerMutation = `mutation($e:String!,$p:String!){ register(input:{email:$e,password:$p}) { ` + payloadFields + ` } }`
)

func logout(t testing.TB, s *testServer, refreshToken string) gqlResponse {
	t.Helper()
	return s.gql(t, "", logoutMutation, map[string]any{"t": refreshToken})
}

func (s *testServer) register(t testing.TB, email string) payload {
	t.Helper()
	r := s.gql(t, "", registerMutation, map[string]any{"e": email, "p": testPassword})
	var p payload
	r.decode(t, "register", &p)
	return p
}

func (s *testServer) login(t testing.TB, email, password string) (payload, gqlResponse) {
	t.Helper()
	r := s.gql(t, "", loginMutation, map[string]any{"e": email, "p": password})
	var p payload
	if len(r.Errors) == 0 {
		r.decode(t, "login", &p)
	}
	return p, r
}

// reuseRefreshToken signs email in, refreshes, and after the 1 s REFRESH_REUSE_GRACE the
// server was started with presents the first refresh token again, which must be refused as
// REFRESH_TOKEN_REUSED (ending that session).
func (s *testServer) reuseRefreshToken(t testing.TB, email, password string) {
	t.Helper()
	sess, r := s.login(t, email, password)
	expectOK(t, r)
	_, r = s.refresh(t, sess.RefreshToken)
	expectOK(t, r)
	time.Sleep(1100 * time.Millisecond)
	_, r = s.refresh(t, sess.RefreshToken)
	expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_REUSED")
}

func (s *testServer) refresh(t testing.TB, refreshToken string) (payload, gqlResponse) {
	t.Helper()
	r := s.gql(t, "", refreshMutation, map[string]any{"t": refreshToken})
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

// ---- tokens ----

// decodeClaims decodes the claims of a JWT into v without verifying it (the server did).
func decodeClaims(t testing.TB, token string, v any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

// jwtClaims decodes a JWT's claims without verifying it.
func jwtClaims(t testing.TB, token string) map[string]any {
	t.Helper()
	var c map[string]any
	decodeClaims(t, token, &c)
	return c
}

// claimRoles is a JWT's roles claim.
func claimRoles(t testing.TB, token string) []string {
	t.Helper()
	var c struct{ Roles []string }
	decodeClaims(t, token, &c)
	return c.Roles
}

// claimExp is a JWT's expiry.
func claimExp(t testing.TB, token string) time.Time {
	t.Helper()
	var c struct{ Exp int64 }
	decodeClaims(t, token, &c)
	return time.Unix(c.Exp, 0)
}

// ---- raw HTTP, OAuth, /readyz, /metrics ----

// httpResult is a raw HTTP answer.
type httpResult struct {
	status int
	header http.Header
	body   []byte
}

// doRequest sends one request; body may be nil. chunked hides the length so the client uses
// chunked transfer encoding. header may hold several values of a name.
func doRequest(t testing.TB, method, u string, header http.Header, body []byte, chunked bool) httpResult {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
		if chunked {
			rd = struct{ io.Reader }{rd}
		}
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if chunked {
		req.ContentLength = -1
		req.TransferEncoding = []string{"chunked"}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols { // an upgraded connection: nothing to read
		return httpResult{status: resp.StatusCode, header: resp.Header}
	}
	b, _ := io.ReadAll(resp.Body)
	return httpResult{status: resp.StatusCode, header: resp.Header, body: b}
}

func headerOf(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

var jsonHeader = headerOf("Content-Type", "application/json")

// postForm posts a form to path.
func postForm(t testing.TB, u string, form url.Values) httpResult {
	t.Helper()
	return doRequest(t, http.MethodPost, u, headerOf("Content-Type", "application/x-www-form-urlencoded"), []byte(form.Encode()), false)
}

// queryBody builds a POST /query JSON body.
func queryBody(query string, vars map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return b
}

// asGQL decodes a GraphQL answer of a raw response.
func asGQL(t testing.TB, r httpResult) gqlResponse {
	t.Helper()
	var out gqlResponse
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("not a GraphQL JSON answer (status %d): %s", r.status, r.body)
	}
	out.Status, out.Header = r.status, r.header
	return out
}

// get fetches url and returns the status and body.
func get(t testing.TB, url string) (int, string) {
	t.Helper()
	r := doRequest(t, http.MethodGet, url, nil, nil, false)
	return r.status, string(r.body)
}

// jsonObject decodes a JSON object answer; what must be JSON (an OAuth answer) fails the test
// otherwise.
func jsonObject(t testing.TB, r httpResult, what string) map[string]any {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("%s answered %d, not JSON: %s", what, r.status, r.body)
	}
	return body
}

// postFormJSON posts a form to path and decodes the JSON answer (nil when it is not JSON).
func postFormJSON(t testing.TB, s *testServer, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	r := postForm(t, s.URL+path, form)
	var body map[string]any
	_ = json.Unmarshal(r.body, &body)
	return r.status, body
}

// tokenGrant posts a /token password grant, presenting device ("" none), and returns the status
// and the decoded body.
func (s *testServer) tokenGrant(t testing.TB, device, email, password string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}
	h := headerOf("Content-Type", "application/x-www-form-urlencoded")
	if device != "" {
		h.Set(deviceHeader, device)
	}
	r := doRequest(t, http.MethodPost, s.URL+"/token", h, []byte(form.Encode()), false)
	return r.status, jsonObject(t, r, "/token")
}

// readyz returns /readyz's status and body.
func readyz(t testing.TB, s *testServer) (int, map[string]string) {
	t.Helper()
	r := doRequest(t, http.MethodGet, s.URL+"/readyz", nil, nil, false)
	var body map[string]string
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("/readyz body: %v", err)
	}
	return r.status, body
}

func scrapeMetrics(t testing.TB, s *testServer) string {
	t.Helper()
	_, body := get(t, s.URL+"/metrics")
	return body
}

// expectSeries fails the test for each of want (a series and maybe its value) that text, a
// /metrics page, lacks.
func expectSeries(t testing.TB, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("metrics lack %q", w)
		}
	}
}

// metricValue returns the value of the series named exactly (name{labels}), or -1.
func metricValue(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// metric reads one series of s's /metrics.
func metric(t testing.TB, s *testServer, series string) float64 {
	t.Helper()
	v := metricValue(scrapeMetrics(t, s), series)
	if v < 0 {
		t.Fatalf("/metrics has no %s", series)
	}
	return v
}

// waitMetric waits (polling every 2 ms, so a race test sees the moment) for series to reach want.
func waitMetric(t testing.TB, s *testServer, series string, want float64) {
	t.Helper()
	itest.EventuallyEvery(t, 30*time.Second, 2*time.Millisecond, fmt.Sprintf("%s reaches %v", series, want),
		func() bool { return metric(t, s, series) >= want })
}
