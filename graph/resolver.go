package graph

import (
	"log/slog"

	"github.com/example/gqlauth/auth"
)

// Resolver is the dependency-injection point of the GraphQL adapter. Resolvers stay a few lines:
// they translate between GraphQL models and the auth service, which does the work.
type Resolver struct {
	Auth   *auth.Service
	Events *auth.EventBus // security events for the subscription; may be nil
	Logger *slog.Logger
}
