package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The HTTP transports, POST and GET, as the GraphQL-over-HTTP specification
// (https://graphql.github.io/graphql-over-http/draft/) has them. gqlgen's own transports answer
// a request error (a document that does not parse or validate, variables that do not coerce, a
// limit) with 422 to an application/json client and always write "data": null; the
// specification asks for 200 there, and for 400 without a data entry to an
// application/graphql-response+json client. Decoding the parameters, choosing the media type
// and executing are as gqlgen does them.

// Response media types.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// Codes of the requests that are not GraphQL requests at all (docs/api.md, Errors).
const (
	// CodeBadRequest: the body or the URL is not a GraphQL request (not a JSON object, a
	// batch, no query). Status 400.
	CodeBadRequest = "BAD_REQUEST"
	// CodeMethodNotAllowed: a mutation or subscription over GET, which runs queries only.
	// Status 405.
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"
)

// postTransport runs POST requests with an application/json body.
type postTransport struct{}

var _ graphql.Transport = postTransport{}

func (postTransport) Supports(r *http.Request) bool {
	if r.Method != http.MethodPost || r.Header.Get("Upgrade") != "" {
		return false
	}
	ct := r.Header.Get("Content-Type")
	if ct == mediaJSON { // the usual spelling: what parsing it would answer, without the parse's map
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == mediaJSON
}

func (postTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := responseMediaType(r)
	params := &graphql.RawParams{Headers: r.Header, ReadTime: graphql.TraceTiming{Start: graphql.Now()}}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeNotGraphQL(w, media, http.StatusBadRequest, CodeBadRequest, "the request body could not be read")
		return
	}
	if err := decodeParams(body, params); err != nil {
		writeNotGraphQL(w, media, http.StatusBadRequest, CodeBadRequest, "the body is not a GraphQL request (a JSON object with a query)")
		return
	}
	params.ReadTime.End = graphql.Now()
	serve(r.Context(), w, exec, media, params, false)
}

// getTransport runs queries sent as URL parameters (query, operationName, variables and
// extensions, the last two as JSON).
type getTransport struct{}

var _ graphql.Transport = getTransport{}

func (getTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Upgrade") == ""
}

func (getTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := responseMediaType(r)
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeNotGraphQL(w, media, http.StatusBadRequest, CodeBadRequest, "the URL's parameters could not be decoded")
		return
	}
	params := &graphql.RawParams{
		Query: q.Get("query"), OperationName: q.Get("operationName"), Headers: r.Header,
		ReadTime: graphql.TraceTiming{Start: graphql.Now()},
	}
	for name, into := range map[string]*map[string]any{"variables": &params.Variables, "extensions": &params.Extensions} {
		if v := q.Get(name); v != "" {
			if err := decodeJSON([]byte(v), into); err != nil {
				writeNotGraphQL(w, media, http.StatusBadRequest, CodeBadRequest, name+" is not a JSON object")
				return
			}
		}
	}
	params.ReadTime.End = graphql.Now()
	serve(r.Context(), w, exec, media, params, true)
}

// serve parses, validates and runs params, and writes the answer. queriesOnly refuses other
// operations without running them (GET: a link or an image must not change anything).
func serve(ctx context.Context, w http.ResponseWriter, exec graphql.GraphExecutor, media string, params *graphql.RawParams, queriesOnly bool) {
	if params.Query == "" && params.Extensions["persistedQuery"] == nil {
		writeNotGraphQL(w, media, http.StatusBadRequest, CodeBadRequest, "the request has no query")
		return
	}
	oc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs)
		if errcode.GetErrorKind(errs) != errcode.KindProtocol {
			// Not a request error (a persisted query the server does not know yet): a
			// response like any other, which clients read to retry.
			writeJSON(w, media, http.StatusOK, resp)
			return
		}
		status := http.StatusOK // application/json: 200 to every well-formed request
		if media == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		// Nothing ran, so there is no data entry (GraphQL spec, Response: "If an error was
		// raised before execution begins, the data entry should not be present").
		writeJSON(w, media, status, requestErrors{Errors: resp.Errors, Extensions: resp.Extensions})
		return
	}
	if queriesOnly {
		if op := oc.Doc.Operations.ForName(oc.OperationName); op == nil || op.Operation != ast.Query {
			w.Header().Set("Allow", http.MethodPost)
			writeNotGraphQL(w, media, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "GET runs queries only; send mutations with POST")
			return
		}
	}
	responses, ctx := exec.DispatchOperation(ctx, oc)
	writeJSON(w, media, http.StatusOK, responses(ctx))
}

// requestErrors is the body of a request error: a GraphQL response without data.
type requestErrors struct {
	Errors     gqlerror.List  `json:"errors"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// writeNotGraphQL answers a request that never reached GraphQL (status 4xx) with one error.
func writeNotGraphQL(w http.ResponseWriter, media string, status int, code, message string) {
	writeJSON(w, media, status, requestErrors{Errors: gqlerror.List{{Message: message, Extensions: map[string]any{"code": code}}}})
}

// decodeJSON decodes one JSON value into v, numbers kept as json.Number (gqlgen's coercion
// reads them so, without float rounding).
func decodeJSON(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// responseMediaType is the media type of the answer, from the request's Accept header as
// gqlgen reads it: the first of application/json (also for */* and application/*, and without
// an Accept header, as the specification asks until its watershed) and
// application/graphql-response+json that is listed; application/graphql-response+json when
// neither is.
func responseMediaType(r *http.Request) string {
	accept := r.Header.Get("Accept")
	switch accept {
	case "", "*/*", mediaJSON: // the usual ones, answered as parsing would, without parsing
		return mediaJSON
	case mediaGraphQLResponse:
		return mediaGraphQLResponse
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "*/*", "application/*", mediaJSON:
			return mediaJSON
		case mediaGraphQLResponse:
			return mediaGraphQLResponse
		}
	}
	return mediaGraphQLResponse
}
