package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// upgradeSpellings are upgrade requests the WebSocket library accepts besides the plain
// `Upgrade: websocket` + `Connection: Upgrade`: it looks for the tokens case-insensitively in
// comma-separated lists spread over any number of header lines.
var upgradeSpellings = []struct {
	name string
	set  func(http.Header)
}{
	{"Upgrade: websocket, h2c", func(h http.Header) { h.Set("Upgrade", "websocket, h2c") }},
	{"Upgrade: WebSocket", func(h http.Header) { h.Set("Upgrade", "WebSocket") }},
	{"two Upgrade lines", func(h http.Header) { h["Upgrade"] = []string{"h2c", "websocket"} }},
	{"Connection: keep-alive, Upgrade", func(h http.Header) { h.Set("Connection", "keep-alive, Upgrade") }},
}

// headerRewriter changes the handshake request's headers after the WebSocket client set them
// (the client insists on its own spelling of Upgrade and Connection).
type headerRewriter struct {
	set  func(http.Header)
	next http.RoundTripper
}

func (rw headerRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	rw.set(r.Header)
	return rw.next.RoundTrip(r)
}

// dialWSSpelled opens a socket whose upgrade request is rewritten by set (nil: as the client
// spells it).
func dialWSSpelled(t *testing.T, s *testServer, subprotocol string, set func(http.Header)) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var client *http.Client // nil: the library's default
	if set != nil {
		client = &http.Client{Transport: headerRewriter{set: set, next: &http.Transport{}}}
	}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/query",
		&websocket.DialOptions{Subprotocols: []string{subprotocol}, HTTPClient: client})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &wsClient{t: t, conn: conn}
}

// init sends connection_init with token and fails unless the server acknowledges it.
func (c *wsClient) init(token string) {
	c.t.Helper()
	c.send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}})
	if m, err := c.next(5 * time.Second); err != nil || m["type"] != "connection_ack" {
		c.t.Fatalf("want connection_ack, got %v %v", m, err)
	}
}

// subscribeMsg and dataMsg are the message types that start an operation and carry its
// results in subprotocol.
func subscribeMsg(subprotocol string) string {
	if subprotocol == "graphql-ws" {
		return "start"
	}
	return "subscribe"
}

func dataMsg(subprotocol string) string {
	if subprotocol == "graphql-ws" {
		return "data"
	}
	return "next"
}

// payloadErrors decodes the GraphQL errors of a next/data message (payload.errors) or of an
// error message (payload is the list itself).
func payloadErrors(m map[string]any) []gqlError {
	raw, _ := json.Marshal(m["payload"])
	var errs []gqlError
	if m["type"] == "error" {
		_ = json.Unmarshal(raw, &errs)
		return errs
	}
	var p struct{ Errors []gqlError }
	_ = json.Unmarshal(raw, &p)
	return p.Errors
}
