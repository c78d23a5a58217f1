package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsClient speaks graphql-transport-ws (or the legacy graphql-ws) to the server.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialWS(t *testing.T, s *testServer, subprotocol string) *wsClient {
	t.Helper()
	return dialWSSpelled(t, s, subprotocol, nil)
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	if err := c.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next reads the next message that is not a keep-alive; err is the close error, if any.
func (c *wsClient) next(timeout time.Duration) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		if m["type"] == "ka" || m["type"] == "ping" || m["type"] == "pong" {
			continue
		}
		return m, nil
	}
}

// expectClose reads until the server closes the socket, within the given time, and fails the
// test unless it closed with code; each, when given, sees every message before the close.
func (c *wsClient) expectClose(code int, within time.Duration, each func(m map[string]any)) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		m, err := c.next(time.Until(deadline))
		if err != nil {
			if got := closeCode(err); got != code {
				c.t.Fatalf("want close %d, got %d (%v)", code, got, err)
			}
			return
		}
		if each != nil {
			each(m)
		}
	}
}

func closeCode(err error) int {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return int(ce.Code)
	}
	return -1
}

// TestSecurityEventsSubscription: a signed-in user sees their own LOGIN events live; a socket
// without a token is refused with 4403; after logout the socket closes with 4401 within 5 s.
func TestSecurityEventsSubscription(t *testing.T) {
	s := startServer(t, nil)
	alice := s.register(t, "alice@example.com")
	s.register(t, "bob@example.com")

	for _, proto := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(proto, func(t *testing.T) {
			sess, _ := s.login(t, "alice@example.com", testPassword)
			c := dialWS(t, s, proto)
			c.send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + sess.AccessToken}})
			if m, err := c.next(5 * time.Second); err != nil || m["type"] != "connection_ack" {
				t.Fatalf("want connection_ack, got %v %v", m, err)
			}
			start := "subscribe"
			if proto == "graphql-ws" {
				start = "start"
			}
			c.send(map[string]any{"id": "1", "type": start, "payload": map[string]any{"query": "subscription { securityEvents { type at sessionId } }"}})
			time.Sleep(200 * time.Millisecond) // let the subscription register

			s.login(t, "bob@example.com", testPassword) // another user's event: not delivered
			other, _ := s.login(t, "alice@example.com", testPassword)
			m, err := c.next(5 * time.Second)
			if err != nil {
				t.Fatalf("no event: %v", err)
			}
			payload, _ := json.Marshal(m["payload"])
			if !strings.Contains(string(payload), `"type":"LOGIN"`) {
				t.Fatalf("want a LOGIN event, got %s", payload)
			}
			_ = other

			// Ending the socket's session closes it with 4401 within 5 s.
			expectOK(t, s.gql(t, sess.AccessToken, `mutation { logout }`, nil))
			c.expectClose(4401, 6*time.Second, nil)
		})
	}
	_ = alice

	t.Run("no token", func(t *testing.T) {
		c := dialWS(t, s, "graphql-transport-ws")
		c.send(map[string]any{"type": "connection_init", "payload": map[string]any{}})
		c.expectClose(4403, 5*time.Second, nil)
	})
}
