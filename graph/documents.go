package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/example/gqlauth/internal/bytelru"
)

// MaxDocumentBytes bounds a GraphQL document. The token limit alone does not bound memory: a
// string literal of any length is one token.
const MaxDocumentBytes = 64 << 10

// The caches' default byte bounds, 7 MiB in all. A parsed document costs 1 to ~80 times its
// source (docCost), a typical operation of a few hundred bytes ~5 KB: the query cache holds
// some 800 of them. A persisted query costs its length.
const (
	DefaultQueryCacheBytes = 4 << 20
	DefaultAPQCacheBytes   = 2 << 20
	DefaultLimitsMemoBytes = 1 << 20
)

// CodeDocumentTooLarge is the extensions.code of a document over MaxDocumentBytes.
const CodeDocumentTooLarge = "DOCUMENT_TOO_LARGE"

func init() {
	// A request error, answered like a parse failure (httptransport.go): no data, 400 to
	// application/graphql-response+json, an "error" message over WebSocket.
	errcode.RegisterErrorType(CodeDocumentTooLarge, errcode.KindProtocol)
}

// documentSizeLimit refuses an oversized document. It must be Used before the APQ extension:
// operation parameter mutators run in order, before gqlgen parses (and caches) the document.
type documentSizeLimit struct{ max int }

func (documentSizeLimit) ExtensionName() string                   { return "DocumentSizeLimit" }
func (documentSizeLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (l documentSizeLimit) MutateOperationParameters(_ context.Context, p *graphql.RawParams) *gqlerror.Error {
	if len(p.Query) <= l.max {
		return nil
	}
	err := gqlerror.Errorf("the document is %d bytes; the limit is %d", len(p.Query), l.max)
	errcode.Set(err, CodeDocumentTooLarge)
	return err
}

// gqlCache adapts a bytelru.Cache to gqlgen's graphql.Cache.
type gqlCache[T any] struct{ c *bytelru.Cache[string, T] }

func (g gqlCache[T]) Get(_ context.Context, key string) (T, bool) { return g.c.Get(key) }
func (g gqlCache[T]) Add(_ context.Context, key string, v T)      { g.c.Add(key, v) }

// newQueryCache is gqlgen's parsed-document cache. gqlgen adds a document only once it parsed
// and validated.
func newQueryCache(maxBytes int) gqlCache[*ast.QueryDocument] {
	return gqlCache[*ast.QueryDocument]{bytelru.New(maxBytes, docCost)}
}

// persistedQueries is the cache of gqlgen's AutomaticPersistedQuery extension, which adds a
// query sent with its hash before the document is even parsed: any string a client sends
// would be kept. So Add only notes the registration on the operation, and commit, an
// operation context mutator Used after the limits, stores it once the document parsed,
// validated, and passed every limit.
type persistedQueries struct {
	c *bytelru.Cache[string, string]
}

const pendingAPQ = "gqlauth.pendingPersistedQuery" // the operation's Stats extension

type apqRegistration struct{ hash, query string }

func newPersistedQueries(maxBytes int) *persistedQueries {
	return &persistedQueries{bytelru.New(maxBytes, func(hash, query string) int { return len(hash) + len(query) })}
}

func (p *persistedQueries) Get(_ context.Context, hash string) (string, bool) { return p.c.Get(hash) }

func (p *persistedQueries) Add(ctx context.Context, hash, query string) {
	if !graphql.HasOperationContext(ctx) {
		return // not called so by gqlgen; a registration without an operation is dropped
	}
	graphql.GetOperationContext(ctx).Stats.SetExtension(pendingAPQ, apqRegistration{hash, query})
}

// commit is the operation context mutator that stores the operation's pending registration.
func (p *persistedQueries) commit() graphql.HandlerExtension { return apqCommit{p} }

type apqCommit struct{ p *persistedQueries }

func (apqCommit) ExtensionName() string                   { return "PersistedQueryCommit" }
func (apqCommit) Validate(graphql.ExecutableSchema) error { return nil }

func (a apqCommit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if r, ok := oc.Stats.GetExtension(pendingAPQ).(apqRegistration); ok {
		a.p.c.Add(r.hash, r.query)
	}
	return nil
}
