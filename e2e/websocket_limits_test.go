package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const securityEventsQuery = "subscription { securityEvents { type } }"

// goroutines reads go_goroutines from /metrics.
func goroutines(t *testing.T, s *testServer) int {
	t.Helper()
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
	}
	t.Fatal("no go_goroutines in /metrics")
	return 0
}

// stopMsg is the message type that stops an operation in subprotocol.
func stopMsg(subprotocol string) string {
	if subprotocol == "graphql-ws" {
		return "stop"
	}
	return "complete"
}

// eventsSeen reads until each id of want got one data message (failing on anything else for
// them) and returns the ids that got one.
func (c *wsClient) eventsSeen(proto string, want int) map[string]bool {
	c.t.Helper()
	seen := map[string]bool{}
	for len(seen) < want {
		m, err := c.next(10 * time.Second)
		if err != nil {
			c.t.Fatalf("after %d of %d events: %v", len(seen), want, err)
		}
		id, _ := m["id"].(string)
		switch m["type"] {
		case dataMsg(proto):
			if seen[id] {
				c.t.Fatalf("two events for %s", id)
			}
			seen[id] = true
		case "complete":
		default:
			c.t.Fatalf("unexpected message while waiting for events: %v", m)
		}
	}
	return seen
}

// TestWebsocketOperationsPerSocketCap: one socket runs at most 100 operations at once. The
// 101st subscription is answered with an error message for its id (TOO_MANY_OPERATIONS) while
// the 100 keep delivering; stopping one lets a new one in; a flood of 3,000 subscribes leaves
// the server's goroutines bounded. Both subprotocols count alike.
func TestWebsocketOperationsPerSocketCap(t *testing.T) {
	s := startServer(t, nil)
	for i, proto := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(proto, func(t *testing.T) {
			email := fmt.Sprintf("ops%d@example.com", i)
			p := s.register(t, email)
			before := goroutines(t, s)
			c := dialWS(t, s, proto)
			c.init(p.AccessToken)
			start := func(id string) {
				c.send(map[string]any{"id": id, "type": subscribeMsg(proto), "payload": map[string]any{"query": securityEventsQuery}})
			}
			for n := 1; n <= 100; n++ {
				start(fmt.Sprintf("s%d", n))
			}
			start("s101")
			m, err := c.next(5 * time.Second)
			if err != nil || m["type"] != "error" || m["id"] != "s101" {
				t.Fatalf("want an error message for s101, got %v %v", m, err)
			}
			errs := payloadErrors(m)
			if len(errs) != 1 || errs[0].Extensions["code"] != "TOO_MANY_OPERATIONS" || errs[0].Message == "" {
				t.Fatalf("want one TOO_MANY_OPERATIONS error with a message, got %+v", errs)
			}

			// The 100 are live: a sign-in shows up on each.
			s.login(t, email, testPassword)
			if seen := c.eventsSeen(proto, 100); seen["s101"] {
				t.Fatal("the refused subscription delivered an event")
			}

			// Stopping one frees its slot.
			c.send(map[string]any{"id": "s1", "type": stopMsg(proto)})
			start("s102")
			s.login(t, email, testPassword)
			seen := c.eventsSeen(proto, 100)
			if seen["s1"] || !seen["s102"] {
				t.Fatalf("want s102 live and s1 stopped, got events for %v", seen)
			}

			// A flood over the limit is refused without growing the server.
			const flood = 3000
			for n := 0; n < flood; n++ {
				start(fmt.Sprintf("f%d", n))
			}
			for refused := 0; refused < flood; {
				m, err := c.next(10 * time.Second)
				if err != nil {
					t.Fatalf("after %d refusals: %v", refused, err)
				}
				if m["type"] == "error" && strings.HasPrefix(fmt.Sprint(m["id"]), "f") {
					refused++
				}
			}
			after := goroutines(t, s)
			t.Logf("%s: %d goroutines before the socket, %d with 100 subscriptions after %d more were refused", proto, before, after, flood)
			if after-before > 1000 {
				t.Fatalf("goroutines grew from %d to %d", before, after)
			}
			c.conn.Close(websocket.StatusNormalClosure, "")
		})
	}
}

