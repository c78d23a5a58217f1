package graph

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/authtest"
	"github.com/example/gqlauth/internal/reqmeta"
)

// The GraphQL path alone: NewHandler behind the identity middleware (as newTestAPI has it),
// without a network or the server's other middleware. e2e/bench_test.go has the whole server.

func benchHandler(b *testing.B) (http.Handler, *auth.Service) {
	b.Helper()
	env := authtest.New(b)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gql := NewHandler(Options{Auth: env.Service, Logger: log})
	clientIP := auth.NewClientIP(nil, nil)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := reqmeta.NewContext(r.Context(), "req-0123456789")
		ctx = auth.RequestContext(ctx, r, env.Tokens, clientIP, auth.CookieNames{})
		gql.ServeHTTP(w, r.WithContext(ctx))
	}), env.Service
}

func benchPost(b *testing.B, h http.Handler, token, body, want string) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
			b.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
	}
}

func BenchmarkHandlerTypename(b *testing.B) {
	h, _ := benchHandler(b)
	benchPost(b, h, "", `{"query":"{ __typename }"}`, `{"data":{"__typename":"Query"}}`)
}

func BenchmarkHandlerMe(b *testing.B) {
	h, svc := benchHandler(b)
	g, err := svc.Register(context.Background(), "ada@example.com", "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	benchPost(b, h, g.AccessToken, `{"query":"{ me { id email roles } }"}`, `"email":"ada@example.com"`)
}
