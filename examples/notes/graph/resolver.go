// Package graph is the example's GraphQL layer: generated code, resolvers over an in-memory
// note store, and the @auth directive built on package verify (directive.go).
package graph

import (
	"sync"

	"github.com/example/gqlauth/examples/notes/graph/model"
)

// Resolver holds the notes, in memory.
type Resolver struct {
	mu    sync.Mutex
	notes []*model.Note
}
