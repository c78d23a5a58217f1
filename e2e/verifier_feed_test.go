package e2e

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/itest"
	"github.com/example/gqlauth/internal/servertest"
	"github.com/example/gqlauth/verify"
	"github.com/example/gqlauth/verify/verifytest"
)

// End-to-end tests of package verify against the real server: a resource server in this test
// process follows the server's revocation feed.

const vfPassword = "correct horse battery staple"

// countingTransport counts the requests to each path, sent on through next.
type countingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[r.URL.Path]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *countingTransport) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

// offsetClock is time.Now plus an offset the test moves.
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) Now() time.Time      { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *offsetClock) Add(d time.Duration) { c.off.Add(int64(d)) }

// vfOptions are a verifier's options for s's tokens: its metadata, and a client that reaches s
// at the issuer's URLs the metadata names.
func vfOptions(s *servertest.Server) verify.Options {
	return verify.Options{
		Issuer: s.Env["JWT_ISSUER"], Audience: s.Env["JWT_AUDIENCE"], Algorithm: "EdDSA",
		MetadataURL: s.URL + "/.well-known/oauth-authorization-server", HTTPClient: s.Client(),
	}
}

// vfFollower is a verifier of s's tokens following its feed as a registered client.
func vfFollower(t *testing.T, s *servertest.Server, o verify.Options) *verify.Verifier {
	t.Helper()
	base := vfOptions(s)
	c := s.CreateClient(t, "resource-server")
	base.ClientID, base.ClientSecret = c.ID, c.Secret
	base.HTTPClient = cmp.Or(o.HTTPClient, base.HTTPClient)
	base.Clock, base.StaleAfter, base.FailOpen, base.PollWait = o.Clock, o.StaleAfter, o.FailOpen, o.PollWait
	v, err := verify.New(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.WaitReady(ctx); err != nil {
		t.Fatalf("verifier not ready: %v\n%s", err, s.Log())
	}
	return v
}

// vfRefusedWithin polls v every millisecond until it refuses token with want; it returns how
// long that took from since.
func vfRefusedWithin(t *testing.T, v *verify.Verifier, token string, want error, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	for {
		_, err := v.Verify(context.Background(), token)
		if errors.Is(err, want) {
			return time.Since(since)
		}
		if err != nil {
			t.Fatalf("refused with %v, want %v", err, want)
		}
		if time.Since(since) > limit {
			t.Fatalf("still accepted %v after the revocation", limit)
		}
		time.Sleep(time.Millisecond)
	}
}

func vfPercentile(sorted []time.Duration, p int) time.Duration {
	return sorted[max((len(sorted)*p+99)/100-1, 0)]
}

// TestVerifierFollowsTheFeed: a logout on the server is refused by the resource server within
// a second. PROPAGATION_SAMPLES sets the number of revocations measured (default 10; the
// figures in BENCHMARKS.md use 200). A disabled user is refused too.
func TestVerifierFollowsTheFeed(t *testing.T) {
	n := 10
	if v, err := strconv.Atoi(os.Getenv("PROPAGATION_SAMPLES")); err == nil && v > 0 {
		n = v
	}
	for _, db := range []string{"SQLite", "PostgreSQL"} {
		t.Run(db, func(t *testing.T) {
			env := map[string]string{}
			if db == "PostgreSQL" {
				env["DATABASE_URL"] = itest.PostgresURL(t)
			}
			s := servertest.StartFollowed(t, env)
			s.CreateUser(t, "ada@example.com", "USER", vfPassword)
			v := vfFollower(t, s, verify.Options{})
			var delays []time.Duration
			for range n {
				g := s.Login(t, "ada@example.com", vfPassword)
				if _, err := v.Verify(context.Background(), g.AccessToken); err != nil {
					t.Fatalf("fresh token refused: %v", err)
				}
				sent := time.Now()
				s.Logout(t, g.RefreshToken)
				delays = append(delays, vfRefusedWithin(t, v, g.AccessToken, verify.ErrSessionEnded, sent, 5*time.Second))
			}
			slices.Sort(delays)
			p99 := vfPercentile(delays, 99)
			t.Logf("%s: %d logouts, refused by the follower after (from the logout sent): p50 %v, p99 %v, max %v",
				db, n, vfPercentile(delays, 50), p99, delays[n-1])
			if p99 > time.Second {
				t.Errorf("p99 %v exceeds one second", p99)
			}

			// A disabled user (the command line, another process) is refused as well.
			s.CreateUser(t, "bob@example.com", "USER", vfPassword)
			g := s.Login(t, "bob@example.com", vfPassword)
			sent := time.Now()
			s.Command(t, "", "user", "disable", "--email", "bob@example.com")
			vfRefusedWithin(t, v, g.AccessToken, verify.ErrUserDisabled, sent, 3*time.Second)

			// Another service's client_credentials token, until its client is revoked.
			machine := s.CreateClient(t, "machine")
			ct := s.ClientToken(t, machine).AccessToken
			if c, err := v.Verify(context.Background(), ct); err != nil || !c.IsClient() || c.ClientID != machine.ID {
				t.Fatalf("client token: %+v, %v", c, err)
			}
			sent = time.Now()
			s.Command(t, "", "clients", "revoke", "--id", machine.ID)
			vfRefusedWithin(t, v, ct, verify.ErrClientRevoked, sent, 3*time.Second)
		})
	}
}

// TestVerifierFeedAnyInstance: the follower reads instance A's feed while the logouts happen on
// instance B of the same deployment (PostgreSQL, with and without Redis): every instance answers
// the same, and B's logout wakes A's waiting feed requests through the instances' fan-out.
func TestVerifierFeedAnyInstance(t *testing.T) {
	for _, withRedis := range []bool{false, true} {
		name := "PostgresListenNotify"
		if withRedis {
			name = "Redis"
		}
		t.Run(name, func(t *testing.T) {
			shared := map[string]string{"DATABASE_URL": itest.PostgresURL(t)}
			if withRedis {
				shared["REDIS_URL"] = itest.RedisURL(t)
				shared["REDIS_KEY_PREFIX"] = itest.KeyPrefix(t, shared["REDIS_URL"])
			}
			a := servertest.StartFollowed(t, shared)
			b := servertest.StartEnv(t, a.Env) // PORT=0: a port of its own
			a.CreateUser(t, "ada@example.com", "USER", vfPassword)
			v := vfFollower(t, a, verify.Options{})
			var delays []time.Duration
			for range 10 {
				g := b.Login(t, "ada@example.com", vfPassword)
				sent := time.Now()
				b.Logout(t, g.RefreshToken)
				delays = append(delays, vfRefusedWithin(t, v, g.AccessToken, verify.ErrSessionEnded, sent, 5*time.Second))
			}
			slices.Sort(delays)
			t.Logf("%s: logouts on B refused by A's follower after p50 %v, max %v", name, vfPercentile(delays, 50), delays[len(delays)-1])
			if delays[len(delays)-1] > time.Second {
				t.Errorf("a logout on another instance took %v", delays[len(delays)-1])
			}
		})
	}
}

// TestVerifierFeedSurvivesServerRestart: while the server is down the follower keeps what it
// knew (and, within StaleAfter, accepts the other tokens); a session ended meanwhile from the
// command line is refused once the server is back, and so is a logout after that.
func TestVerifierFeedSurvivesServerRestart(t *testing.T) {
	s := servertest.StartFollowed(t, nil)
	s.CreateUser(t, "ada@example.com", "USER", vfPassword)
	v := vfFollower(t, s, verify.Options{StaleAfter: time.Minute})
	ended, live, later := s.Login(t, "ada@example.com", vfPassword), s.Login(t, "ada@example.com", vfPassword), s.Login(t, "ada@example.com", vfPassword)
	s.Logout(t, ended.RefreshToken)
	vfRefusedWithin(t, v, ended.AccessToken, verify.ErrSessionEnded, time.Now(), 2*time.Second)

	s.Stop()
	time.Sleep(500 * time.Millisecond) // the follower's poll fails and it retries
	if _, err := v.Verify(context.Background(), ended.AccessToken); !errors.Is(err, verify.ErrSessionEnded) {
		t.Fatalf("while the server is down, a known ended session: %v", err)
	}
	if _, err := v.Verify(context.Background(), live.AccessToken); err != nil {
		t.Fatalf("while the server is down (within StaleAfter), a live session: %v", err)
	}
	// Ended while the server was down: the command line writes the change log itself.
	s.Command(t, "", "sessions", "revoke", "--user", "ada@example.com")
	restarted := time.Now()
	s2 := servertest.StartEnv(t, s.RestartEnv()) // where the follower looks
	took := vfRefusedWithin(t, v, live.AccessToken, verify.ErrSessionEnded, restarted, 10*time.Second)
	t.Logf("a session ended while the server was down was refused %v after the restart began", took)
	if _, err := v.Verify(context.Background(), later.AccessToken); !errors.Is(err, verify.ErrSessionEnded) {
		t.Fatalf("revoked from the command line: %v", err)
	}
	g := s2.Login(t, "ada@example.com", vfPassword)
	sent := time.Now()
	s2.Logout(t, g.RefreshToken)
	if d := vfRefusedWithin(t, v, g.AccessToken, verify.ErrSessionEnded, sent, 5*time.Second); d > time.Second {
		t.Errorf("after the restart, a logout took %v to be refused", d)
	}
}

// TestVerifierFeedSurvivesPostgresRestart: the server's database goes away and comes back (a
// TCP relay in front of PostgreSQL drops every connection and refuses new ones for a while, as
// a restarting PostgreSQL does: the shared test database itself is not restarted, other tests
// use it). The follower keeps what it knew, and once the database is back a logout is refused
// within a second again.
func TestVerifierFeedSurvivesPostgresRestart(t *testing.T) {
	dbURL := itest.PostgresURL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	relay := startTCPProxy(t, u.Host)
	u.Host = relay.addr
	s := servertest.StartFollowed(t, map[string]string{"DATABASE_URL": u.String()})
	s.CreateUser(t, "ada@example.com", "USER", vfPassword)
	v := vfFollower(t, s, verify.Options{StaleAfter: time.Minute})
	ended, live := s.Login(t, "ada@example.com", vfPassword), s.Login(t, "ada@example.com", vfPassword)
	s.Logout(t, ended.RefreshToken)
	vfRefusedWithin(t, v, ended.AccessToken, verify.ErrSessionEnded, time.Now(), 2*time.Second)

	relay.cut()
	time.Sleep(3 * time.Second) // the server's polls and the feed fail meanwhile
	if _, err := v.Verify(context.Background(), ended.AccessToken); !errors.Is(err, verify.ErrSessionEnded) {
		t.Fatalf("during the outage, a known ended session: %v", err)
	}
	if _, err := v.Verify(context.Background(), live.AccessToken); err != nil {
		t.Fatalf("during the outage (within StaleAfter), a live session: %v", err)
	}
	relay.restore()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not get its database back\n%s", s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	sent := time.Now()
	s.Logout(t, live.RefreshToken)
	answered := time.Now()
	d := vfRefusedWithin(t, v, live.AccessToken, verify.ErrSessionEnded, sent, 5*time.Second)
	t.Logf("after the database came back: the logout took %v, its refusal %v from the logout sent; stats %+v", answered.Sub(sent), d, v.Stats())
	if d > time.Second {
		t.Errorf("after the database came back, a logout took %v to be refused", d)
	}
}

// TestVerifierRefetchesRotatedKeyOnce: the server restarts with a new signing key (the old one
// kept as previous); under a burst of requests presenting tokens of the new key, the verifier
// fetches the key set once, not once per request.
func TestVerifierRefetchesRotatedKeyOnce(t *testing.T) {
	s := servertest.StartFollowed(t, nil)
	s.CreateUser(t, "ada@example.com", "USER", vfPassword)
	counter := &countingTransport{next: s.Client().Transport}
	clock := &offsetClock{}
	o := vfOptions(s)
	o.HTTPClient, o.Clock = &http.Client{Transport: counter}, clock.Now
	v, err := verify.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	old := s.Login(t, "ada@example.com", vfPassword)
	if _, err := v.Verify(context.Background(), old.AccessToken); err != nil {
		t.Fatal(err)
	}
	const jwks = "/.well-known/jwks.json"
	if n := counter.count(jwks); n != 1 {
		t.Fatalf("%d JWKS requests to start, want 1", n)
	}

	// Rotate: a new current key, the old one kept to verify.
	s.Stop()
	rotated := s.RestartEnv() // where the verifier looks
	rotated["JWT_PRIVATE_KEY_FILE"] = servertest.EdDSA(t, nil)["JWT_PRIVATE_KEY_FILE"]
	rotated["JWT_PREVIOUS_KEY_FILES"] = s.Env["JWT_PRIVATE_KEY_FILE"]
	s2 := servertest.StartEnv(t, rotated)
	clock.Add(11 * time.Second) // the key set was loaded more than 10 s ago
	fresh := s2.Login(t, "ada@example.com", vfPassword)

	const workers, each = 16, 50
	var wg sync.WaitGroup
	var refused atomic.Int64
	start := make(chan struct{})
	for range workers {
		wg.Go(func() {
			<-start
			for range each {
				for _, tok := range []string{fresh.AccessToken, old.AccessToken} {
					if _, err := v.Verify(context.Background(), tok); err != nil {
						refused.Add(1)
					}
				}
			}
		})
	}
	close(start)
	wg.Wait()
	refetches := counter.count(jwks) - 1
	t.Logf("%d verifications of tokens of a rotated-in key (and of the previous key) by %d goroutines: %d JWKS refetch(es)",
		2*workers*each, workers, refetches)
	if refused.Load() != 0 {
		t.Fatalf("%d verifications refused", refused.Load())
	}
	if refetches != 1 {
		t.Fatalf("%d JWKS refetches, want 1", refetches)
	}
	// Tokens naming unknown kids within 10 s cost nothing more.
	foreign := verifytest.NewIssuer("EdDSA", o.Issuer, o.Audience)
	for i := range 100 {
		tok := foreign.Sign(map[string]any{"kid": "forged-" + strconv.Itoa(i)}, foreign.Claims("u", "s").Map())
		if _, err := v.Verify(context.Background(), tok); !errors.Is(err, verify.ErrUnknownKey) {
			t.Fatalf("a forged kid: %v", err)
		}
	}
	if n := counter.count(jwks) - 1; n != 1 {
		t.Fatalf("forged kids made %d refetches in all, want 1", n)
	}
}

// TestRevocationsBadInput: bad requests to the feed get clear RFC 6749-style errors, never a
// 500 and never a hang.
func TestRevocationsBadInput(t *testing.T) {
	s := servertest.StartFollowed(t, nil)
	feedClient := s.CreateClient(t, "feed")
	id, secret := feedClient.ID, feedClient.Secret
	get := func(query string, auth func(*http.Request)) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/revocations"+query, nil)
		if auth != nil {
			auth(req)
		}
		client := &http.Client{Timeout: 10 * time.Second}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Error, resp.Header
	}
	basic := func(id, secret string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
	}
	header := func(v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set("Authorization", v) } }
	ok := basic(id, secret)

	status, _, _ := get("", ok)
	if status != http.StatusOK {
		t.Fatalf("a good request: %d", status)
	}
	for _, c := range []struct {
		name   string
		query  string
		auth   func(*http.Request)
		status int
		error  string
	}{
		{"no client authentication", "", nil, 401, "invalid_client"},
		{"wrong secret", "", basic(id, "wrong"), 401, "invalid_client"},
		{"unknown client", "", basic("nobody", secret), 401, "invalid_client"},
		{"Basic not base64", "", header("Basic %%%"), 401, "invalid_client"},
		{"Basic without a colon", "", header("Basic " + base64.StdEncoding.EncodeToString([]byte(id))), 401, "invalid_client"},
		{"Basic huge", "", header("Basic " + strings.Repeat("A", 64<<10)), 401, "invalid_client"},
		{"a bearer token instead", "", header("Bearer x.y.z"), 401, "invalid_client"},
		{"garbage cursor", "?after=garbage", ok, 400, "invalid_cursor"},
		{"cursor from the future", "?after=c1.999999", ok, 400, "invalid_cursor"},
		{"cursor overflowing", "?after=c1.99999999999999999999999", ok, 400, "invalid_cursor"},
		{"huge cursor", "?after=" + strings.Repeat("9", 8<<10), ok, 400, "invalid_cursor"},
		{"wait not a number", "?wait=soon", ok, 400, "invalid_request"},
		{"wait negative", "?wait=-1", ok, 400, "invalid_request"},
		{"wait huge", "?wait=99999999999999999999", ok, 400, "invalid_request"},
		{"wait repeated", "?wait=1&wait=2", ok, 400, "invalid_request"},
		{"after repeated", "?after=c1.0&after=c1.0", ok, 400, "invalid_request"},
	} {
		status, code, h := get(c.query, c.auth)
		if status != c.status || code != c.error {
			t.Errorf("%s: %d %q, want %d %q", c.name, status, code, c.status, c.error)
		}
		if status == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s: WWW-Authenticate %q", c.name, h.Get("WWW-Authenticate"))
		}
	}
	// wait above 30 is read as 30, not refused; a revoked client is refused at once.
	start := time.Now()
	done := make(chan int, 1)
	go func() { status, _, _ := get("?after=c1.0&wait=31", ok); done <- status }()
	time.Sleep(200 * time.Millisecond)
	s.Command(t, "", "clients", "revoke", "--id", id)
	if status, code, _ := get("", ok); status != 401 || code != "invalid_client" {
		t.Fatalf("a revoked client: %d %q", status, code)
	}
	s.Stop() // a shutdown answers the waiting request at once
	select {
	case status := <-done:
		if status != http.StatusOK || time.Since(start) > 10*time.Second {
			t.Fatalf("the waiting request: %d after %v", status, time.Since(start))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the waiting request outlived the shutdown")
	}
}

