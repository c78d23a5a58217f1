package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/graph"
	"github.com/example/gqlauth/metrics"
	"github.com/example/gqlauth/oauth"
	"github.com/example/gqlauth/store/sqlite"
)

// app is the wired service.
type app struct {
	handler        http.Handler
	metrics        http.Handler // also in handler, unless METRICS_ADDR gives it a listener of its own
	auth           *auth.Service
	storeName      string
	baseCtx        context.Context // request contexts; not cancelled by a shutdown signal
	stopBackground context.CancelFunc
	close          func()
}

// openStore opens the database DATABASE_URL names: SQLite in DATA_DIR by default. Migrations
// log to log what an administrator must resolve.
func openStore(ctx context.Context, cfg config, log *slog.Logger) (auth.Store, string, error) {
	url := cfg.DatabaseURL
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		s, err := openPostgres(ctx, url, log)
		if err != nil {
			return nil, "", &configError{Var: "DATABASE_URL", Reason: "PostgreSQL: " + err.Error()}
		}
		return s, "postgres", nil
	default:
		path := filepath.Join(cfg.DataDir, "app.db")
		if p, ok := strings.CutPrefix(url, "sqlite://"); ok {
			path = p
		}
		s, err := sqlite.Open(ctx, path, sqlite.WithLogger(log))
		if err != nil {
			return nil, "", &configError{Var: "DATABASE_URL", Reason: fmt.Sprintf("SQLite %s: %v", path, err)}
		}
		return s, "sqlite", nil
	}
}

// build wires storage, keys, the auth service and the HTTP surface.
func build(ctx context.Context, cfg config, log *slog.Logger) (*app, error) {
	keys, err := loadKeys(cfg, log)
	if err != nil {
		return nil, err
	}
	store, storeName, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	// Warned only once the start can succeed, so a refused start prints one line.
	if cfg.Production && !cfg.RateLimits {
		log.Warn("RATE_LIMITS=off in production: logins are not limited")
	}
	rc, err := openRedis(ctx, cfg, log) // nil without REDIS_URL
	if err != nil {
		store.Close()
		return nil, err
	}
	var onChange func() // announce this instance's change-log appends to the others
	if rc != nil {
		onChange = rc.Notify
	}
	tokens := auth.NewTokens(keys, auth.TokenConfig{
		Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.AccessTTL, Leeway: auth.MaxLeeway,
	})
	m := metrics.New()
	bus := auth.NewEventBus(m)
	var limiter auth.Limiter
	if cfg.RateLimits {
		limiter = auth.NewMemoryLimiter(nil)
		if rc != nil {
			limiter = rc.Limiter() // shared; per instance while Redis is unavailable
		}
	}
	mm := m.NewMail()
	mailer, err := newMailer(cfg, store, log)
	if err != nil {
		if rc != nil {
			rc.Close()
		}
		store.Close()
		return nil, err
	}
	svc, err := auth.New(ctx, m.InstrumentStore(store), tokens, auth.Config{
		RefreshTTL: cfg.RefreshTTL, ReuseGrace: cfg.ReuseGrace, BcryptCost: cfg.BcryptCost,
		BcryptSlots:   cfg.BcryptConcurrency,
		Passwords:     auth.PasswordPolicy{MinLength: cfg.MinPasswordLength},
		LoginPerIP:    auth.Limit{N: cfg.LoginFailuresPerIP, Window: 15 * time.Minute},
		RegisterPerIP: auth.Limit{N: cfg.RegistrationsPerIP, Window: 10 * time.Minute},
		Limiter:       limiter, Logger: log, Events: bus, OnBcryptWait: m.ObserveBcryptWait,
		OnChange: onChange, AdminMFA: cfg.AdminMFA,
		// Subscribers are fed from the audit trail, which holds every instance's events.
		Deliver: bus.Deliver, AuditRetention: cfg.AuditRetention, OnPurged: m.ObservePurged,
		Mail: auth.MailConfig{
			Mailer: mailer, Verification: cfg.EmailVerification, LinkBase: cfg.MailLinkBase,
			SendTimeout: cfg.SMTPTimeout, OnMail: mm.ObserveMail,
		},
	})
	if err != nil {
		if rc != nil {
			rc.Close()
		}
		store.Close()
		return nil, err
	}

	bg, stopBackground := context.WithCancel(context.Background())
	go svc.Run(bg)
	go svc.RunHousekeeping(bg)
	go m.RunLiveSessions(bg, store.CountLiveSessions, 15*time.Second)
	go svc.RunMailSender(bg)
	go mm.Run(bg, store.MailStats, 15*time.Second)
	if rc != nil {
		rc.Start(bg, svc.Wake) // Redis pub/sub wakes every instance's view
	} else {
		listenPostgres(bg, store, svc.Wake) // LISTEN/NOTIFY does, on PostgreSQL
	}

	gql := graph.NewHandler(graph.Options{
		Auth: svc, Events: bus, Logger: log, RequestID: requestIDFrom, Production: cfg.Production,
		AllowedOrigins: cfg.CORSOrigins, ObserveOperation: m.ObserveOperation, AnnotateOperation: noteOperation,
	})
	metricsHandler := m.Handler()
	handler := newHandler(deps{
		cfg: cfg, log: log, auth: svc, graphql: gql,
		oauth: &oauth.Handler{Auth: svc, Keys: keys, Issuer: cfg.Issuer, PasswordGrant: cfg.OAuthPasswordGrant, Logger: log},
		ready: svc.Ready, metrics: metricsHandler, redis: redisStatus(rc), mailbox: store,
	})
	return &app{
		handler: handler, metrics: metricsHandler, auth: svc, storeName: storeName,
		baseCtx: context.WithoutCancel(ctx), stopBackground: stopBackground,
		close: func() {
			stopBackground()
			svc.Close() // stores the audit events still queued
			if rc != nil {
				rc.Close()
			}
			store.Close()
		},
	}, nil
}
