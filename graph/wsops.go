package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// CodeTooManyOperations refuses an operation sent over a socket that already runs the most
// operations allowed at once.
const CodeTooManyOperations = "TOO_MANY_OPERATIONS"

// stopWait is how long a subscribe over the limit waits for operations the client already
// stopped to wind down (gqlgen ends them asynchronously) before it is refused.
const stopWait = 2 * time.Second

// operationConn is the accepted connection as gqlgen's transport sees it. It counts the
// operations in flight on the socket, seeing both directions: a client's subscribe (legacy
// graphql-ws: start) adds one; the server's complete or error for that id ends it. gqlgen runs
// every operation in its own goroutines and has no limit of its own, so over the limit the
// subscribe is answered with an error message for its id here and never reaches gqlgen.
//
// A client's complete (stop) only marks the operation stopping: gqlgen cancels it and sends
// complete once its goroutine is done, and only then is its slot free, so stopping and
// resubscribing cannot pile up goroutines that have not ended yet.
type operationConn struct {
	transport.WebsocketConn
	max             int
	subscribe, stop string // the subprotocol's client message types

	writeMu sync.Mutex // gqlgen serialises its own writes; the refusals written here join them

	mu       sync.Mutex
	ops      map[string]bool // operation id → the client asked to stop it
	stopping int
	ended    chan struct{} // signalled when an operation ends (only the reader waits on it)
}

func newOperationConn(conn transport.WebsocketConn, maxOps int) *operationConn {
	c := &operationConn{
		WebsocketConn: conn, max: maxOps, subscribe: "subscribe", stop: "complete",
		ops: map[string]bool{}, ended: make(chan struct{}, 1),
	}
	if p := conn.Subprotocol(); p == "graphql-ws" || p == "" { // gqlgen's default is the legacy protocol
		c.subscribe, c.stop = "start", "stop"
	}
	return c
}

// clientMessage is what the counter reads of a client's message, decoded as gqlgen decodes it
// (encoding/json's Decoder, first value only), so both read the same type and id.
type clientMessage struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// NextReader hands gqlgen the client's next message, unless it starts an operation over the
// limit (refused here) or reuses the id of one still running (the protocol's 4409).
func (c *operationConn) NextReader() (int, io.Reader, error) {
	for {
		kind, r, err := c.WebsocketConn.NextReader()
		if err != nil {
			return kind, r, err
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return kind, nil, err
		}
		var m clientMessage
		if json.NewDecoder(bytes.NewReader(data)).Decode(&m) == nil {
			switch m.Type {
			case c.subscribe:
				switch c.admit(m.ID) {
				case opDuplicate:
					_ = c.WebsocketConn.WriteClose(closeSubscriberExists, "Subscriber for "+truncateReason(m.ID)+" already exists")
					return kind, nil, transport.ErrWebsocketClosed
				case opOverLimit:
					c.refuse(m.ID)
					continue
				}
			case c.stop:
				c.markStopping(m.ID)
			}
		}
		return kind, bytes.NewReader(data), nil
	}
}

// WriteJSON sends gqlgen's message; a complete or error ends its operation. The slot is freed
// before the client can see the message, so a client answering it with a new subscribe finds
// the slot free.
func (c *operationConn) WriteJSON(v any) error {
	if typ, id := messageHeader(v); typ == "complete" || typ == "error" {
		c.end(id)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.WebsocketConn.WriteJSON(v)
}

// SetReadLimit and SetReadDeadline pass gqlgen's optional settings through to the library's
// connection (gqlgen looks for them by type assertion, which the wrapper would otherwise hide).
func (c *operationConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

func (c *operationConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}

type admission int

const (
	opAdmitted admission = iota
	opDuplicate
	opOverLimit
)

// admit counts a new operation. Over the limit, or when the id is that of an operation being
// stopped, it first waits (up to stopWait) for stopping operations to end.
func (c *operationConn) admit(id string) admission {
	var timeout <-chan time.Time
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		stopping, exists := c.ops[id]
		switch {
		case exists && !stopping:
			return opDuplicate
		case !exists && len(c.ops) < c.max:
			c.ops[id] = false
			return opAdmitted
		case c.stopping == 0:
			return opOverLimit
		}
		if timeout == nil {
			t := time.NewTimer(stopWait)
			defer t.Stop()
			timeout = t.C
		}
		c.mu.Unlock()
		select {
		case <-c.ended:
		case <-timeout:
			c.mu.Lock()
			if _, still := c.ops[id]; still {
				return opDuplicate // stopped but still not ended: the id is still taken
			}
			return opOverLimit
		}
		c.mu.Lock()
	}
}

func (c *operationConn) markStopping(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if stopping, ok := c.ops[id]; ok && !stopping {
		c.ops[id] = true
		c.stopping++
	}
}

func (c *operationConn) end(id string) {
	c.mu.Lock()
	stopping, ok := c.ops[id]
	if ok {
		delete(c.ops, id)
		if stopping {
			c.stopping--
		}
	}
	c.mu.Unlock()
	if ok {
		select {
		case c.ended <- struct{}{}:
		default:
		}
	}
}

// wsMessage is a server message in the shape gqlgen sends (both subprotocols call it "error").
type wsMessage struct {
	ID      string `json:"id,omitempty"`
	Type    string `json:"type"`
	Payload any    `json:"payload,omitempty"`
}

// refuse answers a subscribe over the limit with an error message for its id; the socket and
// its other operations carry on.
func (c *operationConn) refuse(id string) {
	errs := gqlerror.List{{
		Message:    fmt.Sprintf("too many operations on this socket (at most %d at once)", c.max),
		Extensions: map[string]any{"code": CodeTooManyOperations, "limit": c.max},
	}}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.WebsocketConn.WriteJSON(wsMessage{ID: id, Type: "error", Payload: errs})
}

// messageHeader reads the type and id of a message gqlgen is about to send. Its message structs
// are unexported, but their Type and ID fields are not, so reflection reads them without
// encoding the message twice; any other shape is read from its JSON.
func messageHeader(v any) (typ, id string) {
	if rv := reflect.Indirect(reflect.ValueOf(v)); rv.Kind() == reflect.Struct {
		if f := rv.FieldByName("Type"); f.Kind() == reflect.String {
			typ = f.String()
		}
		if f := rv.FieldByName("ID"); f.Kind() == reflect.String {
			id = f.String()
		}
		if typ != "" {
			return typ, id
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", ""
	}
	var m clientMessage
	_ = json.Unmarshal(b, &m)
	return m.Type, m.ID
}

// truncateReason keeps a client-chosen id from overflowing a close frame's 123-byte reason.
func truncateReason(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "") + "…"
	}
	return s
}
