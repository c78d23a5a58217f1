package graph

import (
	"context"
	"errors"

	"github.com/99designs/gqlgen/graphql"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/graph/model"
)

type principalKey struct{}

// authDirective implements @auth(requires: Role). The HTTP middleware has only identified the
// caller; here the request is refused (by not calling next) unless auth.Service.Authorize
// accepts it. The principal is handed to the resolver through the context.
func authDirective(svc *auth.Service) func(ctx context.Context, obj any, next graphql.Resolver, requires *model.Role) (any, error) {
	return func(ctx context.Context, obj any, next graphql.Resolver, requires *model.Role) (any, error) {
		role := auth.RoleUser
		if requires != nil {
			role = auth.Role(*requires)
		}
		p, err := svc.Authorize(ctx, role)
		if err != nil {
			return nil, err
		}
		return next(context.WithValue(ctx, principalKey{}, p))
	}
}

// errNoPrincipal means a resolver that needs a caller runs without @auth: a schema mistake.
var errNoPrincipal = errors.New("resolver requires @auth but no principal is in the context")

func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	if !ok {
		return auth.Principal{}, errNoPrincipal
	}
	return p, nil
}
