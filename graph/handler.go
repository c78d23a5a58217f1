package graph

import (
	"log/slog"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/example/gqlauth/auth"
)

// Limits bound the work one GraphQL request may ask for.
type Limits struct {
	Tokens     int // lexical tokens per document, refused before validation; 2000
	Depth      int // selection nesting, introspection included; 20
	Complexity int // gqlgen complexity; 1000
	Aliases    int // aliased fields per document; 100
}

// Options configure the GraphQL handler.
type Options struct {
	Auth   *auth.Service
	Events *auth.EventBus
	Logger *slog.Logger
	// Production refuses introspection and strips "Did you mean" suggestions.
	Production bool
	Limits     Limits
	// The caches' bounds in bytes (0: the defaults): parsed documents, persisted queries,
	// and the memo of the limits.
	QueryCacheBytes int
	APQCacheBytes   int
	LimitsMemoBytes int
	// OperationsPerSocket bounds the operations one WebSocket runs at once (100);
	// SocketsPerUser the WebSockets one user holds open on this instance (20).
	OperationsPerSocket int
	SocketsPerUser      int
	// AllowedOrigins are the browser origins (CORS_ALLOWED_ORIGINS) allowed to open a WebSocket
	// besides the server's own.
	AllowedOrigins []string
	// ObserveOperation, when set, receives each operation's duration (metrics).
	ObserveOperation OperationObserver
}

// NewHandler builds the GraphQL endpoint: explicit transports (JSON POST, GET for queries,
// WebSocket for subscriptions; no form or multipart POST, so a browser form cannot post a
// mutation), limits, caches and the error presenter.
func NewHandler(o Options) http.Handler {
	srv, ws := newServer(o)
	return requireJSONPost(withConnHolder(srv, ws))
}

// newServer is the gqlgen server alone, and its WebSocket transport; a WebSocket it accepts is
// served only inside withConnHolder, which lets its watcher close it.
func newServer(o Options) (*handler.Server, graphql.Transport) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	l := o.Limits
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.Tokens, 2000)
	def(&l.Depth, 20)
	def(&l.Complexity, 1000)
	def(&l.Aliases, 100)
	def(&o.QueryCacheBytes, DefaultQueryCacheBytes)
	def(&o.APQCacheBytes, DefaultAPQCacheBytes)
	def(&o.LimitsMemoBytes, DefaultLimitsMemoBytes)
	def(&o.OperationsPerSocket, 100)
	def(&o.SocketsPerUser, 20)

	present := errorPresenter(o.Logger, o.Production)
	cfg := Config{Resolvers: &Resolver{Auth: o.Auth, Events: o.Events, Logger: o.Logger}}
	cfg.Directives.Auth = authDirective(o.Auth)
	srv := handler.New(NewExecutableSchema(cfg))

	srv.AddTransport(transport.Options{})
	srv.AddTransport(getTransport{}) // httptransport.go: GraphQL over HTTP's status codes
	srv.AddTransport(postTransport{})
	ws := newWebsocketTransport(o.Auth, o.AllowedOrigins,
		socketLimits{operationsPerSocket: o.OperationsPerSocket, socketsPerUser: o.SocketsPerUser})
	srv.AddTransport(ws)

	// Order matters. Parameter mutators run first, in the order Used: the size limit before
	// the persisted queries, so an oversized document is neither registered nor parsed. Then
	// gqlgen parses and validates, caching only documents that pass; then the context
	// mutators: the limits, and last the commit of a persisted query's registration.
	srv.SetParserTokenLimit(l.Tokens)
	srv.SetQueryCache(newQueryCache(o.QueryCacheBytes))
	apq := newPersistedQueries(o.APQCacheBytes)
	srv.Use(documentSizeLimit{max: MaxDocumentBytes})
	srv.Use(extension.AutomaticPersistedQuery{Cache: apq})
	srv.Use(newLimits(l.Complexity, shapeLimit{maxDepth: l.Depth, maxAliases: l.Aliases}, o.LimitsMemoBytes))
	srv.Use(apq.commit())
	if o.Production {
		srv.SetDisableSuggestion(true)
		srv.SetValidationRulesFn(productionRules)
	} else {
		srv.Use(extension.Introspection{})
	}
	srv.SetErrorPresenter(present)
	srv.SetRecoverFunc(recoverFunc(o.Logger))
	srv.AroundOperations(observeOperations(o.ObserveOperation))
	return srv, ws
}
