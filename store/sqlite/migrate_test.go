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

// 0008 moves each session's current refresh token onto the session row: after it, tokens
// issued before rotate, and their rotated predecessors still count as reuse.
func TestMigrationSessionRefreshHash(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "auth.db")
	db, err := sql.Open("sqlite", path+"?_txlock=immediate&_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	var before []migration.Step[*sql.Tx]
	for _, st := range steps(slog.New(slog.DiscardHandler)) {
		if st.Name < "0008" {
			before = append(before, st)
		}
	}
	if err := migration.Apply(ctx, before, migrationRecord{db}); err != nil {
		t.Fatal(err)
	}
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
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rt, err := s.RefreshTokenByHash(ctx, []byte{2}); err != nil || rt.SessionID != "s" || !rt.RotatedAt.IsZero() || !rt.CreatedAt.Equal(fromMicros(2)) {
		t.Fatalf("current token after the migration = %+v, %v", rt, err)
	}
	sess, err := s.RotateRefreshToken(ctx, []byte{2}, []byte{3}, t0)
	if err != nil || sess.ID != "s" || !sess.LastUsedAt.Equal(t0) {
		t.Fatalf("rotating the current token = %+v, %v", sess, err)
	}
	for _, old := range [][]byte{{1}, {2}} {
		var rotated *auth.AlreadyRotatedError
		if _, err := s.RotateRefreshToken(ctx, old, []byte{9}, t0); !errors.As(err, &rotated) || rotated.SessionID != "s" {
			t.Errorf("rotating %x again = %v, want AlreadyRotatedError", old, err)
		}
	}
	if rt, err := s.RefreshTokenByHash(ctx, []byte{2}); err != nil || rt.RotatedAt.IsZero() || !rt.RotatedAt.Equal(t0) || !rt.CreatedAt.Equal(fromMicros(2)) {
		t.Errorf("rotated token = %+v, %v", rt, err)
	}
}
