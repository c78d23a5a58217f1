package graph

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// responseBodySeeds are data the fast path writes (and some it leaves to json.Marshal).
var responseBodySeeds = []string{
	`{"__typename":"Query"}`,
	`{"me":{"id":"u1","email":"ada@example.com","roles":["USER"]}}`,
	`{"s":"<script>&amp;</script>"}`,
	"{\"s\":\"\u2028\u2029\"}",
	`{"s":"with spaces"}`,
	"{ \"a\" : [1, 2]\n}",
	`{"s":"\u003c\"\\"}`,
	`null`, `[]`, `{}`,
}

// TestResponseBodyMatchesMarshal: writeJSON writes exactly what json.Marshal writes, for data
// alone (the fast path) and for everything else (json.Marshal itself).
func TestResponseBodyMatchesMarshal(t *testing.T) {
	yes := true
	var cases []any
	for _, d := range responseBodySeeds {
		cases = append(cases, &graphql.Response{Data: json.RawMessage(d)})
	}
	cases = append(cases,
		&graphql.Response{},
		&graphql.Response{Data: json.RawMessage(`{"a":1}`), Errors: gqlerror.List{{Message: "m"}}},
		&graphql.Response{Data: json.RawMessage(`{"a":1}`), Extensions: map[string]any{"k": "<v>"}},
		&graphql.Response{Data: json.RawMessage(`{"a":1}`), Label: "l", HasNext: &yes},
		requestErrors{Errors: gqlerror.List{{Message: "m", Extensions: map[string]any{"code": CodeBadRequest}}}},
	)
	for _, v := range cases {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, media := range []string{mediaJSON, mediaGraphQLResponse} {
			rec := httptest.NewRecorder()
			writeJSON(rec, media, 200, v)
			if got := rec.Body.Bytes(); !bytes.Equal(got, want) {
				t.Errorf("writeJSON(%#v) = %s, json.Marshal = %s", v, got, want)
			}
			if ct := rec.Header().Values("Content-Type"); len(ct) != 1 || ct[0] != media {
				t.Errorf("Content-Type = %q, want %q", ct, media)
			}
		}
	}
}

// TestResponseBodyMediaTypeNotShared: a handler adding to the Content-Type of one response
// does not change another's (the values are shared between responses).
func TestResponseBodyMediaTypeNotShared(t *testing.T) {
	a := httptest.NewRecorder()
	writeJSON(a, mediaJSON, 200, &graphql.Response{})
	a.Header().Add("Content-Type", "x")
	b := httptest.NewRecorder()
	writeJSON(b, mediaJSON, 200, &graphql.Response{})
	if ct := b.Header().Values("Content-Type"); len(ct) != 1 || ct[0] != mediaJSON {
		t.Errorf("Content-Type = %q, want %q", ct, mediaJSON)
	}
}

// FuzzResponseBody: for any valid JSON data, the fast path and json.Marshal agree byte for byte.
func FuzzResponseBody(f *testing.F) {
	for _, s := range responseBodySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return // gqlgen's marshallers write valid JSON only
		}
		v := &graphql.Response{Data: data}
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if appendDataOnly(&buf, v) && !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("fast path %q, json.Marshal %q", buf.Bytes(), want)
		}
	})
}
