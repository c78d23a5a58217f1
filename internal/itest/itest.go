// Package itest gives integration tests the services they need: a fresh PostgreSQL schema, a
// Redis key prefix of their own, a throwaway redis-server they may kill. When a service is
// missing a test is skipped with a "SKIP-INTEGRATION:" message, unless REQUIRE_INTEGRATION is
// set (CI sets it): then it fails.
package itest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// Unavailable skips the test because a service is missing, or fails it under REQUIRE_INTEGRATION.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := "SKIP-INTEGRATION: " + fmt.Sprintf(format, args...)
	if os.Getenv("REQUIRE_INTEGRATION") != "" {
		t.Fatal(msg + " (REQUIRE_INTEGRATION is set)")
	}
	t.Skip(msg)
}

func random() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// PostgresBaseURL is the database integration tests use (TEST_DATABASE_URL overrides).
func PostgresBaseURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

var pg struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error
}

// postgres connects once to the base database, through which schemas and databases are made
// and dropped; the test is skipped (or fails) when it does not answer.
func postgres(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pg.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pg.pool, pg.err = pgxpool.New(ctx, PostgresBaseURL())
		if pg.err == nil {
			pg.err = pg.pool.Ping(ctx)
		}
	})
	if pg.err != nil {
		Unavailable(t, "PostgreSQL unreachable (set TEST_DATABASE_URL): %v", pg.err)
	}
	return pg.pool
}

// create runs "CREATE <kind> name" and, when the test ends, "DROP <kind> name <drop>".
func create(t testing.TB, kind, name, drop string) {
	t.Helper()
	pool := postgres(t)
	if _, err := pool.Exec(context.Background(), "CREATE "+kind+" "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP "+kind+" "+pgx.Identifier{name}.Sanitize()+" "+drop); err != nil {
			t.Errorf("drop %s %s: %v", strings.ToLower(kind), name, err)
		}
	})
}

func baseURL(t testing.TB) *url.URL {
	u, err := url.Parse(PostgresBaseURL())
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL must be a URL: %v", err)
	}
	return u
}

// PostgresURL creates an empty schema, dropped when the test ends, and returns the database
// URL with search_path set to it.
func PostgresURL(t testing.TB) string {
	t.Helper()
	schema := "itest_" + random()
	create(t, "SCHEMA", schema, "CASCADE")
	u := baseURL(t)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// PostgresDatabaseURL creates an empty database, dropped when the test ends, and returns its
// URL: for what a schema does not keep apart, such as NOTIFY channels.
func PostgresDatabaseURL(t testing.TB) string {
	t.Helper()
	name := "itest_" + random()
	create(t, "DATABASE", name, "WITH (FORCE)")
	u := baseURL(t)
	u.Path = "/" + name
	return u.String()
}

// RedisURL is the shared Redis of integration tests (TEST_REDIS_URL overrides); the test is
// skipped (or fails) when it does not answer.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		Unavailable(t, "Redis unreachable at %s (set TEST_REDIS_URL): %v", opt.Addr, err)
	}
	return u
}

// KeyPrefix returns a key prefix no other test uses; its keys are deleted when the test ends.
func KeyPrefix(t testing.TB, redisURL string) string {
	t.Helper()
	prefix := "itest:" + random() + ":"
	t.Cleanup(func() {
		opt, err := redis.ParseURL(redisURL)
		if err != nil {
			return
		}
		c := redis.NewClient(opt)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// RedisServer is a redis-server process of the test's own, on a free port, keeping nothing on
// disk, that the test may stop and start again (a Redis outage).
type RedisServer struct {
	Port string
	URL  string
	t    testing.TB
	mu   sync.Mutex
	cmd  *exec.Cmd
}

// StartRedisServer starts a throwaway redis-server; it is stopped when the test ends.
func StartRedisServer(t testing.TB) *RedisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		Unavailable(t, "redis-server not installed: %v", err)
	}
	port := FreePort(t)
	s := &RedisServer{Port: port, URL: "redis://127.0.0.1:" + port + "/0", t: t}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server (again) on its port and waits until it answers.
func (s *RedisServer) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command("redis-server", "--port", s.Port, //nolint:gosec // G204: a test server on a port the test chose "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", s.t.TempDir(), "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+s.Port, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on port %s did not start: %v", s.Port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (an outage: clients see their connections drop) and waits for it.
func (s *RedisServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait() // "signal: killed", as intended
	s.cmd = nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
