package sqlite

import (
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/migration"
)

// migratedBefore creates a database at path with the migrations before the one named first,
// as a release that predates it left it.
func migratedBefore(t *testing.T, path, first string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_txlock=immediate&_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	var before []migration.Step[*sql.Tx]
	for _, st := range steps(slog.New(slog.DiscardHandler)) {
		if st.Name < first {
			before = append(before, st)
		}
	}
	if err := migration.Apply(t.Context(), before, migrationRecord{db}); err != nil {
		t.Fatal(err)
	}
	return db
}

// reopen closes the half-migrated db and opens the store at path, which applies the rest.
func reopen(t *testing.T, db *sql.DB, path string) *Store {
	t.Helper()
	db.Close()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// 0008 moves each session's current refresh token onto the session row: after it, tokens
// issued before rotate, and their rotated predecessors still count as reuse.
func TestMigrationSessionRefreshHash(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "auth.db")
	db := migratedBefore(t, path, "0008")
	defer db.Close()
	t0 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES ('u', 'u@example.com', '', 0, 0)`,
		`INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, amr, auth_time)
			VALUES ('s', 'u', 1, 1, ?, 'pwd', 1)`,
		`INSERT INTO refresh_tokens (hash, session_id, created_at, rotated_at) VALUES (x'01', 's', 1, 2), (x'02', 's', 2, NULL)`,
	} {
		if _, err := db.ExecContext(ctx, q, micros(t0.Add(time.Hour))); err != nil {
			t.Fatal(q, err)
		}
	}
	s := reopen(t, db, path)
	if rt, err := s.RefreshTokenByHash(ctx, []byte{2}); err != nil || rt.SessionID != "s" || !rt.RotatedAt.IsZero() || !rt.CreatedAt.Equal(fromMicros(2)) {
		t.Fatalf("current token after the migration = %+v, %v", rt, err)
	}
	sess, err := s.RotateRefreshToken(ctx, auth.RefreshHash{Sum: []byte{2}}, auth.RefreshHash{Sum: []byte{3}}, t0)
	if err != nil || sess.ID != "s" || !sess.LastUsedAt.Equal(t0) {
		t.Fatalf("rotating the current token = %+v, %v", sess, err)
	}
	for _, old := range [][]byte{{1}, {2}} {
		var rotated *auth.AlreadyRotatedError
		if _, err := s.RotateRefreshToken(ctx, auth.RefreshHash{Sum: old}, auth.RefreshHash{Sum: []byte{9}}, t0); !errors.As(err, &rotated) || rotated.SessionID != "s" {
			t.Errorf("rotating %x again = %v, want AlreadyRotatedError", old, err)
		}
	}
	if rt, err := s.RefreshTokenByHash(ctx, []byte{2}); err != nil || rt.RotatedAt.IsZero() || !rt.RotatedAt.Equal(t0) || !rt.CreatedAt.Equal(fromMicros(2)) {
		t.Errorf("rotated token = %+v, %v", rt, err)
	}
}

// 0032: tokens issued before it (which name no session) go on being filed when retired, so their
// reuse is still recognised; a session's named tokens file nothing, and the table of rotated
// tokens stops growing with its rotations.
func TestMigrationNamedRefreshTokens(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "auth.db")
	db := migratedBefore(t, path, "0032")
	t0 := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES ('u', 'u@example.com', '', 0, 0)`,
		`INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, amr, auth_time, refresh_hash, refresh_created_at)
			VALUES ('s', 'u', 1, 1, ?1, 'pwd', 1, x'01', 1)`,
		`UPDATE sessions SET refresh_hash = x'02', refresh_created_at = 2 WHERE id = 's'`, // the old trigger files x'01'
	} {
		if _, err := db.ExecContext(ctx, q, micros(t0.Add(time.Hour))); err != nil {
			t.Fatal(q, err)
		}
	}
	s := reopen(t, db, path)
	filed := func() (n int) {
		t.Helper()
		if err := s.wdb.QueryRowContext(ctx, `SELECT count(*) FROM refresh_tokens`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := filed(); n != 1 {
		t.Fatalf("%d rotated tokens before the first rotation, want 1", n)
	}
	name := func(b byte) auth.RefreshHash { return auth.RefreshHash{Sum: []byte{b}, SessionID: "s"} }
	if _, err := s.RotateRefreshToken(ctx, auth.RefreshHash{Sum: []byte{2}}, name(3), t0); err != nil {
		t.Fatal(err)
	}
	if n := filed(); n != 2 {
		t.Errorf("%d rotated tokens after retiring an unnamed one, want 2", n)
	}
	for i := range byte(100) {
		if _, err := s.RotateRefreshToken(ctx, name(3+i), name(4+i), t0.Add(time.Duration(i+1)*time.Second)); err != nil {
			t.Fatal(i, err)
		}
	}
	if n := filed(); n != 2 {
		t.Errorf("%d rotated tokens after 100 rotations of named tokens, want still 2", n)
	}
	for _, old := range []auth.RefreshHash{{Sum: []byte{1}}, {Sum: []byte{2}}, name(3), name(50), name(102)} {
		var rotated *auth.AlreadyRotatedError
		if _, err := s.RotateRefreshToken(ctx, old, name(200), t0.Add(time.Hour-time.Second)); !errors.As(err, &rotated) || rotated.SessionID != "s" {
			t.Errorf("rotating %x again = %v, want AlreadyRotatedError", old.Sum, err)
		}
	}
	if _, err := s.RotateRefreshToken(ctx, name(103), name(104), t0.Add(time.Hour-time.Second)); err != nil {
		t.Errorf("rotating the current token: %v", err)
	}
}