// TestWebsocketEndedOperationsFreeTheirSlots: operations that end by themselves (a query's
// complete, an error for a bad document) give their slot back, so a socket can run any number
// of them one after another.
func TestWebsocketEndedOperationsFreeTheirSlots(t *testing.T) {
	s := startServer(t, nil)
	p := s.register(t, "sequential@example.com")
	for _, proto := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(proto, func(t *testing.T) {
			c := dialWS(t, s, proto)
			c.init(p.AccessToken)
			for n := 0; n < 150; n++ {
				for _, query := range []string{"{ me { id } }", "{ me { nosuchfield } }"} {
					id := fmt.Sprintf("q%d-%d", n, len(query))
					c.send(map[string]any{"id": id, "type": subscribeMsg(proto), "payload": map[string]any{"query": query}})
					for {
						m, err := c.next(5 * time.Second)
						if err != nil {
							t.Fatalf("%s: %v", id, err)
						}
						if errs := payloadErrors(m); len(errs) > 0 && errs[0].Extensions["code"] == "TOO_MANY_OPERATIONS" {
							t.Fatalf("%s refused: ended operations kept their slots", id)
						}
						if m["type"] == "complete" || m["type"] == "error" {
							break
						}
					}
				}
			}
		})
	}
}

// TestWebsocketRunningOperationIDCannotBeReused: a subscribe that reuses the id of an operation
// still running closes the socket with 4409 (graphql-transport-ws's "Subscriber for <id>
// already exists"), as the spec says: gqlgen would otherwise start a second operation under the
// id and lose the means to stop the first, which then runs uncounted until the socket closes.
func TestWebsocketRunningOperationIDCannotBeReused(t *testing.T) {
	s := startServer(t, nil)
	p := s.register(t, "reuse@example.com")
	for _, proto := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(proto, func(t *testing.T) {
			c := dialWS(t, s, proto)
			c.init(p.AccessToken)
			for range 2 {
				c.send(map[string]any{"id": "same", "type": subscribeMsg(proto), "payload": map[string]any{"query": securityEventsQuery}})
			}
			c.expectClose(4409, 5*time.Second, func(m map[string]any) { t.Logf("before the close: %v", m) })
		})
	}
}

// TestWebsocketSocketsPerUserCap: one user holds at most 20 sockets; the 21st connection_init
// is refused with 4429 and a reason saying why, another user is unaffected, and closing one of
// the 20 lets a new one in.
func TestWebsocketSocketsPerUserCap(t *testing.T) {
	s := startServer(t, nil)
	alice := s.register(t, "alice@example.com")
	bob := s.register(t, "bob@example.com")

	var open []*wsClient
	for n := 0; n < 20; n++ {
		c := dialWS(t, s, []string{"graphql-transport-ws", "graphql-ws"}[n%2])
		c.init(alice.AccessToken)
		open = append(open, c)
	}
	extra := dialWS(t, s, "graphql-transport-ws")
	extra.send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + alice.AccessToken}})
	_, err := extra.next(5 * time.Second)
	var ce websocket.CloseError
	if closeCode(err) != 4429 || !errors.As(err, &ce) || !strings.Contains(ce.Reason, "too many sockets") {
		t.Fatalf("want close 4429 with a reason for the 21st socket, got %v", err)
	}

	dialWS(t, s, "graphql-transport-ws").init(bob.AccessToken) // another user is unaffected

	open[0].conn.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := dialWS(t, s, "graphql-transport-ws")
		c.send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + alice.AccessToken}})
		m, err := c.next(5 * time.Second)
		if err == nil && m["type"] == "connection_ack" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("closing a socket did not free its slot: %v %v", m, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
