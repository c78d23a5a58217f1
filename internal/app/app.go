package app

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/graph"
	"github.com/example/gqlauth/internal/config"
	"github.com/example/gqlauth/internal/stores"
	"github.com/example/gqlauth/metrics"
	"github.com/example/gqlauth/oauth"
	"github.com/example/gqlauth/passkey"
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

// build wires storage, keys, the auth service and the HTTP surface.
func build(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	keys, err := config.LoadKeys(cfg, log)
	if err != nil {
		return nil, err
	}
	mk, err := config.MFAKeys(cfg)
	if err != nil {
		return nil, &config.Error{Var: "MFA_ENCRYPTION_KEY", Reason: err.Error()}
	}
	store, storeName, err := stores.Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	// Warned only once the start can succeed, so a refused start prints one line.
	if cfg.Production && !cfg.RateLimits {
		log.Warn("RATE_LIMITS=off in production: logins are not limited")
	}
	rc, err := stores.OpenRedis(ctx, cfg, log) // nil without REDIS_URL
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
	webauthn, err := passkeys(cfg, log)
	if err != nil {
		if rc != nil {
			rc.Close()
		}
		store.Close()
		return nil, err
	}
	svc, err := auth.New(ctx, store, tokens, auth.Config{
		WrapStore:  m.InstrumentStore, // timed; auth.New puts the request deadline around it
		RefreshTTL: cfg.RefreshTTL, ReuseGrace: cfg.ReuseGrace, BcryptCost: cfg.BcryptCost,
		BcryptSlots: cfg.BcryptConcurrency, BcryptLowPriority: cfg.BcryptLowPriority,
		Passwords:     auth.PasswordPolicy{MinLength: cfg.MinPasswordLength},
		LoginPerIP:    auth.Limit{N: cfg.LoginFailuresPerIP, Window: 15 * time.Minute},
		RegisterPerIP: auth.Limit{N: cfg.RegistrationsPerIP, Window: 10 * time.Minute},
		Limiter:       limiter, Logger: log, Events: bus, OnBcryptWait: m.ObserveBcryptWait,
		OnChange: onChange, AdminMFA: cfg.AdminMFA, Passkeys: webauthn,
		MFAKeys: mk, TOTPIssuer: config.TOTPIssuer(cfg),
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
		stores.ListenPostgres(bg, store, svc.Wake) // LISTEN/NOTIFY does, on PostgreSQL
	}

	gql := graph.NewHandler(graph.Options{
		Auth: svc, Events: bus, Logger: log, Production: cfg.Production,
		AllowedOrigins: cfg.CORSOrigins, ObserveOperation: m.ObserveOperation,
	})
	metricsHandler := m.Handler()
	handler := newHandler(deps{
		cfg: cfg, log: log, auth: svc, graphql: gql,
		oauth: &oauth.Handler{Auth: svc, Keys: keys, Issuer: cfg.Issuer, PasswordGrant: cfg.OAuthPasswordGrant, Logger: log},
		ready: svc.Ready, metrics: metricsHandler, redis: stores.RedisStatus(rc), mailbox: store,
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

// App is the wired service without a listener, for benchmarks that drive it in process.
type App = app

// New wires the service cfg describes, as serve does, without listening.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	return build(ctx, cfg, log)
}

// Handler is the whole HTTP surface.
func (a *app) Handler() http.Handler { return a.handler }

// Close stops the background work and closes the stores.
func (a *app) Close() { a.close() }

// passkeys builds the WebAuthn adapter for WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS, or nil when
// the settings turned passkeys off (config.WebAuthn.Off says why; the passkey operations then
// answer an error).
func passkeys(cfg config.Config, log *slog.Logger) (auth.PasskeyProtocol, error) {
	if cfg.WebAuthn.RPID == "" {
		log.Info("passkeys are off", "reason", cfg.WebAuthn.Off)
		return nil, nil
	}
	a, err := passkey.New(passkey.Config{RPID: cfg.WebAuthn.RPID, Origins: cfg.WebAuthn.Origins})
	if err != nil {
		return nil, &config.Error{Var: "WEBAUTHN_RP_ID", Reason: err.Error()}
	}
	return a, nil
}
