package graph

import (
	"context"
	"log/slog"
	"testing"

	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TestPresenterStripsSuggestions: whatever produced a message (a validation rule, coercion, a
// future gqlparser), the production presenter shows none of its suggestion; development keeps
// it.
func TestPresenterStripsSuggestions(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`Cannot query field "mee" on type "Query". Did you mean "me"?`, `Cannot query field "mee" on type "Query".`},
		{`Value "ADMN" does not exist in "Role!" enum. Did you mean the enum value "ADMIN" or "USER"?`, `Value "ADMN" does not exist in "Role!" enum.`},
		{`Field "me" of type "User!" must have a selection of subfields. Did you mean "me { ... }"?`, `Field "me" of type "User!" must have a selection of subfields.`},
		{`Did you mean "x"?`, ``},
		{`Unknown directive "@skp".`, `Unknown directive "@skp".`},
	} {
		prod := errorPresenter(slog.Default(), true)(context.Background(), &gqlerror.Error{Message: tc.in})
		if prod.Message != tc.want {
			t.Errorf("production: %q → %q, want %q", tc.in, prod.Message, tc.want)
		}
		dev := errorPresenter(slog.Default(), false)(context.Background(), &gqlerror.Error{Message: tc.in})
		if dev.Message != tc.in {
			t.Errorf("development: %q → %q", tc.in, dev.Message)
		}
	}
}
