package stores

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/postgres"
)

// postgresOpenTimeout bounds the start against an unreachable database: connecting, pinging
// and migrating (the migration lock included) must finish within it.
const postgresOpenTimeout = 10 * time.Second

// openPostgres opens the PostgreSQL store, applying its migrations. An unreachable database
// fails within postgresOpenTimeout; the caller reports it naming DATABASE_URL (exit code 2).
func openPostgres(ctx context.Context, url string, log *slog.Logger) (auth.Store, error) {
	ctx, cancel := context.WithTimeout(ctx, postgresOpenTimeout)
	defer cancel()
	s, err := postgres.Open(ctx, url, postgres.WithLogger(log))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("no answer within %v: %w", postgresOpenTimeout, err)
		}
		return nil, err
	}
	return s, nil
}

// ListenPostgres starts LISTEN/NOTIFY when store is PostgreSQL: every change-log append on any
// instance then wakes this instance's view at once (and after each reconnect, to catch up). It
// reports whether it started. Without it, the change-log poll alone bounds staleness.
func ListenPostgres(ctx context.Context, store auth.Store, wake func()) bool {
	pg, ok := store.(*postgres.Store)
	if !ok {
		return false
	}
	go func() { _ = pg.ListenChanges(ctx, wake) }() // it returns only ctx.Err(), when ctx ends
	return true
}
