// Package httpx holds the HTTP middleware every request goes through: request ids and the
// request's context, body limits, panic recovery, the access log, CORS.
package httpx

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"

	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/example/gqlauth/internal/reqmeta"
)

// MaxBodyBytes is the largest request body accepted (413 beyond 1 MiB); MaxBodyText says it.
const (
	MaxBodyBytes = 1 << 20
	MaxBodyText  = "1 MiB"
)

// Request ids: 16 hex digits, a random 32-bit prefix per process and a 32-bit counter. Unique
// enough to find a request's lines (and another process's), without crypto/rand per request.
var (
	requestIDPrefix = func() uint32 {
		var b [4]byte
		_, _ = rand.Read(b[:])
		return binary.BigEndian.Uint32(b[:])
	}()
	requestIDSeq atomic.Uint32
)

func newRequestID() string {
	var b [8]byte
	binary.BigEndian.PutUint32(b[:4], requestIDPrefix)
	binary.BigEndian.PutUint32(b[4:], requestIDSeq.Add(1))
	var out [16]byte
	hex.Encode(out[:], b[:])
	return string(out[:])
}

// WithRequestContext gives every request an id (echoed as X-Request-Id) for logs and masked
// errors, and builds the request's whole context in one place, with one r.WithContext: the
// request id and meta, and then, when identify is set, who is calling (identity and client,
// auth.RequestContext).
func WithRequestContext(identify func(ctx context.Context, r *http.Request) context.Context) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := newRequestID()
			w.Header().Set("X-Request-Id", id)
			ctx := reqmeta.NewContext(r.Context(), id)
			if identify != nil {
				ctx = identify(ctx, r)
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// LimitBody answers a body over MaxBodyBytes with tooLarge (413, in the shape the endpoint's
// clients read) without parsing it. A declared length is checked at once; a chunked body is
// read up to the limit first.
func LimitBody(tooLarge http.HandlerFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > MaxBodyBytes {
				tooLarge(w, r)
				return
			}
			if r.Body != nil && r.Body != http.NoBody && r.ContentLength < 0 {
				buf, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
				if err != nil {
					http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
					return
				}
				if len(buf) > MaxBodyBytes {
					tooLarge(w, r)
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(buf))
			}
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
			next.ServeHTTP(w, r)
		})
	}
}

// RecoverPanics turns a handler panic into internalError's answer (a 500 with nothing of the
// panic in it), and logs the panic with the request id.
func RecoverPanics(log *slog.Logger, internalError func(http.ResponseWriter)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					log.ErrorContext(r.Context(), "panic in handler", "panic", p, "request_id", reqmeta.ID(r.Context()))
					internalError(w)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// statusWriter records the status for the access log; it keeps Flush and Hijack reachable
// (streaming and WebSocket upgrades) through Unwrap.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// AccessLog writes one line per request: id, method, path, status, duration, and for GraphQL
// the operation's type and root field (names from the schema, never client-chosen). Never the
// query string, headers or bodies, which carry passwords and tokens.
func AccessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if !log.Enabled(r.Context(), slog.LevelDebug) && r.URL.Path == "/healthz" {
				return
			}
			attrs := [7]slog.Attr{
				slog.String("request_id", reqmeta.ID(r.Context())),
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", sw.status), slog.Duration("duration", time.Since(start)),
			}
			n := 5
			if opType, field := reqmeta.Operation(r.Context()); field != "" {
				attrs[5], attrs[6], n = slog.String("operation_type", opType), slog.String("operation", field), 7
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs[:n]...)
		})
	}
}

// CORS answers only the listed origins, never a wildcard, and never another origin with
// credentials.
func CORS(allowed []string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if len(allowed) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			w.Header().Add("Vary", "Origin") // the answer depends on it, allowed or not (caches)
			if origin != "" && slices.Contains(allowed, origin) {
				h := w.Header()
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Credentials", "true")
				if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
					h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
					h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Requested-With, Apollo-Require-Preflight")
					h.Set("Access-Control-Max-Age", "600")
					w.WriteHeader(http.StatusNoContent)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}