// TestRevocationsIdleCostsNoQueries: 50 clients waiting on the feed for 4 s cost the database
// one shared read of the change log when they start, plus the instance's own once-a-second
// poll; not a query per second per client (their client authentication is one query each).
func TestRevocationsIdleCostsNoQueries(t *testing.T) {
	s := servertest.StartFollowed(t, nil)
	feedClient := s.CreateClient(t, "feed")
	id, secret := feedClient.ID, feedClient.Secret
	feed := func(query string) string {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/revocations"+query, nil)
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return ""
		}
		defer resp.Body.Close()
		var page struct{ Cursor string }
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&page) != nil {
			t.Errorf("feed: %s", resp.Status)
		}
		return page.Cursor
	}
	cursor := feed("")
	before := vfStoreCalls(t, s)
	const clients, wait = 50, 4
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() { feed("?after=" + cursor + "&wait=" + strconv.Itoa(wait)) })
	}
	wg.Wait()
	took := time.Since(start)
	after := vfStoreCalls(t, s)
	reads := after["ChangesAfter"] - before["ChangesAfter"]
	t.Logf("%d clients waiting %v: %d change-log reads, store calls by method: %v", clients, took.Round(time.Millisecond), reads, vfDelta(before, after))
	if took < wait*time.Second {
		t.Fatalf("the waits ended after %v, before their %d s", took, wait)
	}
	if limit := 2 * (wait + 2); reads > limit { // the instance's own poll, and one shared read
		t.Fatalf("%d change-log reads for %d idle waiting clients over %d s, want at most %d", reads, clients, wait, limit)
	}

	// A logout wakes them all; they share the read of what came after their common cursor.
	s.CreateUser(t, "ada@example.com", "USER", vfPassword)
	g := s.Login(t, "ada@example.com", vfPassword)
	cursor = feed("")
	var woken sync.WaitGroup
	for range clients {
		woken.Go(func() { feed("?after=" + cursor + "&wait=20") })
	}
	time.Sleep(500 * time.Millisecond) // all waiting
	before = vfStoreCalls(t, s)
	sent := time.Now()
	s.Logout(t, g.RefreshToken)
	woken.Wait()
	after = vfStoreCalls(t, s)
	reads = after["ChangesAfter"] - before["ChangesAfter"]
	t.Logf("a logout answered %d waiting clients in %v with %d change-log reads", clients, time.Since(sent).Round(time.Millisecond), reads)
	if time.Since(sent) > 5*time.Second {
		t.Fatal("the waiting clients were not answered at once")
	}
	if reads > 10 {
		t.Fatalf("%d change-log reads to answer %d clients of one cursor, want a shared few", reads, clients)
	}
}

// vfStoreCalls reads the store calls by method from /metrics.
func vfStoreCalls(t *testing.T, s *servertest.Server) map[string]int {
	t.Helper()
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf strings.Builder
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, line := range strings.Split(buf.String(), "\n") {
		rest, ok := strings.CutPrefix(line, `auth_store_duration_seconds_count{method="`)
		if !ok {
			continue
		}
		method, value, _ := strings.Cut(rest, `"} `)
		n, _ := strconv.Atoi(value)
		calls[method] = n
	}
	return calls
}

func vfDelta(before, after map[string]int) map[string]int {
	d := map[string]int{}
	for m, n := range after {
		if n-before[m] != 0 {
			d[m] = n - before[m]
		}
	}
	return d
}
