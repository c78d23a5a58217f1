package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/migration"
)

// A small hand-written migrator instead of golang-migrate: its SQLite driver locks only within
// one process (two processes opening a fresh file race and leave it "dirty"), it records a
// single version plus a dirty flag rather than each applied file, and it wants up/down file
// pairs. Here each file runs in its own BEGIN IMMEDIATE transaction that first checks
// schema_migrations, so concurrent openers serialise on SQLite's write lock and each file is
// applied exactly once. Steps SQL cannot express (folding Unicode case) are Go functions,
// ordered and recorded the same way.

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the embedded migration files (names like 0001_users.sql), applied in
// lexical order among the Go steps (MigrationNames).
func Migrations() fs.FS { return migration.Dir(migrationFS, "migrations") }

// steps are every migration in the order they apply; the Go ones are those SQL cannot express.
func steps(log *slog.Logger) []migration.Step[*sql.Tx] {
	return migration.Ordered(Migrations(),
		func(ctx context.Context, tx *sql.Tx, body string) error {
			_, err := tx.ExecContext(ctx, body)
			return err
		},
		migration.Step[*sql.Tx]{Name: auth.EmailRefoldMigration, Run: func(ctx context.Context, tx *sql.Tx) error {
			return refoldEmails(ctx, tx, log)
		}},
	)
}

// MigrationNames are the names of every migration, SQL files and Go steps, in the order they
// apply. The PostgreSQL adapter must have the same (a test checks).
func MigrationNames() []string { return migration.Names(steps(nil)) }

func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT    PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	if err := migration.Apply(ctx, steps(log), migrationRecord{db}); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// migrationRecord is schema_migrations, read and written in the step's transaction.
type migrationRecord struct{ db *sql.DB }

func (r migrationRecord) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := r.db.BeginTx(ctx, nil) // immediate: holds the write lock from here
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func (migrationRecord) Applied(ctx context.Context, tx *sql.Tx, name string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n)
	return n > 0, err
}

func (migrationRecord) Add(ctx context.Context, tx *sql.Tx, name string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
		name, time.Now().UnixMicro())
	return err
}
