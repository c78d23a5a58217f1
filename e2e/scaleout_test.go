package e2e

// Several instances behave as one service: two in-process servers with separate state share
// PostgreSQL, and Redis or LISTEN/NOTIFY. See README "Running several instances".

import (
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/itest"
	"github.com/example/gqlauth/internal/servertest"
)

// sharedEnv is the environment a deployment's instances share: one database, one Redis (when
// redisURL is set) and one issuer, as a load balancer's instances would.
func sharedEnv(t testing.TB, redisURL string) map[string]string {
	t.Helper()
	env := map[string]string{
		"DATABASE_URL":        itest.PostgresURL(t),
		"JWT_ISSUER":          "http://gqlauth.test",
		"REFRESH_REUSE_GRACE": "1s",
	}
	if redisURL != "" {
		env["REDIS_URL"] = redisURL
		env["REDIS_KEY_PREFIX"] = itest.KeyPrefix(t, redisURL)
	}
	return env
}

// startPair starts two instances of one deployment on different ports.
func startPair(t testing.TB, shared map[string]string) (a, b *testServer) {
	t.Helper()
	return startServer(t, shared), startServer(t, shared)
}

// revoked reports whether token is refused as revoked by s.
func revoked(t testing.TB, s *testServer, token string) bool {
	t.Helper()
	r := s.me(t, token)
	if len(r.Errors) == 0 {
		return false
	}
	expectError(t, r, "UNAUTHENTICATED", "TOKEN_REVOKED")
	return true
}

// checkRevocationAcrossInstances: register on A, log in on B, refresh on A, log out on B: A
// refuses the session's access tokens within one second.
func checkRevocationAcrossInstances(t *testing.T, a, b *testServer) {
	a.register(t, "walker@example.com")
	login, r := b.login(t, "walker@example.com", testPassword)
	expectOK(t, r)
	refreshed := expectRefreshOK(t, a, login.RefreshToken)
	expectOK(t, a.me(t, refreshed.AccessToken))
	expectOK(t, b.me(t, refreshed.AccessToken))

	r = logout(t, b, refreshed.RefreshToken)
	expectOK(t, r)
	took := itest.Eventually(t, time.Second, "A refuses the access token after logout on B",
		func() bool { return revoked(t, a, refreshed.AccessToken) })
	t.Logf("A refused the token %v after the logout on B answered", took)
	if !revoked(t, a, login.AccessToken) {
		t.Fatal("the session's first access token still works on A")
	}
	if !revoked(t, b, refreshed.AccessToken) {
		t.Fatal("B, which ended the session, accepts its access token")
	}
}

func TestScaleOutRedis(t *testing.T) {
	t.Parallel()
	a, b := startPair(t, sharedEnv(t, itest.RedisURL(t)))
	for _, s := range []*testServer{a, b} {
		if status, body := readyz(t, s); status != http.StatusOK || body["redis"] != "ok" || body["database"] != "ok" {
			t.Fatalf("/readyz: %d %v", status, body)
		}
	}

	t.Run("RevocationWithinOneSecond", func(t *testing.T) { checkRevocationAcrossInstances(t, a, b) })

	t.Run("ReuseDetectedAcrossInstances", func(t *testing.T) {
		first := a.register(t, "reuse-x@example.com")
		second := expectRefreshOK(t, a, first.RefreshToken)
		time.Sleep(1200 * time.Millisecond) // past REFRESH_REUSE_GRACE=1s
		_, r := b.refresh(t, first.RefreshToken)
		expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_REUSED")
		_, r = a.refresh(t, second.RefreshToken)
		expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID")
		itest.Eventually(t, time.Second, "A refuses the reused session's access token",
			func() bool { return revoked(t, a, second.AccessToken) })
	})

	t.Run("RefreshRaceAcrossInstances", func(t *testing.T) {
		login := a.register(t, "race-x@example.com")
		distinct, _ := refreshRace(t, []*testServer{a, b}, login.RefreshToken, 20)
		live := liveRefreshTokens(t, b, distinct)
		t.Logf("%d distinct refresh tokens handed out, %d live", len(distinct), live)
		if live > 1 || len(distinct) == 0 {
			t.Fatalf("%d distinct refresh tokens, %d live; want at most one live", len(distinct), live)
		}
	})

	t.Run("RateLimitShared", func(t *testing.T) {
		a.register(t, "limited-x@example.com")
		failLogins(t, []*testServer{a, b}, "limited-x@example.com", 10)
		for _, s := range []*testServer{a, b} {
			_, r := s.login(t, "limited-x@example.com", testPassword)
			expectError(t, r, "RATE_LIMITED", "")
		}
	})
}

