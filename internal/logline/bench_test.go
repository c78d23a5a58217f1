package logline

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// The access log's line, through this handler and through slog's (the comparison benchstat
// reads: go test -bench . -count 6 ./internal/logline/).
func BenchmarkAccessLine(b *testing.B) {
	r := records()[0]
	for _, c := range []struct {
		name string
		h    slog.Handler
	}{
		{"text/logline", New(io.Discard, false)},
		{"text/slog", slog.NewTextHandler(io.Discard, nil)},
		{"json/logline", New(io.Discard, true)},
		{"json/slog", slog.NewJSONHandler(io.Discard, nil)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				_ = c.h.Handle(ctx, r)
			}
		})
	}
}
