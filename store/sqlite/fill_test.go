package sqlite_test

import (
	"context"
	"database/sql"
	"testing"
)

// fillRotatedTokens adds n rotated refresh tokens (random 32-byte hashes) spread over n/100
// ended sessions of user "u" to the database at path, written directly for speed.
func fillRotatedTokens(tb testing.TB, path string, n int) {
	tb.Helper()
	if n == 0 {
		return
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, q := range []string{
		`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?1 / 100)
			INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, ended_at)
			SELECT printf('0193a5af-0000-7000-8000-%012d', i), 'u', 0, 0, 1, 1 FROM c`,
		`WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ?1 - 1)
			INSERT INTO refresh_tokens (hash, session_id, created_at, rotated_at)
			SELECT randomblob(32), printf('0193a5af-0000-7000-8000-%012d', i / 100 + 1), 0, 1 FROM c`,
	} {
		if _, err := db.ExecContext(ctx, q, n); err != nil {
			tb.Fatal(err)
		}
	}
}
