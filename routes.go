package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql/playground"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/oauth"
)

// deps are what the HTTP surface is built from.
type deps struct {
	cfg     config
	log     *slog.Logger
	auth    *auth.Service
	graphql http.Handler
	oauth   *oauth.Handler
	metrics http.Handler
	ready   func(ctx context.Context) error
}

// newHandler is the whole URL surface and the middleware order, in one place.
func newHandler(d deps) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /query", d.graphql)
	mux.Handle("POST /query", jsonOnlyPost(d.graphql))
	mux.Handle("OPTIONS /query", d.graphql)
	if d.cfg.Playground {
		mux.Handle("GET /{$}", playground.Handler("GraphQL auth service", "/query"))
	}
	mux.HandleFunc("POST /token", d.oauth.Token)
	mux.HandleFunc("POST /revoke", d.oauth.Revoke)
	mux.HandleFunc("GET /.well-known/jwks.json", d.oauth.JWKS)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", d.oauth.Metadata)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := d.ready(ctx); err != nil {
			d.log.Warn("not ready", "err", err)
			writeStatus(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "unreachable"})
			return
		}
		writeStatus(w, http.StatusOK, map[string]string{"status": "ok", "database": "ok"})
	})
	if d.metrics != nil {
		mux.Handle("GET /metrics", d.metrics)
	}

	clientIP := auth.ClientIP{TrustedProxies: d.cfg.TrustedProxies}
	cookie := ""
	if d.cfg.RefreshCookie {
		cookie = refreshCookieName
	}
	var h http.Handler = mux
	h = auth.Middleware(d.auth.Tokens(), clientIP, cookie)(h)
	h = cors(d.cfg.CORSOrigins)(h)
	h = limitBody(h)
	h = accessLog(d.log)(h)
	h = recoverPanics(d.log)(h)
	h = withRequestID(h)
	return h
}

const refreshCookieName = "refresh_token"

func writeStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
