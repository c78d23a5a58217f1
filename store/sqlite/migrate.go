package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"time"
)

// A small hand-written migrator instead of golang-migrate: its SQLite driver locks only within
// one process (two processes opening a fresh file race and leave it "dirty"), it records a
// single version plus a dirty flag rather than each applied file, and it wants up/down file
// pairs. Here each file runs in its own BEGIN IMMEDIATE transaction that first checks
// schema_migrations, so concurrent openers serialise on SQLite's write lock and each file is
// applied exactly once.

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the embedded migration files (names like 0001_users.sql), applied in
// lexical order. The PostgreSQL adapter must have the same names.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT    PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	names, err := fs.Glob(Migrations(), "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := migrateFile(ctx, db, name); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", name, err)
		}
	}
	return nil
}

func migrateFile(ctx context.Context, db *sql.DB, name string) error {
	tx, err := db.BeginTx(ctx, nil) // immediate: holds the write lock from here
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return nil // applied earlier or by another process
	}
	body, err := fs.ReadFile(Migrations(), name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
		name, time.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}
