// Package reqmeta is the one home of a request's metadata: its id (X-Request-Id, in every log
// line and masked error of the request) and the GraphQL operation it runs (for the access log).
// internal/httpx makes it for each request; graph reads the id and notes the operation. One
// value, one allocation per request; stdlib only, so every layer may import it.
package reqmeta

import (
	"context"
	"sync"
)

type key struct{}

// meta is what NewContext puts in a request's context.
type meta struct {
	id string

	mu            sync.Mutex
	opType, field string // the first operation (a WebSocket carries several)
}

// NewContext returns ctx carrying the request id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, &meta{id: id})
}

func from(ctx context.Context) *meta {
	m, _ := ctx.Value(key{}).(*meta)
	return m
}

// ID is the request id of ctx, "" outside a request.
func ID(ctx context.Context) string {
	if m := from(ctx); m != nil {
		return m.id
	}
	return ""
}

// NoteOperation records the type and root field of the request's first operation; later ones
// (a WebSocket's) and calls outside a request change nothing.
func NoteOperation(ctx context.Context, opType, field string) {
	if m := from(ctx); m != nil {
		m.mu.Lock()
		if m.field == "" {
			m.opType, m.field = opType, field
		}
		m.mu.Unlock()
	}
}

// Operation is what NoteOperation recorded ("" when nothing was).
func Operation(ctx context.Context) (opType, field string) {
	if m := from(ctx); m != nil {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.opType, m.field
	}
	return "", ""
}
