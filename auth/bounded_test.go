package auth

import (
	"context"
	"errors"
	"testing"
	"time"
)

// hangingStore never answers: every call waits for its context (a partitioned database).
type hangingStore struct{ Store }

func (hangingStore) UserByEmail(ctx context.Context, _ string) (User, error) {
	<-ctx.Done()
	return User{}, ctx.Err()
}

func TestStoreCallsHaveADeadline(t *testing.T) {
	s := boundStore(hangingStore{}, 50*time.Millisecond)

	start := time.Now()
	_, err := s.UserByEmail(context.Background(), "a@example.com")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("got %v after %v, want a deadline error after about 50ms", err, time.Since(start))
	}

	// A caller's earlier deadline wins.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := s.UserByEmail(ctx, "a@example.com"); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("got %v after %v, want the caller's 5ms deadline", err, time.Since(start))
	}

	// Wrapping twice does not stack, and a zero timeout leaves the store as it is.
	if b := boundStore(s, time.Second).(*boundedStore); b.inner != (hangingStore{}) {
		t.Errorf("double wrapping: %T", b.inner)
	}
	if got := boundStore(hangingStore{}, 0); got != (hangingStore{}) {
		t.Errorf("zero timeout wrapped the store: %T", got)
	}
}
