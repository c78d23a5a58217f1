package graph

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/example/gqlauth/internal/reqmeta"
	"github.com/vektah/gqlparser/v2/ast"
)

// OperationObserver receives the duration of each query and mutation, labelled by operation
// type and first root field: names from the schema, so the label set stays bounded whatever
// operation names clients make up.
type OperationObserver func(opType, rootField string, failed bool, d time.Duration)

// observeOperations notes each operation's type and first root field in the request's metadata
// (subscriptions included: the access log records them), and feeds observe (may be nil) the
// duration of queries and mutations. One middleware for both: every layer costs allocations on
// each request.
func observeOperations(observe OperationObserver) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		oc := graphql.GetOperationContext(ctx)
		if oc.Operation == nil {
			return next(ctx)
		}
		opType, root := string(oc.Operation.Operation), rootField(oc.Operation.SelectionSet)
		reqmeta.NoteOperation(ctx, opType, root)
		if observe == nil || oc.Operation.Operation == ast.Subscription {
			return next(ctx)
		}
		start := time.Now()
		handler := next(ctx)
		return func(ctx context.Context) *graphql.Response {
			resp := handler(ctx)
			observe(opType, root, resp != nil && len(resp.Errors) > 0, time.Since(start))
			return resp
		}
	}
}

func rootField(set ast.SelectionSet) string {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			return s.Name
		case *ast.InlineFragment:
			return rootField(s.SelectionSet)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				return rootField(s.Definition.SelectionSet)
			}
		}
	}
	return "unknown"
}
