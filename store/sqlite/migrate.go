package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"
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
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// step is one migration: an embedded SQL file or a step in Go (goSteps), run in the
// transaction that records it.
type step struct {
	name string
	run  func(ctx context.Context, tx *sql.Tx) error
}

// goSteps are the migrations SQL cannot express; they run in name order among the SQL files.
func goSteps(log *slog.Logger) []step {
	return []step{{auth.EmailRefoldMigration, func(ctx context.Context, tx *sql.Tx) error { return refoldEmails(ctx, tx, log) }}}
}

// steps are every migration, in the order they apply: by name.
func steps(log *slog.Logger) ([]step, error) {
	names, err := fs.Glob(Migrations(), "*.sql")
	if err != nil {
		return nil, err
	}
	out := goSteps(log)
	for _, name := range names {
		out = append(out, step{name, func(ctx context.Context, tx *sql.Tx) error {
			body, err := fs.ReadFile(Migrations(), name)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, string(body))
			return err
		}})
	}
	slices.SortFunc(out, func(a, b step) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// MigrationNames are the names of every migration, SQL files and Go steps, in the order they
// apply. The PostgreSQL adapter must have the same (a test checks).
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

func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT    PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}
	all, err := steps(log)
	if err != nil {
		return err
	}
	for _, st := range all {
		if err := migrateStep(ctx, db, st); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", st.name, err)
		}
	}
	return nil
}

func migrateStep(ctx context.Context, db *sql.DB, st step) error {
	tx, err := db.BeginTx(ctx, nil) // immediate: holds the write lock from here
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, st.name).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return nil // applied earlier or by another process
	}
	if err := st.run(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
		st.name, time.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}
