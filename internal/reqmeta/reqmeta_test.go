package reqmeta

import (
	"context"
	"sync"
	"testing"
)

func TestRequestMeta(t *testing.T) {
	bare := context.Background()
	NoteOperation(bare, "query", "me") // outside a request: nothing to note, no panic
	if ID(bare) != "" {
		t.Fatal("an id outside a request")
	}
	if op, f := Operation(bare); op != "" || f != "" {
		t.Fatalf("an operation outside a request: %q %q", op, f)
	}

	ctx := NewContext(bare, "0123456789abcdef")
	if ID(ctx) != "0123456789abcdef" {
		t.Fatalf("id %q", ID(ctx))
	}
	var wg sync.WaitGroup
	NoteOperation(ctx, "subscription", "securityEvents")
	for range 8 { // a WebSocket's later operations, concurrently: the first stays
		wg.Go(func() { NoteOperation(ctx, "query", "me") })
	}
	wg.Wait()
	if op, f := Operation(ctx); op != "subscription" || f != "securityEvents" {
		t.Fatalf("operation %q %q, want the first", op, f)
	}
}
