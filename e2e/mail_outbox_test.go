package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/itest"
	"github.com/example/gqlauth/internal/servertest"
	"github.com/example/gqlauth/internal/smtptest"
)

// The outbox: a mail committed with its request is delivered however the delivery is
// interrupted, and once however many instances share it.

// TestOutboxSMTPOutage: with the SMTP server down the mutation still answers at once; the
// sender retries with backoff, and the mail arrives after the server is back.
func TestOutboxSMTPOutage(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{User: smtpUser, Pass: smtpPass})
	s := startServer(t, smtpEnv(srv, map[string]string{"EMAIL_VERIFICATION": "off"}))
	s.register(t, "outage@example.com")
	srv.Stop()
	start := time.Now()
	expectOK(t, s.gql(t, "", `mutation { requestPasswordReset(email: "outage@example.com") }`, nil))
	if took := time.Since(start); took > time.Second {
		t.Fatalf("the mutation waited for SMTP: %v", took)
	}
	time.Sleep(3 * time.Second) // attempts at 0 s and 2 s fail
	srv.Restart()
	back := time.Now()
	m := waitSent(t, srv, "outage@example.com", "Reset your", 30*time.Second)
	t.Logf("SMTP down %v; the mail arrived %v after it was back (%v after the request)", back.Sub(start).Round(time.Millisecond),
		m.raw.At.Sub(back).Round(time.Millisecond), m.raw.At.Sub(start).Round(time.Millisecond))
	if _, tok := tokenOf(t, m.text); tok == "" {
		t.Fatal("no token")
	}
	if n := countSent(t, srv, "outage@example.com", "Reset your"); n != 1 {
		t.Fatalf("%d reset mails, want 1", n)
	}
	// The metrics saw the failed attempts and the delivery (counted once its row is finished,
	// a moment after the server took it).
	var text string
	itest.Eventually(t, 5*time.Second, "the delivery in the metrics", func() bool {
		text = scrapeMetrics(t, s)
		return strings.Contains(text, `auth_mail_total{outcome="sent"} 1`)
	})
	for _, want := range []string{`auth_mail_total{outcome="sent"} 1`, `auth_mail_total{outcome="retry"} 2`,
		`auth_mail_total{outcome="failed"} 0`, "auth_mail_queued ", "auth_mail_oldest_queued_age_seconds "} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestOutboxSurvivesKill9: the program is killed (SIGKILL) after the request committed and
// while the delivery hangs on an SMTP server that never answers; after a restart the mail
// arrives, with a link that works.
func TestOutboxSurvivesKill9(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	srv := smtptest.Start(t, smtptest.Options{User: smtpUser, Pass: smtpPass})
	env := servertest.Env(t, smtpEnv(srv, map[string]string{"EMAIL_VERIFICATION": "off", "SMTP_TIMEOUT": "1s", "RATE_LIMITS": "off"}))
	p1 := startBinary(t, bin, env)
	p1.register(t, "crash@example.com")
	srv.Stall()
	expectOK(t, p1.gql(t, "", `mutation { requestPasswordReset(email: "crash@example.com") }`, nil))
	itest.Eventually(t, 10*time.Second, "the sender connected to the stalled server", func() bool { return srv.Stalled() > 0 })
	if err := p1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p1.wait(t, 10*time.Second)
	killed := time.Now()
	srv.Restart()

	p2 := startBinary(t, bin, env)
	m := waitSent(t, srv, "crash@example.com", "Reset your", 60*time.Second)
	t.Logf("killed mid-delivery; the restarted program delivered the mail %v after the kill (the lease is 2 × SMTP_TIMEOUT + 5 s)",
		m.raw.At.Sub(killed).Round(time.Millisecond))
	_, tok := tokenOf(t, m.text)
	expectOK(t, p2.gql(t, "", `mutation($t:String!,$p:String!){ resetPassword(token:$t, newPassword:$p) { accessToken } }`,
		map[string]any{"t": tok, "p": newPassword}))

	// Killed with the mail queued after a failed attempt: the next start sends it when due.
	waitSent(t, srv, "crash@example.com", "password was changed", 30*time.Second) // the reset's notice, so no delivery runs at the Stop
	srv.Stop()
	expectOK(t, p2.gql(t, "", `mutation { requestPasswordReset(email: "crash@example.com") }`, nil))
	_ = p2.cmd.Process.Signal(syscall.SIGKILL)
	p2.wait(t, 10*time.Second)
	srv.Restart()
	killed = time.Now()
	startBinary(t, bin, env)
	itest.Eventually(t, 60*time.Second, "the second reset mail", func() bool { return countSent(t, srv, "crash@example.com", "Reset your") >= 2 })
	last := srv.Messages()[len(srv.Messages())-1]
	t.Logf("killed with the mail queued (SMTP down, one attempt failed); delivered %v after the kill", last.At.Sub(killed).Round(time.Millisecond))
}

