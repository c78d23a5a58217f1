package logline

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"
)

// records are the lines the server writes, and ones the fast path must leave to slog.
func records() []slog.Record {
	at := time.Date(2026, 12, 1, 20, 30, 47, 123456789, time.UTC)
	rec := func(t time.Time, l slog.Level, msg string, attrs ...slog.Attr) slog.Record {
		r := slog.NewRecord(t, l, msg, 0)
		r.AddAttrs(attrs...)
		return r
	}
	access := []slog.Attr{
		slog.String("request_id", "946e85df00107105"), slog.String("method", "POST"),
		slog.String("path", "/query"), slog.Int("status", 200),
		slog.Duration("duration", 51537*time.Nanosecond),
		slog.String("operation_type", "query"), slog.String("operation", "me"),
	}
	return []slog.Record{
		rec(at, slog.LevelInfo, "request", access...),
		rec(at.In(time.FixedZone("x", 3600+1800)), slog.LevelWarn, "request", access...),
		rec(at.Truncate(time.Second), slog.LevelError, "x", slog.Bool("ok", false), slog.Uint64("n", 1<<63)),
		rec(at, slog.LevelDebug, "m", slog.Duration("d", 0), slog.Duration("d", 90*time.Minute), slog.Int("neg", -3)),
		// Left to slog: each of these has something the fast path does not write.
		rec(at, slog.LevelInfo, "two words"),
		rec(at, slog.LevelInfo, "m", slog.String("path", "/a b")),
		rec(at, slog.LevelInfo, "m", slog.String("path", `/"q"`)),
		rec(at, slog.LevelInfo, "m", slog.String("path", "/é")),
		rec(at, slog.LevelInfo, "m", slog.String("path", "")),
		rec(at, slog.LevelInfo, "m", slog.String("k=v", "x")),
		rec(at, slog.LevelInfo, "m", slog.Any("err", context.Canceled)),
		rec(at, slog.LevelInfo, "m", slog.Float64("f", 1.5)),
		rec(at, slog.LevelInfo, "m", slog.Time("t", at)),
		rec(at, slog.LevelInfo, "m", slog.Group("g", slog.Int("a", 1))),
		rec(at, slog.LevelInfo+2, "m"),
		rec(time.Time{}, slog.LevelInfo, "m"),
	}
}

func TestMatchesSlog(t *testing.T) {
	for _, json := range []bool{false, true} {
		for i, r := range records() {
			got, want := handle(t, json, r, true), handle(t, json, r, false)
			if !bytes.Equal(got, want) {
				t.Errorf("json=%v record %d:\n got  %q\n want %q", json, i, got, want)
			}
		}
	}
}

// The fast path must take the access log's line, or the handler saves nothing.
func TestFastPathTakesTheAccessLogLine(t *testing.T) {
	for _, json := range []bool{false, true} {
		if _, ok := New(nil, json).appendRecord(nil, records()[0]); !ok {
			t.Errorf("json=%v: the access log's line went to slog", json)
		}
	}
}

func FuzzMatchesSlog(f *testing.F) {
	f.Add("request", "request_id", "946e85df00107105", int64(200), int64(51537), int64(1764621047123456789), false)
	f.Add("m", "k", "a b", int64(-1), int64(0), int64(0), true)
	f.Fuzz(func(t *testing.T, msg, key, val string, n, d, unixNano int64, json bool) {
		r := slog.NewRecord(time.Unix(0, unixNano).UTC(), slog.LevelInfo, msg, 0)
		r.AddAttrs(slog.String(key, val), slog.Int64("n", n), slog.Duration("d", time.Duration(d)))
		if got, want := handle(t, json, r, true), handle(t, json, r, false); !bytes.Equal(got, want) {
			t.Fatalf("json=%v:\n got  %q\n want %q", json, got, want)
		}
	})
}

// handle writes r with this package's handler (ours) or slog's own.
func handle(t testing.TB, json bool, r slog.Record, ours bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var h slog.Handler = New(&buf, json)
	if !ours {
		h = slog.NewTextHandler(&buf, nil)
		if json {
			h = slog.NewJSONHandler(&buf, nil)
		}
	}
	if err := h.Handle(context.Background(), r.Clone()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
