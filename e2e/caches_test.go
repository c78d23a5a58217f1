package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/graph"
)

// bigDoc is a valid query of exactly n bytes: one string literal argument makes up the size,
// so the document stays a handful of tokens whatever n is. i makes each document distinct.
func bigDoc(i, n int) string {
	head, tail := fmt.Sprintf(`query Q%d { __type(name: "`, i), `") { name } }`
	return head + strings.Repeat("U", n-len(head)-len(tail)) + tail
}

// apqBody registers query as an automatic persisted query (the query and its hash).
func apqBody(query string) []byte {
	sum := sha256.Sum256([]byte(query))
	b, _ := json.Marshal(map[string]any{"query": query, "extensions": map[string]any{
		"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}})
	return b
}

// apqHashOnly asks for a persisted query by its hash alone.
func apqHashOnly(query string) []byte {
	sum := sha256.Sum256([]byte(query))
	b, _ := json.Marshal(map[string]any{"extensions": map[string]any{
		"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}})
	return b
}

// liveHeap is the heap in use after a full collection (the server runs in this process).
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC() // the first may leave finalizer-held objects for the second
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestDocumentSizeLimit: a document of more than 64 KiB is refused before it is parsed or
// registered as a persisted query, over POST, GET and WebSocket alike, with
// DOCUMENT_TOO_LARGE and the HTTP status of a parse failure; one of exactly 64 KiB runs.
func TestDocumentSizeLimit(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	q := s.URL + "/query"
	const limit = 64 << 10
	graphQLResponse := headerOf("Content-Type", "application/json", "Accept", "application/graphql-response+json")
	parseFailure := doRequest(t, http.MethodPost, q, jsonHeader, queryBody("{", nil), false).status
	parseFailureGR := doRequest(t, http.MethodPost, q, graphQLResponse, queryBody("{", nil), false).status
	if parseFailure >= 500 || parseFailureGR < 400 || parseFailureGR >= 500 {
		t.Fatalf("a parse failure answers %d, %d with graphql-response+json", parseFailure, parseFailureGR)
	}

	tooLarge := func(t *testing.T, what string, r httpResult, wantStatus int) {
		t.Helper()
		g := asGQL(t, r)
		if r.status != wantStatus || g.code() != "DOCUMENT_TOO_LARGE" || g.Data != nil {
			t.Errorf("%s: status %d code %q data %v, want %d DOCUMENT_TOO_LARGE without data: %.300s", what, r.status, g.code(), g.Data, wantStatus, r.body)
		}
	}

	t.Run("POST", func(t *testing.T) {
		r := doRequest(t, http.MethodPost, q, jsonHeader, queryBody(bigDoc(0, limit), nil), false)
		if g := asGQL(t, r); r.status != http.StatusOK || len(g.Errors) > 0 || string(g.Data["__type"]) != "null" {
			t.Fatalf("a document of exactly 64 KiB: %d %.300s", r.status, r.body)
		}
		for _, n := range []int{limit + 1, 1_000_000} {
			tooLarge(t, fmt.Sprint(n, " bytes"), doRequest(t, http.MethodPost, q, jsonHeader, queryBody(bigDoc(1, n), nil), false), parseFailure)
		}
		tooLarge(t, "graphql-response+json", doRequest(t, http.MethodPost, q, graphQLResponse, queryBody(bigDoc(2, limit+1), nil), false), parseFailureGR)
	})

	t.Run("GET", func(t *testing.T) {
		// Just over the limit still fits in the server's header limit (64 KiB + Go's slack).
		r := doRequest(t, http.MethodGet, q+"?query="+url.QueryEscape(bigDoc(3, limit+100)), nil, nil, false)
		tooLarge(t, "GET", r, parseFailure)
	})

	t.Run("persisted query", func(t *testing.T) {
		doc := bigDoc(4, limit+1)
		tooLarge(t, "registration", doRequest(t, http.MethodPost, q, jsonHeader, apqBody(doc), false), parseFailure)
		r := asGQL(t, doRequest(t, http.MethodPost, q, jsonHeader, apqHashOnly(doc), false))
		if r.code() != "PERSISTED_QUERY_NOT_FOUND" {
			t.Errorf("a refused document was registered: %+v", r.Errors)
		}
	})

	t.Run("WebSocket", func(t *testing.T) {
		c := dialSignedInWS(t, s, s.register(t, "ws-size@example.com").AccessToken)
		c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": bigDoc(5, 100_000)}})
		m, err := c.next(5 * time.Second)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		payload, _ := json.Marshal(m["payload"])
		if m["type"] != "error" || !strings.Contains(string(payload), `"code":"DOCUMENT_TOO_LARGE"`) {
			t.Fatalf("want an error DOCUMENT_TOO_LARGE, got %s %s", m["type"], payload)
		}
		// The socket still works.
		c.send(map[string]any{"id": "2", "type": "subscribe", "payload": map[string]any{"query": "{ __typename }"}})
		for {
			m, err := c.next(5 * time.Second)
			if err != nil {
				t.Fatalf("after the refusal: %v", err)
			}
			if m["id"] == "2" {
				if m["type"] != "next" {
					t.Fatalf("after the refusal: %v", m)
				}
				break
			}
		}
	})
}

// dialSignedInWS opens a graphql-transport-ws socket and signs it in with token.
func dialSignedInWS(t *testing.T, s *testServer, token string) *wsClient {
	t.Helper()
	c := dialWS(t, s, "graphql-transport-ws")
	c.init(token)
	return c
}

// TestPersistedQueryNeedsValidDocument: a persisted query is registered only once its
// document parsed and validated; asking for the hash of one that failed finds nothing.
func TestPersistedQueryNeedsValidDocument(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	q := s.URL + "/query"
	for _, doc := range []string{`{ nope }`, `{ __typename`, `query($x: Int) { __typename }`, `{ __type(name: "User") { ` + strings.Repeat("ofType { ", 30) + "name" + strings.Repeat(" }", 30) + ` } }`} {
		r := asGQL(t, doRequest(t, http.MethodPost, q, jsonHeader, apqBody(doc), false))
		if len(r.Errors) == 0 {
			t.Fatalf("%q: accepted", doc)
		}
		if r := asGQL(t, doRequest(t, http.MethodPost, q, jsonHeader, apqHashOnly(doc), false)); r.code() != "PERSISTED_QUERY_NOT_FOUND" {
			t.Errorf("%q failed but was registered: %+v", doc, r.Errors)
		}
	}
	// A valid one is registered and runs by its hash.
	doc := `{ __typename }`
	expectOK(t, asGQL(t, doRequest(t, http.MethodPost, q, jsonHeader, apqBody(doc), false)))
	if r := asGQL(t, doRequest(t, http.MethodPost, q, jsonHeader, apqHashOnly(doc), false)); len(r.Errors) > 0 || string(r.Data["__typename"]) != `"Query"` {
		t.Errorf("registered query by hash: %+v", r.Errors)
	}
}

// TestQueryCachesBoundedInBytes: documents just under the size limit, persisted-query
// registrations (valid and invalid ones) and documents over the limit grow the server's heap
// by no more than its caches' byte bounds, plus slack for everything else.
//
// Not parallel: it reads the heap of the whole test process.
func TestQueryCachesBoundedInBytes(t *testing.T) {
	s := startServer(t, nil)
	q := s.URL + "/query"
	const near = 60 << 10
	post := func(body []byte) gqlResponse {
		return asGQL(t, doRequest(t, http.MethodPost, q, jsonHeader, body, false))
	}
	// Warm up every path once (connections, pools, the schema's lazily built parts).
	post(queryBody(bigDoc(-1, 1000), nil))
	post(apqBody(bigDoc(-2, 1000)))
	post(queryBody(bigDoc(-3, 100_000), nil))
	before := liveHeap()

	for i := range 150 { // plain documents, each run once
		if r := post(queryBody(bigDoc(i, near), nil)); len(r.Errors) > 0 {
			t.Fatalf("document %d: %+v", i, r.Errors)
		}
	}
	for i := range 60 { // persisted-query registrations
		if r := post(apqBody(bigDoc(1000+i, near))); len(r.Errors) > 0 {
			t.Fatalf("registration %d: %+v", i, r.Errors)
		}
	}
	for i := range 40 { // registrations of documents that do not validate
		doc := strings.Replace(bigDoc(2000+i, near), "{ name }", "{ nope }", 1)
		if r := post(apqBody(doc)); len(r.Errors) == 0 {
			t.Fatalf("invalid registration %d accepted", i)
		}
	}
	for i := range 10 { // documents of 1 MB, as plain queries and as registrations
		post(queryBody(bigDoc(3000+i, 1_000_000), nil))
		post(apqBody(bigDoc(4000+i, 1_000_000)))
	}
	after := liveHeap()

	growth := int64(after) - int64(before)
	const slack = 4 << 20 // connections, the logger, the other allocations of 270 requests
	bound := int64(graph.DefaultQueryCacheBytes + graph.DefaultAPQCacheBytes + graph.DefaultLimitsMemoBytes + slack)
	t.Logf("heap %.1f MiB → %.1f MiB (%+.1f MiB; bound %.1f MiB)", mib(before), mib(after), float64(growth)/(1<<20), float64(bound)/(1<<20))
	if growth > bound {
		t.Errorf("the heap grew by %.1f MiB, more than the caches' bounds plus slack (%.1f MiB)", float64(growth)/(1<<20), float64(bound)/(1<<20))
	}
	// The caches still work: the last registration runs by its hash.
	if r := post(apqHashOnly(bigDoc(1059, near))); len(r.Errors) > 0 {
		t.Errorf("recent persisted query: %+v", r.Errors)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
