package graph

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// answer is what the GraphQL-over-HTTP specification fixes of a response: its status, its
// media type, whether it has a data entry, and (for an error) the first error's code.
type answer struct {
	status  int
	media   string
	hasData bool
	code    string // "" when there is no error
}

func answerOf(r gqlResult) answer {
	a := answer{status: r.Status, media: r.Header.Get("Content-Type"), hasData: r.HasData}
	if len(r.Errors) > 0 {
		a.code, _ = r.Errors[0].Extensions["code"].(string)
	}
	return a
}

func body(t *testing.T, query string, vars map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGraphQLOverHTTPStatus: the status codes and bodies of the GraphQL-over-HTTP
// specification, for both response media types. A request error (the document does not parse
// or validate, the variables do not coerce, a limit) has no data entry and answers 200 to
// application/json and 400 to application/graphql-response+json; a request that ran answers
// 200 with data, errors or not; a body that is not a GraphQL request answers 400 to both.
func TestGraphQLOverHTTPStatus(t *testing.T) {
	a := newTestAPI(t, func(c *apiConfig) { c.graph.Limits.Depth = 3 })
	coerce := body(t, loginQuery, map[string]any{"e": nil, "p": "x"})
	const (
		ok     = `{"query":"{ __typename }"}`
		parse  = `{"query":"{"}`
		valid  = `{"query":"{ nosuchfield }"}`
		unused = `{"query":"query CoerceFailure($id: ID!){ __typename }","variables":{"id":null}}`
		deep   = `{"query":"{ __schema { types { fields { name } } } }"}`
		field  = `{"query":"{ me { id } }"}`
	)
	for _, c := range []struct {
		name, body     string
		json, response answer // Accept: application/json, Accept: application/graphql-response+json
	}{
		{"ran", ok, answer{200, mediaJSON, true, ""}, answer{200, mediaGraphQLResponse, true, ""}},
		{"field error", field, answer{200, mediaJSON, true, CodeUnauthenticated}, answer{200, mediaGraphQLResponse, true, CodeUnauthenticated}},
		{"parse failure", parse, answer{200, mediaJSON, false, "GRAPHQL_PARSE_FAILED"}, answer{400, mediaGraphQLResponse, false, "GRAPHQL_PARSE_FAILED"}},
		{"validation failure", valid, answer{200, mediaJSON, false, "GRAPHQL_VALIDATION_FAILED"}, answer{400, mediaGraphQLResponse, false, "GRAPHQL_VALIDATION_FAILED"}},
		{"unused variable", unused, answer{200, mediaJSON, false, "GRAPHQL_VALIDATION_FAILED"}, answer{400, mediaGraphQLResponse, false, "GRAPHQL_VALIDATION_FAILED"}},
		{"variable coercion", coerce, answer{200, mediaJSON, false, "GRAPHQL_VALIDATION_FAILED"}, answer{400, mediaGraphQLResponse, false, "GRAPHQL_VALIDATION_FAILED"}},
		{"limit", deep, answer{200, mediaJSON, false, "DEPTH_LIMIT_EXCEEDED"}, answer{400, mediaGraphQLResponse, false, "DEPTH_LIMIT_EXCEEDED"}},
		{"not JSON", `{ "not a JSON`, answer{400, mediaJSON, false, CodeBadRequest}, answer{400, mediaGraphQLResponse, false, CodeBadRequest}},
		{"batch", `[` + ok + `]`, answer{400, mediaJSON, false, CodeBadRequest}, answer{400, mediaGraphQLResponse, false, CodeBadRequest}},
		{"no query", `{"qeury":"{ __typename }"}`, answer{400, mediaJSON, false, CodeBadRequest}, answer{400, mediaGraphQLResponse, false, CodeBadRequest}},
		{"variables not a map", `{"query":"{ __typename }","variables":"x"}`, answer{400, mediaJSON, false, CodeBadRequest}, answer{400, mediaGraphQLResponse, false, CodeBadRequest}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := answerOf(a.postRaw(t, c.body, "", mediaJSON)); got != c.json {
				t.Errorf("application/json: %+v, want %+v", got, c.json)
			}
			if got := answerOf(a.postRaw(t, c.body, "", mediaGraphQLResponse)); got != c.response {
				t.Errorf("application/graphql-response+json: %+v, want %+v", got, c.response)
			}
		})
	}
}

