package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"

	"github.com/example/gqlauth/auth"
)

// WebSocket close codes of graphql-transport-ws used here.
const (
	closeUnauthorized     = 4401 // the access token expired or its session ended
	closeForbidden        = 4403 // connection_init refused, or the account was disabled
	closeSubscriberExists = 4409 // a subscribe reused the id of an operation still running
	closeTooManySockets   = 4429 // connection_init of a user who has the most sockets open already
	closeInternal         = 4500 // the connection could not be watched, so it is not served
)

// gqlgen closes a connection whose context ends with a normal closure (1000); clients need
// the protocol's 4401/4403 to know they must sign in again. So the accepted connection is kept
// in a holder placed in the request context, where the watcher can close it with a code.
//
// The holder goes into every request the WebSocket transport would take, decided by the
// transport's own Supports (any Upgrade header), not by what the header says: the WebSocket
// library accepts any comma-separated token "websocket" on any Upgrade line, in any case, with
// an "Upgrade" token anywhere in Connection, and a second copy of those rules here would be one
// more way to miss a spelling and leave a socket nobody watches.
type connHolderKey struct{}

type connHolder struct {
	mu      sync.Mutex
	conn    *operationConn
	release func() // frees the user's socket slot; set by connection_init
}

func (h *connHolder) accepted(c *operationConn) {
	h.mu.Lock()
	h.conn = c
	h.mu.Unlock()
}

func (h *connHolder) current() *operationConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conn
}

func (h *connHolder) closeWith(code int, reason string) {
	if conn := h.current(); conn != nil {
		_ = conn.WriteClose(code, reason)
	}
}

// holdUserSlot takes one of the user's sockets for this connection, until finish.
func (h *connHolder) holdUserSlot(sockets *userSockets, userID string) bool {
	release, ok := sockets.acquire(userID)
	if ok {
		h.mu.Lock()
		h.release = release
		h.mu.Unlock()
	}
	return ok
}

// finish runs once the transport has returned: the socket is done, its user slot is free.
func (h *connHolder) finish() {
	h.mu.Lock()
	release := h.release
	h.release = nil
	h.mu.Unlock()
	if release != nil {
		release()
	}
}

// socketOf returns the holder of the WebSocket an operation runs on, or nil over HTTP.
func socketOf(ctx context.Context) *connHolder {
	if h, ok := ctx.Value(connHolderKey{}).(*connHolder); ok && h.current() != nil {
		return h
	}
	return nil
}

// holdingImplementation is gqlgen's coder/websocket adapter; the accepted connection is wrapped
// in the operation counter and put in the holder.
type holdingImplementation struct {
	inner         transport.CoderWebsocketImplementation
	maxOperations int
}

func (h holdingImplementation) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := h.inner.Accept(w, r, o)
	if err != nil {
		return nil, err
	}
	oc := newOperationConn(conn, h.maxOperations)
	if holder, ok := r.Context().Value(connHolderKey{}).(*connHolder); ok {
		holder.accepted(oc)
	}
	return oc, nil
}

// withConnHolder puts an empty holder into every request ws would serve, and frees what the
// socket held once the transport is done with it (it returns only when the socket has ended).
// Other requests pass untouched (no second r.WithContext on the HTTP path).
func withConnHolder(next http.Handler, ws graphql.Transport) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ws.Supports(r) {
			next.ServeHTTP(w, r)
			return
		}
		holder := &connHolder{}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), connHolderKey{}, holder)))
		holder.finish()
	})
}

// socketLimits bound what one user may hold open over WebSockets on this instance.
type socketLimits struct {
	operationsPerSocket int
	socketsPerUser      int
}

// newWebsocketTransport serves graphql-transport-ws and the legacy graphql-ws. Upgrades
// without an Origin header (non-browser clients) are accepted; a browser's Origin must be the
// server's own host or one of allowedOrigins.
func newWebsocketTransport(svc *auth.Service, allowedOrigins []string, limits socketLimits) transport.Websocket {
	var patterns []string
	for _, o := range allowedOrigins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			patterns = append(patterns, u.Host)
		}
	}
	return transport.Websocket{
		Implementation: holdingImplementation{
			inner: transport.CoderWebsocketImplementation{
				AcceptOptions: coderws.AcceptOptions{OriginPatterns: patterns},
			},
			maxOperations: limits.operationsPerSocket,
		},
		KeepAlivePingInterval: 10 * time.Second,
		InitTimeout:           10 * time.Second,
		InitFunc:              websocketInit(svc, newUserSockets(limits.socketsPerUser)),
	}
}

// websocketInit authenticates a connection from its connection_init payload
// ({"Authorization": "Bearer …"}); without one, the upgrade request's own header counts. A
// missing or bad token closes the socket with 4403, as graphql-transport-ws prescribes for a
// refused connection_init. A connection is only served with its watcher attached, and while its
// user has fewer than the allowed sockets open.
func websocketInit(svc *auth.Service, sockets *userSockets) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		holder := socketOf(ctx)
		if holder == nil {
			return refuseInit(ctx, closeInternal, "connection watcher unavailable")
		}
		if h := payload.Authorization(); h != "" {
			ctx = auth.WithIdentity(ctx, auth.IdentifyRequest(svc.Tokens(), []string{h}))
		}
		id := auth.IdentityFrom(ctx)
		if !id.Present() {
			return refuseInit(ctx, closeForbidden, "unauthorized: "+id.Err.Error())
		}
		p, err := svc.Authorize(ctx, auth.Requirement{AllowUnverified: true}) // the connection; each operation is authorised for its field
		if err != nil {
			return refuseInit(ctx, closeForbidden, "unauthorized: "+err.Error())
		}
		if !holder.holdUserSlot(sockets, p.User.ID) {
			return refuseInit(ctx, closeTooManySockets, fmt.Sprintf("too many sockets for this user (at most %d)", sockets.max))
		}
		expires := time.Time{}.AddDate(9999, 0, 0) // an API key: Authorize checks its expiry every second
		if id.Claims != nil {
			expires = id.Claims.ExpiresAt.Time
		}
		go watchConnection(ctx, holder, svc, expires)
		return ctx, nil, nil
	}
}

// refuseInit makes gqlgen close the socket with code and reason (a reason must stay under the
// 123 bytes a close frame carries).
func refuseInit(ctx context.Context, code int, reason string) (context.Context, *transport.InitPayload, error) {
	ctx = transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, code), reason)
	return ctx, nil, errors.New(reason)
}

// watchConnection closes a connection once its access token expires or its session ends
// (checked in memory every second, so within the 5 s the API promises).
func watchConnection(ctx context.Context, holder *connHolder, svc *auth.Service, expires time.Time) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if !now.Before(expires) {
				holder.closeWith(closeUnauthorized, "access token expired")
				return
			}
			if _, err := svc.Authorize(ctx, auth.Requirement{AllowUnverified: true}); err != nil {
				holder.closeWith(closeCodeFor(err), "session ended")
				return
			}
		}
	}
}

// closeCodeFor is the close code for a socket whose authorisation failed with err.
func closeCodeFor(err error) int {
	if errors.Is(err, auth.ErrAccountDisabled) {
		return closeForbidden
	}
	return closeUnauthorized
}
