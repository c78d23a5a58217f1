package graph

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/authtest"
)

// FuzzHTTPTransports: whatever the body of a POST or the URL parameters of a GET, and whatever
// the Accept header, the transports answer 200, 400 or 405 with a JSON object that has errors
// or data, never a 5xx; a request error (no data) never answers 200 to
// application/graphql-response+json.
func FuzzHTTPTransports(f *testing.F) {
	env := authtest.New(f)
	h := NewHandler(Options{Auth: env.Service, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, seed := range []struct{ body, query, accept string }{
		{`{"query":"{ __typename }"}`, "query=%7B+__typename+%7D", ""},
		{`{"query":"{"}`, "query=%7B", mediaGraphQLResponse},
		{`{"query":"query($id: ID!){ __typename }","variables":{"id":null}}`, "query=query%28%24id%3A+ID%21%29%7B+__typename+%7D&variables=%7B%22id%22%3Anull%7D", mediaJSON},
		{`[{"query":"{ __typename }"}]`, "variables=%5B%5D", "*/*"},
		{`{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"00"}}}`, "extensions=%7B%22persistedQuery%22%3A%7B%7D%7D", "text/html"},
		{`{"query":"mutation { logout }"}`, "query=mutation+%7B+logout+%7D", mediaGraphQLResponse + ", application/json;q=0.5"},
		{`{ "not a JSON`, "%zz", "application/*"},
		{`{"query":"{ __typename }","variables":"x","operationName":7}`, "query=&operationName=X", ""},
	} {
		f.Add([]byte(seed.body), seed.query, seed.accept)
	}
	f.Fuzz(func(t *testing.T, body []byte, rawQuery, accept string) {
		if len(body) > 8<<10 || len(rawQuery) > 8<<10 {
			return // the document limits are tested elsewhere; keep each run cheap
		}
		post := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(string(body)))
		post.Header.Set("Content-Type", "application/json")
		get := httptest.NewRequest(http.MethodGet, "/query", nil)
		get.URL.RawQuery = rawQuery
		for _, r := range []*http.Request{post, get} {
			if accept != "" {
				r.Header.Set("Accept", accept)
			}
			w := httptest.NewRecorder()
			done := make(chan struct{})
			go func() { defer close(done); h.ServeHTTP(w, r) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second): // a hang is a failure, and its input is kept
				t.Fatalf("%s: no answer within 5 s (body %q, query %q, accept %q)", r.Method, body, rawQuery, accept)
			}
			var resp map[string]json.RawMessage
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
				t.Fatalf("%s: HTTP %d, not a JSON object: %q", r.Method, w.Code, w.Body.String())
			}
			_, hasData := resp["data"]
			_, hasErrors := resp["errors"]
			switch {
			case w.Code != http.StatusOK && w.Code != http.StatusBadRequest && w.Code != http.StatusMethodNotAllowed:
				t.Fatalf("%s: HTTP %d %s", r.Method, w.Code, w.Body.String())
			case !hasData && !hasErrors:
				t.Fatalf("%s: HTTP %d with neither data nor errors: %s", r.Method, w.Code, w.Body.String())
			case !hasData && w.Code == http.StatusOK && w.Header().Get("Content-Type") == mediaGraphQLResponse:
				t.Fatalf("%s: a request error answered 200 to %s: %s", r.Method, mediaGraphQLResponse, w.Body.String())
			case hasData && w.Code != http.StatusOK:
				t.Fatalf("%s: HTTP %d with data: %s", r.Method, w.Code, w.Body.String())
			}
		}
	})
}
