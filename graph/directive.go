package graph

import (
	"context"
	"errors"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/graph/model"
)

// authDirective implements @auth(requires: Role, mfa: Boolean). The HTTP middleware has only
// identified the caller; here the request is refused (by not calling next) unless
// auth.Service.Authorize accepts it for what the field needs. The principal is handed to the
// resolver through the context.
func authDirective(svc *auth.Service) func(ctx context.Context, obj any, next graphql.Resolver, requires *model.Role, mfa *bool) (any, error) {
	return func(ctx context.Context, obj any, next graphql.Resolver, requires *model.Role, mfa *bool) (any, error) {
		req := fieldRequirement(graphql.GetFieldContext(ctx))
		if requires != nil {
			req.Role = auth.Role(*requires)
		}
		req.MFA = mfa != nil && *mfa
		p, err := svc.Authorize(ctx, req)
		if err != nil {
			return nil, err
		}
		return next(auth.WithPrincipal(ctx, p))
	}
}

// fieldRequirement reads the marker directives of the field being resolved: they have no
// runtime of their own (gqlgen.yml: skip_runtime) and only refine what @auth asks for.
//
//	@credential(recent: Boolean)  the field manages credentials: a user's session, not an API
//	                              key; recent: signed in within the last ten minutes
//	@allowUnverified              an account with an unverified email may use it
func fieldRequirement(fc *graphql.FieldContext) auth.Requirement {
	var req auth.Requirement
	if fc == nil || fc.Field.Field == nil || fc.Field.Definition == nil {
		return req
	}
	ds := fc.Field.Definition.Directives
	if d := ds.ForName("credential"); d != nil {
		req.Session = true
		req.Recent = boolArg(d, "recent")
	}
	req.AllowUnverified = ds.ForName("allowUnverified") != nil
	return req
}

func boolArg(d *ast.Directive, name string) bool {
	a := d.Arguments.ForName(name)
	if a == nil || a.Value == nil {
		return false
	}
	v, err := a.Value.Value(nil)
	b, ok := v.(bool)
	return err == nil && ok && b
}

// errNoPrincipal means a resolver that needs a caller runs without @auth: a schema mistake.
var errNoPrincipal = errors.New("resolver requires @auth but no principal is in the context")

func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return auth.Principal{}, errNoPrincipal
	}
	return p, nil
}
