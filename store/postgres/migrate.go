package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A small hand-written migrator instead of golang-migrate, for the same reasons as the SQLite
// adapter (one record per applied file rather than a version plus dirty flag, no up/down
// pairs, and identical behaviour in both adapters); golang-migrate's pgx driver would also
// need database/sql alongside pgxpool. Steps SQL cannot express (folding Unicode case) are Go
// functions, ordered and recorded the same way.

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the embedded migration files, applied in lexical order among the Go
// steps (MigrationNames).
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// migrateLockClass is the first key of the session-level advisory lock taken while migrating;
// the second is a hash of the target schema, so different schemas migrate independently.
const migrateLockClass = 0x6761 // "ga"

const lockSQL = `SELECT pg_advisory_lock($1, hashtext(coalesce(current_schema(), '')))`
const unlockSQL = `SELECT pg_advisory_unlock($1, hashtext(coalesce(current_schema(), '')))`

// migrate applies pending migrations, each in its own transaction, under a session-level
// advisory lock so that instances starting together apply each file once.
func migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, lockSQL, migrateLockClass); err != nil {
		conn.Conn().Close(context.Background()) // the lock may be held; closing releases it
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, uerr := conn.Exec(uctx, unlockSQL, migrateLockClass); uerr != nil {
			// Never return a connection that may still hold the lock to the pool.
			conn.Conn().Close(uctx)
		}
	}()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       text PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("postgres: create schema_migrations: %w", err)
	}
	all, err := steps(log)
	if err != nil {
		return err
	}
	for _, st := range all {
		if err := migrateStep(ctx, conn.Conn(), st); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", st.name, err)
		}
	}
	return nil
}

// step is one migration: an embedded SQL file or a step in Go (goSteps), run in the
// transaction that records it.
type step struct {
	name string
	run  func(ctx context.Context, tx pgx.Tx) error
}

// goSteps are the migrations SQL cannot express; they run in name order among the SQL files.
func goSteps(log *slog.Logger) []step {
	return []step{{auth.EmailRefoldMigration, func(ctx context.Context, tx pgx.Tx) error { return refoldEmails(ctx, tx, log) }}}
}

// steps are every migration, in the order they apply: by name.
func steps(log *slog.Logger) ([]step, error) {
	names, err := fs.Glob(Migrations(), "*.sql")
	if err != nil {
		return nil, err
	}
	out := goSteps(log)
	for _, name := range names {
		out = append(out, step{name, func(ctx context.Context, tx pgx.Tx) error {
			body, err := fs.ReadFile(Migrations(), name)
			if err != nil {
				return err
			}
			// No arguments: pgx uses the simple protocol, which runs a multi-statement file.
			_, err = tx.Exec(ctx, string(body))
			return err
		}})
	}
	slices.SortFunc(out, func(a, b step) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// MigrationNames are the names of every migration, SQL files and Go steps, in the order they
// apply. They must equal the SQLite adapter's (a test checks).
func MigrationNames() []string {
	all, err := steps(nil)
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.name
	}
	return names
}

func migrateStep(ctx context.Context, conn *pgx.Conn, st step) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = $1)`, st.name).Scan(&done); err != nil {
			return err
		}
		if done {
			return nil
		}
		if err := st.run(ctx, tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (name) VALUES ($1)`, st.name)
		return err
	})
}
