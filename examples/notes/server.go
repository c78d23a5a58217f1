package main

import (
	"context"
	"net/http"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/example/gqlauth/examples/notes/graph"
	"github.com/example/gqlauth/verify"
)

type serverOptions struct {
	listen string
	verify verify.Options
}

// newServer is the whole service: the verifier, the GraphQL handler with the @auth directive,
// and Identify in front of it, which records each request's verified claims (or why there are
// none) for the directive.
func newServer(ctx context.Context, o verify.Options) (http.Handler, func(), error) {
	v, err := verify.New(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	gql := handler.New(graph.NewExecutableSchema(graph.Config{
		Resolvers:  &graph.Resolver{},
		Directives: graph.DirectiveRoot{Auth: graph.Auth},
	}))
	gql.AddTransport(transport.POST{})
	mux := http.NewServeMux()
	mux.Handle("POST /query", v.Identify(gql))
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !v.Ready() { // keys not loaded, or the revocation feed not caught up / stale
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	return mux, v.Close, nil
}
