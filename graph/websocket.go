package graph

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"

	"github.com/example/gqlauth/auth"
)

// WebSocket close codes of graphql-transport-ws used here.
const (
	closeUnauthorized = 4401 // the access token expired or its session ended
	closeForbidden    = 4403 // connection_init refused, or the account was disabled
)

// gqlgen closes a connection whose context ends with a normal closure (1000); clients need
// the protocol's 4401/4403 to know they must sign in again. So the accepted connection is kept
// in a holder placed in the request context, where the watcher can close it with a code.
type connHolderKey struct{}

type connHolder struct {
	mu   sync.Mutex
	conn transport.WebsocketConn
}

func (h *connHolder) closeWith(code int, reason string) {
	h.mu.Lock()
	conn := h.conn
	h.mu.Unlock()
	if conn != nil {
		_ = conn.WriteClose(code, reason)
	}
}

// holdingImplementation is gqlgen's coder/websocket adapter that also fills the holder.
type holdingImplementation struct {
	inner transport.CoderWebsocketImplementation
}

func (h holdingImplementation) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := h.inner.Accept(w, r, o)
	if holder, ok := r.Context().Value(connHolderKey{}).(*connHolder); ok && err == nil {
		holder.mu.Lock()
		holder.conn = conn
		holder.mu.Unlock()
	}
	return conn, err
}

// withConnHolder puts an empty holder into WebSocket upgrade requests.
func withConnHolder(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			r = r.WithContext(context.WithValue(r.Context(), connHolderKey{}, &connHolder{}))
		}
		next.ServeHTTP(w, r)
	})
}

// newWebsocketTransport serves graphql-transport-ws and the legacy graphql-ws. Upgrades
// without an Origin header (non-browser clients) are accepted; a browser's Origin must be the
// server's own host or one of allowedOrigins.
func newWebsocketTransport(svc *auth.Service, allowedOrigins []string) transport.Websocket {
	var patterns []string
	for _, o := range allowedOrigins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			patterns = append(patterns, u.Host)
		}
	}
	return transport.Websocket{
		Implementation: holdingImplementation{inner: transport.CoderWebsocketImplementation{
			AcceptOptions: coderws.AcceptOptions{OriginPatterns: patterns},
		}},
		KeepAlivePingInterval: 10 * time.Second,
		InitTimeout:           10 * time.Second,
		InitFunc:              websocketInit(svc),
	}
}

// websocketInit authenticates a connection from its connection_init payload
// ({"Authorization": "Bearer …"}); without one, the upgrade request's own header counts. A
// missing or bad token closes the socket with 4403, as graphql-transport-ws prescribes for a
// refused connection_init.
func websocketInit(svc *auth.Service) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		if h := payload.Authorization(); h != "" {
			ctx = auth.WithIdentity(ctx, auth.IdentifyRequest(svc.Tokens(), []string{h}))
		}
		id := auth.IdentityFrom(ctx)
		if id.Claims == nil {
			return transport.WithWebsocketCloseCode(ctx, closeForbidden), nil, errors.New("unauthorized: " + id.Err.Error())
		}
		if _, err := svc.Authorize(ctx, auth.RoleUser); err != nil {
			return transport.WithWebsocketCloseCode(ctx, closeForbidden), nil, errors.New("unauthorized: " + err.Error())
		}
		holder, _ := ctx.Value(connHolderKey{}).(*connHolder)
		go watchConnection(ctx, holder, svc, id.Claims.ExpiresAt.Time)
		return ctx, nil, nil
	}
}

// watchConnection closes a connection once its access token expires or its session ends
// (checked in memory every second, so within the 5 s the API promises).
func watchConnection(ctx context.Context, holder *connHolder, svc *auth.Service, expires time.Time) {
	if holder == nil {
		return
	}
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
			if _, err := svc.Authorize(ctx, auth.RoleUser); err != nil {
				code := closeUnauthorized
				if errors.Is(err, auth.ErrAccountDisabled) {
					code = closeForbidden
				}
				holder.closeWith(code, "session ended")
				return
			}
		}
	}
}