// TestOutboxTwoInstancesPostgres: two instances share one PostgreSQL outbox; every mail of
// requests made on either goes out exactly once.
func TestOutboxTwoInstancesPostgres(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{User: smtpUser, Pass: smtpPass})
	shared := smtpEnv(srv, map[string]string{"DATABASE_URL": itest.PostgresURL(t), "EMAIL_VERIFICATION": "off", "RATE_LIMITS": "off"})
	a, b := startServer(t, shared), startServer(t, shared)
	const users, rounds = 8, 3
	for i := range users {
		a.register(t, "pg"+string(rune('a'+i))+"@example.com")
	}
	for round := range rounds {
		for i := range users {
			s := a
			if (i+round)%2 == 1 {
				s = b
			}
			expectOK(t, s.gql(t, "", `mutation($e:String!){ requestPasswordReset(email:$e) }`, map[string]any{"e": "pg" + string(rune('a'+i)) + "@example.com"}))
		}
	}
	itest.Eventually(t, 30*time.Second, "every reset mail", func() bool { return len(srv.Messages()) >= users*rounds })
	time.Sleep(3 * time.Second) // a duplicate would come within a poll or two
	ids := map[string]int{}
	for _, m := range srv.Messages() {
		ids[parseSent(t, m).messageID]++
	}
	if len(srv.Messages()) != users*rounds || len(ids) != users*rounds {
		t.Fatalf("%d messages, %d distinct, want %d each", len(srv.Messages()), len(ids), users*rounds)
	}
}

// TestMailLimitsSharedByRedis: with REDIS_URL the per-address mail limit is one budget for
// every instance.
func TestMailLimitsSharedByRedis(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{User: smtpUser, Pass: smtpPass})
	shared := sharedEnv(t, itest.RedisURL(t))
	for k, v := range smtpEnv(srv, map[string]string{"EMAIL_VERIFICATION": "off"}) {
		shared[k] = v
	}
	a, b := startPair(t, shared)
	ask := func(s *testServer) gqlResponse {
		return s.gql(t, "", `mutation { requestPasswordReset(email: "shared-limit@example.com") }`, nil)
	}
	for _, s := range []*testServer{a, b, a} {
		expectOK(t, ask(s))
	}
	expectError(t, ask(b), "RATE_LIMITED", "")
}

// TestResetEndsSessionsOnEveryInstance: a reset made on one instance ends the sessions another
// instance serves, within a second.
func TestResetEndsSessionsOnEveryInstance(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{User: smtpUser, Pass: smtpPass})
	shared := sharedEnv(t, "")
	for k, v := range smtpEnv(srv, map[string]string{"EMAIL_VERIFICATION": "off"}) {
		shared[k] = v
	}
	a, b := startPair(t, shared)
	a.register(t, "everywhere@example.com")
	onB, r := b.login(t, "everywhere@example.com", testPassword)
	expectOK(t, r)
	expectOK(t, b.me(t, onB.AccessToken))
	expectOK(t, a.gql(t, "", `mutation { requestPasswordReset(email: "everywhere@example.com") }`, nil))
	_, tok := tokenOf(t, waitSent(t, srv, "everywhere@example.com", "Reset your", 10*time.Second).text)
	expectOK(t, a.gql(t, "", `mutation($t:String!,$p:String!){ resetPassword(token:$t, newPassword:$p) { accessToken } }`, map[string]any{"t": tok, "p": newPassword}))
	took := itest.Eventually(t, 2*time.Second, "instance B refuses the ended session", func() bool { return revoked(t, b, onB.AccessToken) })
	t.Logf("B refused the session %v after the reset on A", took)
}
