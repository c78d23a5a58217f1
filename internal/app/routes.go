package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/example/gqlauth/internal/refreshcookie"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/graph"
	"github.com/example/gqlauth/internal/config"
	"github.com/example/gqlauth/internal/httpx"
	"github.com/example/gqlauth/mail"
	"github.com/example/gqlauth/oauth"
	"github.com/example/gqlauth/web"
)

// deps are what the HTTP surface is built from.
type deps struct {
	cfg     config.Config
	log     *slog.Logger
	auth    *auth.Service
	graphql http.Handler
	oauth   *oauth.Handler
	metrics http.Handler
	ready   func(ctx context.Context) error
	redis   func() string     // "ok" or "unavailable"; nil without Redis
	mailbox mail.MailboxStore // the development mailbox (served in development only)
}

// newHandler is the whole URL surface and the middleware order, in one place.
func newHandler(d deps) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /query", d.graphql)
	mux.Handle("POST /query", d.graphql)
	mux.Handle("OPTIONS /query", d.graphql)
	// The pages behind the links in mails are the product's, served in production too.
	pages := web.MailPages("/query")
	for _, p := range web.MailPagePaths {
		mux.Handle("GET "+p, pages)
	}
	assets := pages // without the playground, /assets/ holds the pages' files only
	if d.cfg.Playground {
		var opts []web.Option
		if !d.cfg.Production { // the development mailbox exists in development only
			opts = append(opts, web.WithMailbox("/dev/mailbox"))
		}
		pg := web.Handler("/query", opts...) // GraphiQL and its assets, embedded; no CDN
		mux.Handle("GET /{$}", pg)
		assets = pg
	}
	mux.Handle("GET /assets/", assets)
	if !d.cfg.Production && d.mailbox != nil {
		mux.Handle("GET /dev/mailbox", mail.MailboxHandler(d.mailbox))
	}
	mux.HandleFunc("POST /token", d.oauth.Token)
	mux.HandleFunc("POST /revoke", d.oauth.Revoke)
	mux.HandleFunc("POST /introspect", d.oauth.Introspect)
	mux.HandleFunc("/token", oauth.MethodNotAllowed) // other methods: an RFC 6749 error body, not text
	mux.HandleFunc("/revoke", oauth.MethodNotAllowed)
	mux.HandleFunc("/introspect", oauth.MethodNotAllowed)
	mux.HandleFunc("GET /revocations", d.oauth.Revocations)
	mux.HandleFunc("GET /.well-known/jwks.json", d.oauth.JWKS)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", d.oauth.Metadata)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		detail := map[string]string{"status": "ok", "database": "ok"}
		if d.redis != nil { // detail only: without Redis the service runs per instance, still ready
			detail["redis"] = d.redis()
		}
		if err := d.ready(ctx); err != nil {
			d.log.Warn("not ready", "err", err)
			detail["status"], detail["database"] = "unavailable", "unreachable"
			writeStatus(w, http.StatusServiceUnavailable, detail)
			return
		}
		writeStatus(w, http.StatusOK, detail)
	})
	if d.metrics != nil && d.cfg.MetricsAddr == "" { // else on a listener of its own (serve)
		mux.Handle("GET /metrics", d.metrics)
	}

	clientIP := auth.NewClientIP(d.cfg.TrustedProxies, d.log)
	var cookies auth.CookieNames
	if d.cfg.RefreshCookie {
		cookies = auth.CookieNames{Refresh: refreshcookie.Name, Device: refreshcookie.DeviceName}
	}
	var h http.Handler = mux
	if d.cfg.RefreshCookie {
		h = refreshcookie.Middleware(refreshcookie.Config{
			Name: refreshcookie.Name, Path: "/query", MaxAge: d.cfg.RefreshTTL,
			DeviceName: refreshcookie.DeviceName, DeviceMaxAge: d.auth.DeviceTokenTTL(),
		})(h)
	}
	h = httpx.CORS(d.cfg.CORSOrigins)(h)
	h = httpx.LimitBody(tooLarge)(h)
	h = httpx.AccessLog(d.log)(h)
	h = httpx.RecoverPanics(d.log, graph.WriteInternalError)(h)
	// The request id and auth.RequestContext's identification (it never refuses, only notes who
	// is calling) in one layer, so a request's context is built with one r.WithContext.
	tokens := d.auth.Tokens()
	h = httpx.WithRequestContext(func(ctx context.Context, r *http.Request) context.Context {
		return auth.RequestContext(ctx, r, tokens, clientIP, cookies)
	})(h)
	return h
}

// tooLarge answers 413 in the shape the endpoint's clients read: an RFC 6749 error object at
// the OAuth endpoints, a GraphQL error list elsewhere.
func tooLarge(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" || r.URL.Path == "/revoke" || r.URL.Path == "/introspect" {
		oauth.WriteTooLarge(w, httpx.MaxBodyText)
		return
	}
	graph.WriteTooLarge(w, httpx.MaxBodyText)
}

func writeStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
