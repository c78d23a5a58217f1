package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/migration"

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
func Migrations() fs.FS { return migration.Dir(migrationFS, "migrations") }

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
	if err := migration.Apply(ctx, steps(log), migrationRecord{conn.Conn()}); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// steps are every migration in the order they apply; the Go ones are those SQL cannot express.
func steps(log *slog.Logger) []migration.Step[pgx.Tx] {
	return migration.Ordered(Migrations(),
		func(ctx context.Context, tx pgx.Tx, body string) error {
			// No arguments: pgx uses the simple protocol, which runs a multi-statement file.
			_, err := tx.Exec(ctx, body)
			return err
		},
		migration.Step[pgx.Tx]{Name: auth.EmailRefoldMigration, Run: func(ctx context.Context, tx pgx.Tx) error {
			return refoldEmails(ctx, tx, log)
		}},
	)
}

// MigrationNames are the names of every migration, SQL files and Go steps, in the order they
// apply. They must equal the SQLite adapter's (a test checks).
func MigrationNames() []string { return migration.Names(steps(nil)) }

// migrationRecord is schema_migrations, read and written in the step's transaction on the
// connection that holds the migration lock.
type migrationRecord struct{ conn *pgx.Conn }

func (r migrationRecord) InTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, r.conn, fn)
}

func (migrationRecord) Applied(ctx context.Context, tx pgx.Tx, name string) (bool, error) {
	var done bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = $1)`, name).Scan(&done)
	return done, err
}

func (migrationRecord) Add(ctx context.Context, tx pgx.Tx, name string) error {
	_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (name) VALUES ($1)`, name)
	return err
}
