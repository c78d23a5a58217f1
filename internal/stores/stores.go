// Package stores opens the stores the configuration names: the database (SQLite or
// PostgreSQL, migrated) and Redis. The server and the admin commands open them the same way.
package stores

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/config"
	"github.com/example/gqlauth/store/sqlite"
)

// Open opens the database DATABASE_URL names: SQLite in DATA_DIR by default. Migrations
// log to log what an administrator must resolve.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (auth.Store, string, error) {
	url := cfg.DatabaseURL
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		s, err := openPostgres(ctx, url, log)
		if err != nil {
			return nil, "", &config.Error{Var: "DATABASE_URL", Reason: "PostgreSQL: " + err.Error()}
		}
		return s, "postgres", nil
	default:
		path := filepath.Join(cfg.DataDir, "app.db")
		if p, ok := strings.CutPrefix(url, "sqlite://"); ok {
			path = p
		}
		s, err := sqlite.Open(ctx, path, sqlite.WithLogger(log))
		if err != nil {
			return nil, "", &config.Error{Var: "DATABASE_URL", Reason: fmt.Sprintf("SQLite %s: %v", path, err)}
		}
		return s, "sqlite", nil
	}
}
