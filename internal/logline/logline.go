// Package logline is the server's log handler: slog's TextHandler or JSONHandler (default
// options: Info and above, no source), writing the same bytes, with a fast path for the lines a
// server writes most. The access log writes one line per request, and the standard handlers
// spend about a microsecond on each (a third of what the whole GraphQL layer adds to a cheap
// request); most of it goes to generality the access log does not need: quoting decisions,
// replaceable attributes, groups. Records made only of plain strings (no space, '=', quote,
// backslash or non-ASCII), integers, booleans and durations are written here; anything else
// goes to the standard handler. TestMatchesSlog and FuzzMatchesSlog hold both paths to the same
// bytes.
package logline

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// Handler is a slog.Handler; see the package comment.
type Handler struct {
	std  slog.Handler // the standard handler, for every record the fast path does not take
	json bool
	out  *lockedWriter
}

// New returns the handler writing to w: JSON lines when json is set (production), else text.
func New(w io.Writer, json bool) *Handler {
	out := &lockedWriter{w: w}
	var std slog.Handler = slog.NewTextHandler(out, nil)
	if json {
		std = slog.NewJSONHandler(out, nil)
	}
	return &Handler{std: std, json: json, out: out}
}

// lockedWriter keeps the two paths' lines whole: the standard handler serialises its own writes
// only, so both write through this.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Enabled is the standard handler's (Info and above).
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.std.Enabled(ctx, l) }

// WithAttrs and WithGroup return the standard handler's derivations: loggers with attributes
// of their own are not on the hot path.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler { return h.std.WithAttrs(attrs) }

// WithGroup: see WithAttrs.
func (h *Handler) WithGroup(name string) slog.Handler { return h.std.WithGroup(name) }

// maxPooledLine bounds the buffers kept for reuse; a longer line's buffer goes to the GC.
const maxPooledLine = 4 << 10

var lines = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Handle writes r.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	bp := lines.Get().(*[]byte)
	b, ok := h.appendRecord((*bp)[:0], r)
	if !ok {
		lines.Put(bp)
		return h.std.Handle(ctx, r)
	}
	_, err := h.out.Write(b)
	if cap(b) <= maxPooledLine {
		*bp = b
		lines.Put(bp)
	}
	return err
}

// appendRecord appends r as the standard handler would write it, or reports false when r is
// not one the fast path takes.
func (h *Handler) appendRecord(b []byte, r slog.Record) ([]byte, bool) {
	if r.Time.IsZero() || r.Time.Year() < 0 || r.Time.Year() >= 10000 || !plain(r.Message) {
		return b, false
	}
	switch r.Level {
	case slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError:
	default:
		return b, false
	}
	t := r.Time.Round(0) // no monotonic reading, as the standard handlers
	if h.json {
		b = append(b, `{"time":"`...)
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","level":"`...)
		b = append(b, r.Level.String()...)
		b = append(b, `","msg":"`...)
		b = append(b, r.Message...)
		b = append(b, '"')
	} else {
		b = append(b, "time="...)
		b = appendRFC3339Millis(b, t)
		b = append(b, " level="...)
		b = append(b, r.Level.String()...)
		b = append(b, " msg="...)
		b = append(b, r.Message...)
	}
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		b, ok = h.appendAttr(b, a)
		return ok
	})
	if !ok {
		return b, false
	}
	if h.json {
		b = append(b, '}')
	}
	return append(b, '\n'), true
}

// appendAttr appends one attribute, or reports false for one the fast path does not take.
func (h *Handler) appendAttr(b []byte, a slog.Attr) ([]byte, bool) {
	if !plain(a.Key) {
		return b, false
	}
	if h.json {
		b = append(b, `,"`...)
		b = append(b, a.Key...)
		b = append(b, `":`...)
	} else {
		b = append(b, ' ')
		b = append(b, a.Key...)
		b = append(b, '=')
	}
	v := a.Value
	switch v.Kind() {
	case slog.KindString:
		s := v.String()
		if !plain(s) {
			return b, false
		}
		if h.json {
			b = append(b, '"')
			b = append(b, s...)
			return append(b, '"'), true
		}
		return append(b, s...), true
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10), true
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10), true
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool()), true
	case slog.KindDuration:
		if h.json {
			return strconv.AppendInt(b, int64(v.Duration()), 10), true // nanoseconds, as slog
		}
		return append(b, v.Duration().String()...), true
	}
	return b, false
}

// plain reports whether s is written as it is in both formats: not empty, printable ASCII
// without space, '=', '"' or '\\' (no quoting in text, no escaping in JSON).
func plain(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' || c == '=' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// appendRFC3339Millis is the text handler's time format: RFC 3339 with exactly three
// fractional digits (log/slog's function of the same name, which is not exported).
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...) // drop the fourth digit
}
