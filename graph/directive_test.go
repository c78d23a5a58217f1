package graph

import (
	"context"
	"log/slog"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/example/gqlauth/auth"
)

// TestFieldRequirementReadsTheSchemasMarkers: what @auth asks of a field comes from the
// field's marker directives in the real schema: changePassword and logoutAll manage
// credentials (a session, not an API key), me is open to an unverified account, sessions is
// neither.
func TestFieldRequirementReadsTheSchemasMarkers(t *testing.T) {
	schema := NewExecutableSchema(Config{}).Schema()
	for _, c := range []struct {
		typ, field string
		want       auth.Requirement
	}{
		{"Mutation", "changePassword", auth.Requirement{Session: true}},
		{"Mutation", "logoutAll", auth.Requirement{Session: true}},
		{"Query", "me", auth.Requirement{AllowUnverified: true}},
		{"Query", "sessions", auth.Requirement{}},
	} {
		def := schema.Types[c.typ].Fields.ForName(c.field)
		if def == nil {
			t.Fatalf("%s.%s not in the schema", c.typ, c.field)
		}
		fc := &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Name: c.field, Definition: def}}}
		if got := fieldRequirement(fc); got != c.want {
			t.Errorf("%s.%s: %+v, want %+v", c.typ, c.field, got, c.want)
		}
	}
	// recent: true is read as such.
	def := &ast.FieldDefinition{Name: "x", Directives: ast.DirectiveList{{Name: "credential", Arguments: ast.ArgumentList{
		{Name: "recent", Value: &ast.Value{Kind: ast.BooleanValue, Raw: "true"}},
	}}}}
	fc := &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Name: "x", Definition: def}}}
	if got := fieldRequirement(fc); !got.Session || !got.Recent {
		t.Errorf("@credential(recent: true): %+v", got)
	}
}

// TestPresenterForbiddenReasons: a refusal for a reason says the reason, not a role.
func TestPresenterForbiddenReasons(t *testing.T) {
	present := errorPresenter(slog.Default(), true)
	for _, reason := range []string{auth.ReasonMFARequired, auth.ReasonReauthenticationRequired, auth.ReasonSessionRequired, auth.ReasonUserRequired, auth.ReasonEmailNotVerified} {
		got := present(context.Background(), gqlerror.WrapPath(nil, &auth.ForbiddenError{Reason: reason}))
		if got.Extensions["code"] != CodeForbidden || got.Extensions["reason"] != reason || got.Extensions["requires"] != nil {
			t.Errorf("%s: extensions %v", reason, got.Extensions)
		}
	}
	got := present(context.Background(), gqlerror.WrapPath(nil, &auth.ForbiddenError{Requires: auth.RoleAdmin}))
	if got.Extensions["requires"] != "ADMIN" || got.Extensions["reason"] != nil {
		t.Errorf("role refusal: extensions %v", got.Extensions)
	}
}