// Without Redis, PostgreSQL's LISTEN/NOTIFY carries the fan-out.
func TestScaleOutPostgresOnly(t *testing.T) {
	t.Parallel()
	a, b := startPair(t, sharedEnv(t, ""))
	if status, body := readyz(t, a); status != http.StatusOK || body["redis"] != "" {
		t.Fatalf("/readyz without Redis: %d %v", status, body)
	}
	t.Run("RevocationWithinOneSecond", func(t *testing.T) { checkRevocationAcrossInstances(t, a, b) })
}

// PostgreSQL unreachable at start: exit code 2 and one line naming DATABASE_URL, quickly.
func TestPostgresUnreachableAtStart(t *testing.T) {
	t.Parallel()
	env := servertest.Env(t, map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/test?sslmode=disable"})
	start := time.Now()
	res := servertest.Run(t, env, "")
	took := time.Since(start)
	code, line := res.Code, strings.TrimSpace(res.ErrorLine())
	t.Logf("exit %d after %v: %s", code, took, line)
	if code != 2 || !strings.Contains(line, "DATABASE_URL") || strings.Count(line, "\n") != 0 {
		t.Fatalf("exit %d, %q; want 2 and one line naming DATABASE_URL", code, line)
	}
	if took > 10*time.Second {
		t.Fatalf("took %v to give up", took)
	}
}

// Redis unreachable at start: the service serves with per-instance limits and says so.
func TestRedisUnreachableAtStart(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"REDIS_URL": "redis://127.0.0.1:" + itest.FreePort(t) + "/0"})
	status, body := readyz(t, s)
	if status != http.StatusOK || body["redis"] != "unavailable" {
		t.Fatalf("/readyz: %d %v", status, body)
	}
	p := s.register(t, "alone@example.com")
	expectOK(t, s.me(t, p.AccessToken))
	for range 10 {
		_, r := s.login(t, "alone@example.com", "wrong password 123")
		expectError(t, r, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
	}
	_, r := s.login(t, "alone@example.com", testPassword)
	expectError(t, r, "RATE_LIMITED", "")
	if n := strings.Count(s.Log(), "Redis unavailable"); n != 1 {
		t.Errorf("logged the outage %d times, want once:\n%s", n, s.Log())
	}
}

// Redis lost while running: both instances keep serving with per-instance limits and store
// polling, report it in /readyz (still 200), log it once, and return to shared mode when it is back.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	srv := itest.StartRedisServer(t)
	a, b := startPair(t, sharedEnv(t, srv.URL))
	a.register(t, "outage@example.com")

	srv.Stop()
	for _, s := range []*testServer{a, b} {
		itest.Eventually(t, 10*time.Second, "/readyz reports Redis unavailable", func() bool {
			status, body := readyz(t, s)
			if status != http.StatusOK {
				t.Fatalf("/readyz %d %v during a Redis outage; the database is fine", status, body)
			}
			return body["redis"] == "unavailable"
		})
	}

	// Serving: log in on A, use the token on B; a logout on A reaches B by polling (≤ 1 s + a poll).
	p, r := a.login(t, "outage@example.com", testPassword)
	expectOK(t, r)
	expectOK(t, b.me(t, p.AccessToken))
	expectOK(t, logout(t, a, p.RefreshToken))
	took := itest.Eventually(t, 3*time.Second, "B refuses the token by polling", func() bool { return revoked(t, b, p.AccessToken) })
	t.Logf("without Redis, B refused the token after %v (poll interval 1s)", took)

	// Limits are per instance: ten failures on A limit A, not B.
	for range 10 {
		_, r := a.login(t, "outage@example.com", "wrong password 123")
		expectError(t, r, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
	}
	_, r = a.login(t, "outage@example.com", testPassword)
	expectError(t, r, "RATE_LIMITED", "")
	_, r = b.login(t, "outage@example.com", testPassword)
	expectOK(t, r)

	srv.Start()
	for _, s := range []*testServer{a, b} {
		itest.Eventually(t, 15*time.Second, "/readyz reports Redis back", func() bool {
			_, body := readyz(t, s)
			return body["redis"] == "ok"
		})
	}
	// Shared again: failures on both count together, and revocation is instant again.
	b.register(t, "after@example.com")
	failLogins(t, []*testServer{a, b}, "after@example.com", 10)
	_, r = b.login(t, "after@example.com", testPassword)
	expectError(t, r, "RATE_LIMITED", "")
	checkRevocationAcrossInstances(t, a, b)

	for _, s := range []*testServer{a, b} {
		log := s.Log()
		if n := strings.Count(log, "Redis unavailable"); n != 1 {
			t.Errorf("logged the outage %d times, want once:\n%s", n, log)
		}
		if n := strings.Count(log, "Redis available again"); n != 1 {
			t.Errorf("logged the recovery %d times, want once:\n%s", n, log)
		}
	}
}

