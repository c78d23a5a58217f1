// Package app is the whole program: it reads the configuration, wires the stores, the auth
// service and the HTTP surface, serves until its context ends, and dispatches the
// administrator's commands. The root package's main() only calls Main.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/cli"
	"github.com/example/gqlauth/internal/config"
	"github.com/example/gqlauth/internal/logline"
)

// Main is the process's entry point: Run with the collector tuned for this server (tuneGC)
// and stderr batched — log lines (one per request) go out every 100 ms, and all of them at exit.
func Main(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	tuneGC(getenv)
	logw := newAsyncWriter(stderr, 100*time.Millisecond)
	defer logw.Close()
	return Run(ctx, args, getenv, stdin, stdout, logw)
}

// Run runs the program as a process would, and returns its exit code: it serves (no
// arguments) until ctx ends, or runs the command args name; an error is printed to stderr as
// one line.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	return ExitCode(Exec(ctx, args, getenv, stdin, stdout, stderr), stderr)
}

// tuneGC sets the collector for a server whose live heap is small (a few MB) and whose
// requests each allocate ~15 KB of garbage: with Go's default GOGC=100 it collected dozens of
// times a second under load. GOGC=200 collects a third as often; 400 was ~12 % faster still in
// BenchmarkMe but took the peak RSS under the `me` load to 65 MB (200: 49 MB; the target is
// 60). The 256 MiB soft memory limit makes the collector work harder before a large live heap
// (a full user cache) grows three-fold. GOGC or GOMEMLIMIT in the environment win.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(256 << 20)
	}
}

// Exec is the whole program, without globals: tests call it with their own environment. Its
// error is what ExitCode prints and turns into the exit code.
func Exec(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 1 {
		return cli.Run(ctx, args[1:], getenv, stdin, stdout, stderr)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if cfg.BcryptLowPriority {
		reserveHashingProcs(getenv, cfg.BcryptConcurrency)
	}
	return serve(ctx, cfg, newLogger(cfg, stderr))
}

// baseProcs is GOMAXPROCS as the runtime chose it (CPUs, or the container's quota).
var baseProcs = runtime.GOMAXPROCS(0)

// reserveHashingProcs gives the server one P more per bcrypt slot (0: one per CPU, as the
// service defaults): bcrypt runs on low-priority threads that each hold a P while hashing
// (auth.ExtraProcs), so without spare Ps a login flood would take the processors that cheap
// requests need. An explicit GOMAXPROCS wins. Idempotent: tests run many servers in one process.
func reserveHashingProcs(getenv func(string) string, slots int) {
	if getenv("GOMAXPROCS") != "" {
		return
	}
	if slots <= 0 {
		slots = runtime.NumCPU()
	}
	runtime.GOMAXPROCS(baseProcs + auth.ExtraProcs(slots))
}

// newLogger is slog's JSON handler in production, its text handler otherwise, both with the
// fast path of internal/logline for the access log's lines.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	return slog.New(logline.New(w, cfg.Production))
}

// serve runs the HTTP server until ctx ends, then shuts down gracefully: it stops accepting
// connections and lets requests in flight finish (up to SHUTDOWN_TIMEOUT). With METRICS_ADDR,
// /metrics has a listener of its own, which stops with the main one.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	app, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer app.close()

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, cfg.Port))
	if err != nil {
		return listenError(cfg, err)
	}
	servers := []*http.Server{newHTTPServer(app.baseCtx, app.handler, log)}
	servers[0].RegisterOnShutdown(app.auth.EndFeedWaits) // long polls of /revocations answer now
	listeners := []net.Listener{ln}
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return &config.Error{Var: "METRICS_ADDR", Reason: err.Error()}
		}
		servers = append(servers, newHTTPServer(app.baseCtx, metricsOnly(app.metrics), log))
		listeners = append(listeners, mln)
	}
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	log.Info("listening", "addr", ln.Addr().String(), "production", cfg.Production, "database", app.storeName)
	if len(listeners) > 1 {
		log.Info("serving /metrics", "addr", listeners[1].Addr().String())
	}

	select {
	case err := <-errc: // a listener failed: stop the others too
		for _, srv := range servers {
			srv.Close()
		}
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down; letting requests in flight finish")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, srv := range servers { // the main server first: metrics stay scrapable while it drains
		if err := srv.Shutdown(shutdownCtx); err != nil {
			errs = append(errs, err)
		}
	}
	app.stopBackground()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// listenError names the variable at fault: PORT when the port is taken (or bad), HOST when the
// host is not an address of this machine.
func listenError(cfg config.Config, err error) error {
	if cfg.Host != "" && !errors.Is(err, syscall.EADDRINUSE) {
		return &config.Error{Var: "HOST", Reason: err.Error()}
	}
	return &config.Error{Var: "PORT", Reason: err.Error()}
}

func newHTTPServer(baseCtx context.Context, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
	}
}

// metricsOnly serves GET /metrics and nothing else: the metrics listener is not a second way
// into the API.
func metricsOnly(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	return mux
}
