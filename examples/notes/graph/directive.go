package graph

import (
	"context"
	"errors"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/example/gqlauth/examples/notes/graph/model"
	"github.com/example/gqlauth/verify"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Auth is the @auth directive: the request must carry a token verify accepted (Identify put
// its claims in the context), of a user who has the role. The errors speak gqlauth's codes.
func Auth(ctx context.Context, _ any, next graphql.Resolver, requires *model.Role) (any, error) {
	role := model.RoleUser
	if requires != nil {
		role = *requires
	}
	claims, ok := verify.ClaimsFrom(ctx)
	if !ok {
		code, err := "UNAUTHENTICATED", verify.ErrorFrom(ctx)
		if errors.Is(err, verify.ErrFeedUnavailable) || errors.Is(err, verify.ErrKeysUnavailable) {
			code = "UNAVAILABLE" // not the caller's fault: gqlauth cannot be reached
		}
		return nil, &gqlerror.Error{Message: verify.Describe(err), Extensions: map[string]any{"code": code}}
	}
	if claims.IsClient() || !slices.Contains(claims.Roles, string(role)) {
		return nil, &gqlerror.Error{Message: "requires role " + string(role),
			Extensions: map[string]any{"code": "FORBIDDEN", "requires": role}}
	}
	return next(ctx)
}
