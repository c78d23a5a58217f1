package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// filled holds one filled database per size, made once per test binary run: filling a million
// rows takes far longer than the benchmark that uses them.
var filled struct {
	sync.Mutex
	dir   string
	files map[int]string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if filled.dir != "" {
		os.RemoveAll(filled.dir)
	}
	os.Exit(code)
}

// fillRotatedTokens replaces the database at path (closed, migrated, with user "u") by a copy
// holding also n rotated refresh tokens (random 32-byte hashes) spread over n/100 ended
// sessions of "u", written directly for speed.
func fillRotatedTokens(tb testing.TB, path string, n int) {
	tb.Helper()
	if n == 0 {
		return
	}
	filled.Lock()
	defer filled.Unlock()
	src, ok := filled.files[n]
	if !ok {
		if filled.dir == "" {
			dir, err := os.MkdirTemp("", "rotate-rows")
			if err != nil {
				tb.Fatal(err)
			}
			filled.dir, filled.files = dir, map[int]string{}
		}
		src = filepath.Join(filled.dir, fmt.Sprint(n, ".db"))
		copyFile(tb, path, src)
		fill(tb, src, n)
		filled.files[n] = src
	}
	copyFile(tb, src, path)
}

func fill(tb testing.TB, path string, n int) {
	// A page cache as large as the table and no syncs: the fill is set-up, not measured.
	db, err := sql.Open("sqlite", path+"?_pragma=cache_size(-1000000)&_pragma=synchronous(OFF)")
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
		`PRAGMA wal_checkpoint(TRUNCATE)`,
	} {
		if _, err := db.ExecContext(ctx, q, n); err != nil {
			tb.Fatal(err)
		}
	}
}

// copyFile copies the database file src to dst (closed databases, WAL checkpointed).
func copyFile(tb testing.TB, src, dst string) {
	tb.Helper()
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(dst + suffix); err != nil && !os.IsNotExist(err) {
			tb.Fatal(err)
		}
	}
	in, err := os.Open(src)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		tb.Fatal(err)
	}
	if err := out.Close(); err != nil {
		tb.Fatal(err)
	}
}
