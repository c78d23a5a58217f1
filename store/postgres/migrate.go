package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A small hand-written migrator instead of golang-migrate, for the same reasons as the SQLite
// adapter (one record per applied file rather than a version plus dirty flag, no up/down
// pairs, and identical behaviour in both adapters); golang-migrate's pgx driver would also
// need database/sql alongside pgxpool.

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the embedded migration files, applied in lexical order. The names must
// equal the SQLite adapter's (a test checks).
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
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
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
	names, err := fs.Glob(Migrations(), "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := migrateFile(ctx, conn.Conn(), name); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", name, err)
		}
	}
	return nil
}

func migrateFile(ctx context.Context, conn *pgx.Conn, name string) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = $1)`, name).Scan(&done); err != nil {
			return err
		}
		if done {
			return nil
		}
		body, err := fs.ReadFile(Migrations(), name)
		if err != nil {
			return err
		}
		// No arguments: pgx uses the simple protocol, which runs a multi-statement file.
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO schema_migrations (name) VALUES ($1)`, name)
		return err
	})
}