// serverBehindProxy starts a server whose PostgreSQL connections go through a proxy the test
// can cut or freeze, with one registered user whose `sessions` query works.
func serverBehindProxy(t *testing.T, email string) (*testServer, *tcpProxy, payload) {
	t.Helper()
	dsn := itest.PostgresURL(t)
	p := startTCPProxy(t, "127.0.0.1:5432")
	dsn = strings.Replace(dsn, "127.0.0.1:5432", p.addr, 1)
	if !strings.Contains(dsn, p.addr) {
		t.Skip("the test database is not at 127.0.0.1:5432; the proxy cannot stand in front of it")
	}
	s := startServer(t, map[string]string{"DATABASE_URL": dsn})
	login := s.register(t, email)
	expectOK(t, s.gql(t, login.AccessToken, `{ sessions { id } }`, nil))
	return s, p, login
}

// PostgreSQL lost while running: /readyz fails, operations that need the database answer
// INTERNAL_SERVER_ERROR within a bounded time, and everything recovers by itself.
func TestPostgresLostWhileRunning(t *testing.T) {
	t.Parallel()
	s, p, login := serverBehindProxy(t, "lost@example.com")
	sessionsQuery := `{ sessions { id } }`

	p.cut()
	itest.Eventually(t, 5*time.Second, "/readyz fails", func() bool {
		status, body := readyz(t, s)
		return status == http.StatusServiceUnavailable && body["database"] == "unreachable"
	})
	for name, do := range map[string]func() gqlResponse{
		"sessions": func() gqlResponse { return s.gql(t, login.AccessToken, sessionsQuery, nil) },
		"login": func() gqlResponse {
			_, r := s.login(t, "lost@example.com", testPassword)
			return r
		},
	} {
		start := time.Now()
		r := do()
		took := time.Since(start)
		t.Logf("%s without the database: %s after %v", name, r.code(), took)
		expectError(t, r, "INTERNAL_SERVER_ERROR", "")
		if took > 6*time.Second {
			t.Errorf("%s took %v", name, took)
		}
		if msg := r.Errors[0].Message; strings.Contains(strings.ToLower(msg), "postgres") || strings.Contains(msg, "dial") {
			t.Errorf("the error message tells of internals: %q", msg)
		}
	}
	expectOK(t, s.me(t, login.AccessToken)) // answered from memory

	p.restore()
	itest.Eventually(t, 15*time.Second, "/readyz recovers", func() bool {
		status, _ := readyz(t, s)
		return status == http.StatusOK
	})
	_, r := s.login(t, "lost@example.com", testPassword)
	expectOK(t, r)
	expectOK(t, s.gql(t, login.AccessToken, sessionsQuery, nil))
}

// A database that stops answering without closing anything (a partition) must not hang
// requests: they fail within the store calls' deadline (5 s), and the service recovers.
func TestPostgresPartition(t *testing.T) {
	t.Parallel()
	s, p, login := serverBehindProxy(t, "partition@example.com")
	sessionsQuery := `{ sessions { id } }`

	p.frozen.Store(true)
	start := time.Now()
	r := s.gql(t, login.AccessToken, sessionsQuery, nil)
	took := time.Since(start)
	t.Logf("sessions during a partition: %s after %v", r.code(), took)
	expectError(t, r, "INTERNAL_SERVER_ERROR", "")
	if took > 8*time.Second {
		t.Errorf("sessions took %v; store calls have a 5s deadline", took)
	}
	start = time.Now()
	if status, _ := readyz(t, s); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz %d during a partition", status)
	}
	t.Logf("/readyz answered after %v", time.Since(start))

	p.frozen.Store(false)
	itest.Eventually(t, 15*time.Second, "/readyz recovers", func() bool {
		status, _ := readyz(t, s)
		return status == http.StatusOK
	})
	expectOK(t, s.gql(t, login.AccessToken, sessionsQuery, nil))
}

