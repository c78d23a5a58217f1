package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/sqlite"
)

// newTestService is an auth service on a real SQLite file, with one user; it returns an
// access token of that user.
func newTestService(t *testing.T) (*auth.Service, string) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "graph.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	key, err := auth.NewHMACKey([]byte("graph-test-secret-0123456789abcdefghijklm"))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := auth.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	tokens := auth.NewTokens(ks, auth.TokenConfig{Issuer: "http://test", Audience: "graphql-api", TTL: time.Minute})
	svc, err := auth.New(ctx, store, tokens, auth.Config{BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	g, err := svc.Register(ctx, "ada@example.com", "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	return svc, g.AccessToken
}

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
