package graph

import (
	"context"
	"strings"
	"testing"
)

// TestLimits: each limit refuses a document one step over it with its code, before anything
// runs, and lets the document at the limit through. Small limits keep the documents short.
func TestLimits(t *testing.T) {
	a := newTestAPI(t, func(c *apiConfig) {
		c.graph.Limits = Limits{Tokens: 40, Depth: 3, Complexity: 5, Aliases: 2}
	})
	// The register mutation itself is over these limits: the service signs the user up.
	ada, err := a.svc.Register(context.Background(), "ada@example.com", testPassword)
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, atLimit, overLimit, code string
	}{
		// me { id } is depth 2; a fragment cannot hide a level.
		{"depth", `{ __schema { types { name } } }`, `{ __schema { types { fields { name } } } }`, "DEPTH_LIMIT_EXCEEDED"},
		{"depth through a fragment", `{ ...F } fragment F on Query { __schema { types { name } } }`,
			`{ ...F } fragment F on Query { __schema { types { fields { name } } } }`, "DEPTH_LIMIT_EXCEEDED"},
		{"aliases", `{ me { a: id b: id } }`, `{ me { a: id b: id c: id } }`, "ALIAS_LIMIT_EXCEEDED"},
		// Each field counts 1.
		{"complexity", `{ me { id email roles createdAt } }`, `{ me { id email roles createdAt disabled } }`, "COMPLEXITY_LIMIT_EXCEEDED"},
		// Counted by the lexer, before validation: 40 tokens pass, 41 do not.
		{"tokens", "{ me { id " + strings.Repeat("id ", 34) + "} }", "{ me { id " + strings.Repeat("id ", 35) + "} }", "GRAPHQL_PARSE_FAILED"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ok := a.post(t, gqlRequest{Query: c.atLimit, Token: ada.AccessToken})
			for _, e := range ok.Errors {
				if e.Extensions["code"] == c.code {
					t.Fatalf("at the limit: refused, HTTP %d %s", ok.Status, ok.Body)
				}
			}
			e := a.refusal(t, ada.AccessToken, c.overLimit, nil)
			wantError(t, e, c.code, "", nil)
		})
	}
}

// TestDocumentSizeLimit: a document over MaxDocumentBytes is refused before it is parsed.
func TestDocumentSizeLimit(t *testing.T) {
	a := newTestAPI(t)
	query := "{ me { id } }" + strings.Repeat(" ", MaxDocumentBytes)
	wantError(t, a.refusal(t, "", query, nil), CodeDocumentTooLarge, "", nil)
}

// TestProductionIntrospection: production refuses introspection; development answers it.
func TestProductionIntrospection(t *testing.T) {
	const q = `{ __schema { queryType { name } } }`
	dev := newTestAPI(t)
	dev.query(t, "", q, nil, nil)
	prod := newTestAPI(t, func(c *apiConfig) { c.graph.Production = true })
	wantError(t, prod.refusal(t, "", q, nil), "GRAPHQL_VALIDATION_FAILED", "", nil)
}