// revocationDelays ends n sessions on B and measures, for each, how long until A refuses its
// access token (polling A every millisecond): from the moment the logout was sent, and from the
// moment B answered it.
func revocationDelays(t testing.TB, a, b *testServer, n int) (fromSent, fromAnswer []time.Duration) {
	t.Helper()
	a.register(t, "delay@example.com")
	for range n {
		p, r := b.login(t, "delay@example.com", testPassword)
		expectOK(t, r)
		expectOK(t, a.me(t, p.AccessToken))
		sent := time.Now()
		expectOK(t, logout(t, b, p.RefreshToken))
		answered := time.Now()
		for !revoked(t, a, p.AccessToken) {
			if time.Since(sent) > 5*time.Second {
				t.Fatal("not revoked on A within 5s")
			}
			time.Sleep(time.Millisecond)
		}
		fromSent = append(fromSent, time.Since(sent))
		fromAnswer = append(fromAnswer, time.Since(answered))
	}
	return fromSent, fromAnswer
}

func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100 // nearest rank
	return sorted[max(i-1, 0)]
}

// TestRevocationPropagation measures the delay between ending a session on one instance and
// its refusal on another. PROPAGATION_SAMPLES sets the number of revocations (default 5; the
// README's measurement uses 200).
func TestRevocationPropagation(t *testing.T) {
	t.Parallel()
	n := 5
	if v, err := strconv.Atoi(os.Getenv("PROPAGATION_SAMPLES")); err == nil && v > 0 {
		n = v
	}
	for _, tc := range []struct {
		name  string
		redis bool
	}{{"Redis", true}, {"PostgresListenNotify", false}} {
		t.Run(tc.name, func(t *testing.T) {
			redisURL := ""
			if tc.redis {
				redisURL = itest.RedisURL(t)
			}
			shared := sharedEnv(t, redisURL)
			shared["RATE_LIMITS"] = "off"
			a, b := startPair(t, shared)
			fromSent, fromAnswer := revocationDelays(t, a, b, n)
			for _, d := range [][]time.Duration{fromSent, fromAnswer} {
				slices.Sort(d)
			}
			p99 := percentile(fromSent, 99)
			t.Logf("%s, %d revocations, from logout sent: p50 %v, p99 %v, max %v; from logout answered: p50 %v, p99 %v, max %v",
				tc.name, n, percentile(fromSent, 50), p99, fromSent[n-1],
				percentile(fromAnswer, 50), percentile(fromAnswer, 99), fromAnswer[n-1])
			if p99 > time.Second {
				t.Errorf("p99 %v exceeds the one-second promise", p99)
			}
		})
	}
}

// BenchmarkLoginMe is login-then-me throughput against one instance and against two sharing
// PostgreSQL and Redis (requests alternate between them). On one machine both instances share
// its cores, so this shows the cost of coordination, not the gain of a second machine.
//
//	go test -run '^$' -bench LoginMe -benchtime 10s .
func BenchmarkLoginMe(b *testing.B) {
	shared := sharedEnv(b, itest.RedisURL(b))
	shared["RATE_LIMITS"] = "off"
	x, y := startPair(b, shared)
	x.register(b, "bench-login@example.com")
	for _, tc := range []struct {
		name    string
		servers []*testServer
	}{{"instances=1", []*testServer{x}}, {"instances=2", []*testServer{x, y}}} {
		b.Run(tc.name, func(b *testing.B) {
			var mu sync.Mutex
			next := 0
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				mu.Lock()
				s := tc.servers[next%len(tc.servers)]
				next++
				mu.Unlock()
				for pb.Next() {
					p, r := s.login(b, "bench-login@example.com", testPassword)
					if len(r.Errors) > 0 {
						b.Fatalf("login: %+v", r.Errors)
					}
					if r := s.me(b, p.AccessToken); len(r.Errors) > 0 {
						b.Fatalf("me: %+v", r.Errors)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins+me/s")
		})
	}
}

// failLogins makes n failed logins of email, taking the servers in turn; each must be refused
// as bad credentials (not yet as limited).
func failLogins(t testing.TB, servers []*testServer, email string, n int) {
	t.Helper()
	for i := range n {
		_, r := servers[i%len(servers)].login(t, email, "wrong password 123")
		expectError(t, r, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
	}
}
