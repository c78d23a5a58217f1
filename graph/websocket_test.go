package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWebsocketInitRefusedWithoutWatcher: a socket whose watcher cannot be attached (here: the
// server without the holder middleware) is closed at connection_init, even with a valid token,
// instead of being served unwatched.
func TestWebsocketInitRefusedWithoutWatcher(t *testing.T) {
	svc, token := newTestService(t)
	gql, _ := newServer(Options{Auth: svc})
	srv := httptest.NewServer(gql)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"),
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	init, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}})
	if err := conn.Write(ctx, websocket.MessageText, init); err != nil {
		t.Fatal(err)
	}
	_, msg, err := conn.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != closeInternal || ce.Reason != "connection watcher unavailable" {
		t.Fatalf("want close %d, got message %s, error %v", closeInternal, msg, err)
	}
}

// TestUserSocketsForgetUsersAtZero: the per-user counter refuses beyond its limit, and a user
// whose sockets all closed leaves no entry behind (its memory is bounded by the open sockets).
func TestUserSocketsForgetUsersAtZero(t *testing.T) {
	u := newUserSockets(2)
	r1, ok1 := u.acquire("alice")
	r2, ok2 := u.acquire("alice")
	if _, ok := u.acquire("alice"); !ok1 || !ok2 || ok {
		t.Fatalf("want two slots then a refusal, got %v %v %v", ok1, ok2, ok)
	}
	rb, okb := u.acquire("bob")
	if !okb {
		t.Fatal("another user was refused")
	}
	r1()
	r1() // a second release of the same slot changes nothing
	if _, ok := u.acquire("alice"); !ok {
		t.Fatal("a released slot was not reusable")
	}
	if _, ok := u.acquire("alice"); ok {
		t.Fatal("a double release freed two slots")
	}
	r2()
	rb()
	if n := u.open(); n != 1 {
		t.Fatalf("want only alice's remaining socket counted, got %d users", n)
	}
	for i := 0; i < 10_000; i++ {
		release, _ := u.acquire(strings.Repeat("x", i%50) + string(rune('a'+i%26)))
		release()
	}
	if n := u.open(); n != 1 {
		t.Fatalf("users whose sockets closed stay counted: %d entries", n)
	}
}
