package graph

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/99designs/gqlgen/graphql"
)

// The body of a GraphQL response, written without json.Marshal where that is safe. Marshalling
// a graphql.Response re-scans its data (a json.RawMessage the executor has just written) to
// validate and compact it, and copies it twice; for the common answer, data and nothing else,
// the bytes json.Marshal would write are known without that scan: gqlgen's marshallers write
// compact, valid JSON, so compacting changes nothing unless the data holds whitespace, and the
// one thing left to do is json.Marshal's HTML escaping of <, >, & and U+2028/U+2029, which
// json.HTMLEscape does in one pass. Anything else (errors, extensions, data with whitespace in
// it) goes through json.Marshal as before. TestResponseBodyMatchesMarshal and
// FuzzResponseBody hold the two paths to the same bytes.

// Content-Type values, shared: net/http only reads them, and a Header.Add appends to a slice
// of capacity 1 by copying it. Saves an allocation per response.
var contentTypes = map[string][]string{
	mediaJSON:            {mediaJSON},
	mediaGraphQLResponse: {mediaGraphQLResponse},
}

// responseBuffers are reused response bodies; one over maxPooledResponse is left to the GC so
// that a large answer does not pin its memory in the pool.
var responseBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledResponse = 64 << 10

// writeJSON writes v as the response's JSON body with the given media type and status.
func writeJSON(w http.ResponseWriter, media string, status int, v any) {
	buf := responseBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledResponse {
			buf.Reset()
			responseBuffers.Put(buf)
		}
	}()
	if !appendDataOnly(buf, v) {
		b, err := json.Marshal(v)
		if err != nil {
			// Only a resolver's value could fail to marshal, and gqlgen's marshallers made it.
			panic(err)
		}
		buf.Write(b)
	}
	if ct, ok := contentTypes[media]; ok {
		w.Header()["Content-Type"] = ct
	} else {
		w.Header().Set("Content-Type", media)
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// appendDataOnly writes to buf the bytes json.Marshal(v) would, when v is a response holding
// data alone whose data has no whitespace; it reports false, writing nothing, otherwise.
func appendDataOnly(buf *bytes.Buffer, v any) bool {
	r, ok := v.(*graphql.Response)
	if !ok || r == nil || len(r.Errors) > 0 || r.Label != "" || r.Path != nil || r.HasNext != nil || len(r.Extensions) > 0 {
		return false
	}
	switch {
	case r.Data == nil:
		buf.WriteString(`{"data":null}`)
		return true
	case len(r.Data) == 0 || bytes.ContainsAny(r.Data, " \t\r\n"):
		return false // json.Marshal refuses it, or compacts it: leave both to json.Marshal
	}
	buf.WriteString(`{"data":`)
	json.HTMLEscape(buf, r.Data)
	buf.WriteByte('}')
	return true
}
