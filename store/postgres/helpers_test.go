package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/gqlauth/internal/itest"
)

// testURL is the database the tests use; each test works in a fresh schema of it.
func testURL() string { return itest.PostgresBaseURL() }

var admin struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if admin.pool != nil {
		admin.pool.Close()
	}
	os.Exit(code)
}

// adminPool connects once; when the database is unreachable the test is skipped with a
// message CI looks for; with REQUIRE_INTEGRATION set (CI sets it) it fails instead.
func adminPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	admin.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		admin.pool, admin.err = pgxpool.New(ctx, testURL())
		if admin.err == nil {
			admin.err = admin.pool.Ping(ctx)
		}
	})
	if admin.err != nil {
		itest.Unavailable(t, "PostgreSQL unreachable (set TEST_DATABASE_URL): %v", admin.err)
	}
	return admin.pool
}

// freshSchema creates an empty schema with a random name, dropped when the test ends, and
// returns the test URL with search_path set to it.
func freshSchema(t testing.TB) string { return itest.PostgresURL(t) }

// freshDatabase creates an empty database, dropped when the test ends, and returns its URL.
func freshDatabase(t testing.TB) string {
	t.Helper()
	pool := adminPool(t)
	var b [8]byte
	rand.Read(b[:])
	name := "storetest_" + hex.EncodeToString(b[:])
	if _, err := pool.Exec(t.Context(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(testURL())
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL must be a URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// openStore opens a Store on a fresh schema, closed before the schema is dropped.
func openStore(t *testing.T) *Store {
	t.Helper()
	dsn := freshSchema(t)
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
