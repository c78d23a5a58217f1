// Package postgres implements auth.Store on PostgreSQL with pgx and pgxpool.
//
// Several service instances share the database. Refresh rotation serialises on the session row
// and retires the token with a conditional UPDATE; change-log writers serialise on one advisory
// lock so that seq order is commit order; every change-log append also NOTIFYs auth_changes,
// which ListenChanges turns into a callback.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/internal/sqlshared"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ auth.Store = (*Store)(nil)

// Store is an auth.Store backed by PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// Option configures Open.
type Option func(*options)

type options struct{ log *slog.Logger }

// WithLogger is where migrations report what an administrator must resolve (accounts whose
// emails now fold together); slog.Default() otherwise.
func WithLogger(log *slog.Logger) Option { return func(o *options) { o.log = log } }

// Open connects to the database at url (a postgres:// URL or key=value DSN; pgx's pool_*
// parameters are honoured) and applies pending migrations. Tables live in the first schema of
// the search_path, which the URL may set (?search_path=myschema); that schema must exist.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	o := options{log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	applyDefaults(cfg, url)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: ping: %w", err)
	}
	if err := migrate(ctx, pool, o.log); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// applyDefaults makes a lost database show up as errors instead of hangs: dead pooled
// connections are pinged away (bounded by PingTimeout even for callers without a deadline),
// and TCP keepalives break connections to a peer that vanished without a FIN, including the
// LISTEN connection that otherwise only ever reads. Settings given in the URL win.
func applyDefaults(cfg *pgxpool.Config, url string) {
	given := func(param string) bool { return strings.Contains(url, param+"=") }
	if !given("pool_health_check_period") {
		cfg.HealthCheckPeriod = 15 * time.Second
	}
	if !given("pool_max_conn_idle_time") {
		cfg.MaxConnIdleTime = 5 * time.Minute
	}
	if !given("pool_max_conn_lifetime") {
		cfg.MaxConnLifetime = 30 * time.Minute
	}
	if !given("pool_max_conn_lifetime_jitter") {
		cfg.MaxConnLifetimeJitter = time.Minute
	}
	if !given("pool_ping_timeout") {
		cfg.PingTimeout = 5 * time.Second
	}
	if !given("connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	dialer := &net.Dialer{KeepAliveConfig: net.KeepAliveConfig{
		Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3,
	}}
	cfg.ConnConfig.DialFunc = dialer.DialContext
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes the pool, waiting for acquired connections to be released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// inTx runs fn in a transaction, rolling back when fn fails.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// isUniqueViolation reports a violation of the named unique constraint (SQLSTATE 23505).
func isUniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == constraint
}

// utc converts a scanned timestamptz (pgx returns local time) to UTC.
func utc(t time.Time) time.Time { return t.UTC() }

// nullTime stores the zero time as NULL (EndedAt of a live session, say).
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func fromNullTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// times reads the timestamptz columns for the rows sqlshared knows.
var times = sqlshared.Times[time.Time, *time.Time]{Time: utc, Null: fromNullTime}
