package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/example/gqlauth/internal/app"
	"github.com/example/gqlauth/internal/config"
	"github.com/example/gqlauth/internal/logline"
	"github.com/example/gqlauth/internal/servertest"
)

// benchApp wires the real service (SQLite in a temp dir, HS256, bcrypt cost 10, limits off)
// and returns its handler, without a network in between.
func benchApp(b *testing.B) *app.App {
	b.Helper()
	env := servertest.Env(b, map[string]string{"RATE_LIMITS": "off"})
	cfg, err := config.Load(servertest.Getenv(env))
	if err != nil {
		b.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, slog.New(logline.New(io.Discard, false))) // the server's handler
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)
	return a
}

func serveOnce(h http.Handler, token, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.RemoteAddr = "127.0.0.1:1234"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func benchRegister(b *testing.B, h http.Handler) payload {
	b.Helper()
	rec := serveOnce(h, "", `{"query":"mutation { register(input:{email:\"bench@example.com\", password:\"correct horse battery\"}) { accessToken refreshToken } }"}`)
	var out struct {
		Data struct{ Register payload }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Data.Register.AccessToken == "" {
		b.Fatalf("register: %s", rec.Body.String())
	}
	return out.Data.Register
}

// BenchmarkMe is the whole `me` request through the real handler: middleware, token
// verification, revocation and current-roles checks, the directive, execution, JSON.
func BenchmarkMe(b *testing.B) {
	a := benchApp(b)
	p := benchRegister(b, a.Handler())
	const body = `{"query":"{ me { id email roles } }"}`
	if rec := serveOnce(a.Handler(), p.AccessToken, body); !bytes.Contains(rec.Body.Bytes(), []byte(`"email":"bench@example.com"`)) {
		b.Fatalf("me: %s", rec.Body.String())
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serveOnce(a.Handler(), p.AccessToken, body)
		}
	})
}

// BenchmarkTypename is the floor cost of the GraphQL HTTP path.
func BenchmarkTypename(b *testing.B) {
	a := benchApp(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serveOnce(a.Handler(), "", `{"query":"{ __typename }"}`)
		}
	})
}

// BenchmarkRefresh is one refresh rotation through the handler on SQLite (durable write).
func BenchmarkRefresh(b *testing.B) {
	a := benchApp(b)
	p := benchRegister(b, a.Handler())
	token := p.RefreshToken
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		token = benchRotate(b, a.Handler(), token)
	}
}

// benchRotate refreshes token through h and returns its successor.
func benchRotate(b *testing.B, h http.Handler, token string) string {
	body, _ := json.Marshal(map[string]any{
		"query":     "mutation($t:String){ refresh(refreshToken:$t) { accessToken refreshToken } }",
		"variables": map[string]any{"t": token},
	})
	rec := serveOnce(h, "", string(body))
	var out struct {
		Data struct{ Refresh payload }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Data.Refresh.RefreshToken == "" {
		b.Fatalf("refresh: %s", rec.Body.String())
	}
	return out.Data.Refresh.RefreshToken
}

// BenchmarkRefreshParallel is BenchmarkRefresh under the compare load's shape: 16 clients,
// each rotating its own session (rotate, then use the new token), concurrently on SQLite.
func BenchmarkRefreshParallel(b *testing.B) {
	a := benchApp(b)
	p := benchRegister(b, a.Handler())
	const workers = 16
	tokens := make(chan string, workers)
	tokens <- p.RefreshToken
	login := `{"query":"mutation { login(input:{email:\"bench@example.com\", password:\"correct horse battery\"}) { refreshToken } }"}`
	for range workers - 1 {
		var out struct {
			Data struct{ Login payload }
		}
		rec := serveOnce(a.Handler(), "", login)
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Data.Login.RefreshToken == "" {
			b.Fatalf("login: %s", rec.Body.String())
		}
		tokens <- out.Data.Login.RefreshToken
	}
	b.SetParallelism((workers + 1) / 2) // GOMAXPROCS=2 on the bench machine: 16 goroutines
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		token := <-tokens
		for pb.Next() {
			token = benchRotate(b, a.Handler(), token)
		}
	})
}