// TestResponseMediaType: the Accept header chooses the media type as gqlgen's transports did:
// application/json without one and for */*, the first supported type listed otherwise.
func TestResponseMediaType(t *testing.T) {
	a := newTestAPI(t)
	for accept, want := range map[string]string{
		"":                                   mediaJSON,
		"*/*":                                mediaJSON,
		"application/*":                      mediaJSON,
		"text/html, application/json":        mediaJSON,
		mediaGraphQLResponse:                 mediaGraphQLResponse,
		mediaGraphQLResponse + ", */*;q=0.1": mediaGraphQLResponse,
		"application/json; charset=utf-8":    mediaJSON,
	} {
		r := a.postRaw(t, `{"query":"{ __typename }"}`, "", accept)
		if r.Status != 200 || r.Header.Get("Content-Type") != want {
			t.Errorf("Accept %q: %d %q, want 200 %q", accept, r.Status, r.Header.Get("Content-Type"), want)
		}
	}
}

// TestGetRunsQueriesOnly: GET runs a query; a mutation is refused with 405 and Allow: POST
// before it runs (the account it would register does not exist afterwards); malformed
// parameters are 400.
func TestGetRunsQueriesOnly(t *testing.T) {
	a := newTestAPI(t)
	r := a.get(t, url.Values{"query": {"{ __typename }"}}, "")
	if answerOf(r) != (answer{200, mediaJSON, true, ""}) || string(r.Data) != `{"__typename":"Query"}` {
		t.Fatalf("GET query: %d %s", r.Status, r.Body)
	}
	register := `mutation { register(input: {email: "get@example.com", password: "` + testPassword + `"}) { accessToken } }`
	for _, params := range []url.Values{
		{"query": {register}},
		{"query": {"query Q { __typename } mutation M " + register[len("mutation "):]}, "operationName": {"M"}},
	} {
		r := a.get(t, params, "")
		if got := answerOf(r); got != (answer{405, mediaJSON, false, CodeMethodNotAllowed}) || r.Header.Get("Allow") != http.MethodPost {
			t.Errorf("GET mutation %v: %+v Allow %q %s", params, got, r.Header.Get("Allow"), r.Body)
		}
	}
	e := a.refusal(t, "", loginQuery, map[string]any{"e": "get@example.com", "p": testPassword})
	wantError(t, e, CodeUnauthenticated, "reason", "INVALID_CREDENTIALS")

	for _, params := range []url.Values{
		{"query": {"{ __typename }"}, "variables": {"{not json"}},
		{"query": {"{ __typename }"}, "extensions": {"[]"}},
		{},
	} {
		if got := answerOf(a.get(t, params, "")); got != (answer{400, mediaJSON, false, CodeBadRequest}) {
			t.Errorf("GET %v: %+v", params, got)
		}
	}
	if got := answerOf(a.get(t, url.Values{"query": {"{"}}, mediaGraphQLResponse)); got != (answer{400, mediaGraphQLResponse, false, "GRAPHQL_PARSE_FAILED"}) {
		t.Errorf("GET parse failure: %+v", got)
	}
}

// TestUnknownPersistedQueryIsNoRequestError: a persisted query's hash the server does not
// know answers 200 with PERSISTED_QUERY_NOT_FOUND to both media types, which clients read to
// send the document with it.
func TestUnknownPersistedQueryIsNoRequestError(t *testing.T) {
	a := newTestAPI(t)
	const hashOnly = `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"}}}`
	for _, accept := range []string{mediaJSON, mediaGraphQLResponse} {
		r := a.postRaw(t, hashOnly, "", accept)
		if got := answerOf(r); got.status != 200 || got.code != "PERSISTED_QUERY_NOT_FOUND" {
			t.Errorf("%s: %+v %s", accept, got, r.Body)
		}
	}
}
