package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/itest"
	"github.com/example/gqlauth/internal/servertest"
	"github.com/example/gqlauth/internal/smtptest"
)

// The mail flows against a real SMTP server over TCP (internal/smtptest: go-smtp with STARTTLS
// on a test certificate and AUTH), from the mutation to the message's bytes to the token in
// its link.

const smtpUser, smtpPass = "mailer", "s3cret pw"

// smtpEnv points the service at srv with STARTTLS required and the test CA trusted.
func smtpEnv(srv *smtptest.Server, extra map[string]string) map[string]string {
	env := map[string]string{
		"SMTP_URL":           "smtp://" + smtpUser + ":s3cret%20pw@127.0.0.1:" + srv.Port() + "?tls=required",
		"SMTP_CA_FILE":       srv.CAFile,
		"MAIL_FROM":          "Grüße-Dienst <no-reply@example.com>",
		"EMAIL_VERIFICATION": "optional",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// sentMail is a received message, parsed.
type sentMail struct {
	raw       smtptest.Message
	header    netmail.Header
	subject   string
	text      string
	html      string
	messageID string
}

func parseSent(t testing.TB, m smtptest.Message) sentMail {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatalf("not a mail: %v\n%s", err, m.Data)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	out := sentMail{raw: m, header: msg.Header, subject: subject, messageID: msg.Header.Get("Message-Id")}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err != nil {
			break
		}
		var body io.Reader = p
		switch strings.ToLower(p.Header.Get("Content-Transfer-Encoding")) {
		case "quoted-printable":
			body = quotedprintable.NewReader(p)
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, p)
		}
		b, _ := io.ReadAll(body)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			out.text = string(b)
		case "text/html":
			out.html = string(b)
		}
	}
	return out
}

// waitSent waits for a message to to whose subject contains subject, not among skip.
func waitSent(t testing.TB, srv *smtptest.Server, to, subject string, within time.Duration) sentMail {
	t.Helper()
	var found sentMail
	_, ok := srv.Wait(within, func(m smtptest.Message) bool {
		if !slices.Contains(m.To, to) {
			return false
		}
		sm := parseSent(t, m)
		if strings.Contains(sm.subject, subject) {
			found = sm
			return true
		}
		return false
	})
	if !ok {
		var got []string
		for _, m := range srv.Messages() {
			got = append(got, strings.Join(m.To, ",")+": "+parseSent(t, m).subject)
		}
		t.Fatalf("no mail to %s about %q within %v; got %q", to, subject, within, got)
	}
	return found
}

// countSent counts the messages to to whose subject contains subject.
func countSent(t testing.TB, srv *smtptest.Server, to, subject string) int {
	n := 0
	for _, m := range srv.Messages() {
		if slices.Contains(m.To, to) && strings.Contains(parseSent(t, m).subject, subject) {
			n++
		}
	}
	return n
}

const newPassword = "a brand new passphrase 2026"

// TestMailFlowsOverSMTP: verification, password reset, address change and the notices, each
// from the mutation to the mail at the SMTP server to the token in its link.
func TestMailFlowsOverSMTP(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{User: smtpUser, Pass: smtpPass})
	s := startServer(t, smtpEnv(srv, map[string]string{"REFRESH_REUSE_GRACE": "1s"}))
	s.CreateUser(t, "admin@example.com", "ADMIN", testPassword)
	admin, r := s.login(t, "admin@example.com", testPassword)
	expectOK(t, r)

	reg := s.register(t, "flow@example.com")
	var uid = reg.User.ID

	// Verification: the mail at register, its bytes, its link.
	m := waitSent(t, srv, "flow@example.com", "Confirm your email address for Grüße-Dienst", 10*time.Second)
	if !m.raw.TLS || m.raw.AuthUser != smtpUser || m.raw.From != "no-reply@example.com" {
		t.Fatalf("SMTP session: tls %v, user %q, from %q", m.raw.TLS, m.raw.AuthUser, m.raw.From)
	}
	if from, err := (&netmail.AddressParser{WordDecoder: new(mime.WordDecoder)}).Parse(m.header.Get("From")); err != nil || from.Name != "Grüße-Dienst" {
		t.Fatalf("From %q: %v", m.header.Get("From"), err)
	}
	if !strings.HasPrefix(m.messageID, "<") || !strings.HasSuffix(m.messageID, "@example.com>") || m.header.Get("Date") == "" {
		t.Fatalf("Message-ID %q, Date %q", m.messageID, m.header.Get("Date"))
	}
	page, token := tokenOf(t, m.text)
	if page != "/verify-email" || !strings.Contains(m.text, servertest.Issuer+"/verify-email#token="+token) || !strings.Contains(m.html, token) {
		t.Fatalf("link: %s", m.text)
	}
	r = s.gql(t, "", `mutation($t:String!){ verifyEmail(token:$t) { id emailVerified } }`, map[string]any{"t": token})
	expectOK(t, r)
	if string(r.Data["verifyEmail"]) != `{"id":"`+uid+`","emailVerified":true}` {
		t.Fatalf("verifyEmail: %s", r.Data["verifyEmail"])
	}

	// Password reset: every session ends, a fresh one starts; the token works once.
	other, r := s.login(t, "flow@example.com", testPassword)
	expectOK(t, r)
	start := time.Now()
	r = s.gql(t, "", `mutation { requestPasswordReset(email: "FLOW@example.com ") }`, nil)
	if expectOK(t, r); string(r.Data["requestPasswordReset"]) != "true" {
		t.Fatalf("requestPasswordReset: %s", r.Data["requestPasswordReset"])
	}
	m = waitSent(t, srv, "flow@example.com", "Reset your Grüße-Dienst password", 10*time.Second)
	t.Logf("requestPasswordReset → mail at the SMTP server: %v", m.raw.At.Sub(start))
	if !strings.Contains(m.text, "127.0.0.1") {
		t.Errorf("the reset mail does not say where the request came from:\n%s", m.text)
	}
	page, token = tokenOf(t, m.text)
	if page != "/reset-password" {
		t.Fatalf("reset link page %q", page)
	}
	expectError(t, s.gql(t, "", `mutation($t:String!){ resetPassword(token:$t, newPassword:"short") { accessToken } }`, map[string]any{"t": token}), "BAD_USER_INPUT", "")
	r = s.gql(t, "", `mutation($t:String!,$p:String!){ resetPassword(token:$t, newPassword:$p) { `+payloadFields+` } }`, map[string]any{"t": token, "p": newPassword})
	expectOK(t, r)
	var fresh payload
	r.decode(t, "resetPassword", &fresh)
	var claims struct{ AMR []string }
	decodeClaims(t, fresh.AccessToken, &claims)
	if !slices.Equal(claims.AMR, []string{"pwd"}) {
		t.Errorf("amr of the reset's session: %v", claims.AMR)
	}
	expectError(t, s.me(t, reg.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")
	expectError(t, s.me(t, other.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")
	_, r = s.refresh(t, other.RefreshToken)
	expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID")
	expectOK(t, s.me(t, fresh.AccessToken))
	expectError(t, s.gql(t, "", `mutation($t:String!,$p:String!){ resetPassword(token:$t, newPassword:$p) { accessToken } }`,
		map[string]any{"t": token, "p": newPassword + "!"}), "BAD_USER_INPUT", "INVALID")
	_, r = s.login(t, "flow@example.com", testPassword)
	expectError(t, r, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
	_, r = s.login(t, "flow@example.com", newPassword)
	expectOK(t, r)
	notice := waitSent(t, srv, "flow@example.com", "password was changed", 10*time.Second)
	if strings.Contains(notice.text, "#token=") || strings.Contains(notice.html, "href") {
		t.Fatalf("a notice carries a link:\n%s\n%s", notice.text, notice.html)
	}

	// Address change: a link to the new address, a notice to the old; then the switch.
	r = s.gql(t, fresh.AccessToken, `mutation($p:String!){ requestEmailChange(newEmail:"moved@example.com", currentPassword:$p) }`, map[string]any{"p": testPassword})
	expectError(t, r, "BAD_USER_INPUT", "")
	r = s.gql(t, fresh.AccessToken, `mutation($p:String!){ requestEmailChange(newEmail:"admin@example.com", currentPassword:$p) }`, map[string]any{"p": newPassword})
	expectError(t, r, "BAD_USER_INPUT", "")
	r = s.gql(t, fresh.AccessToken, `mutation($p:String!){ requestEmailChange(newEmail:"Moved@Example.com", currentPassword:$p) }`, map[string]any{"p": newPassword})
	expectOK(t, r)
	m = waitSent(t, srv, "moved@example.com", "Confirm your new email address", 10*time.Second)
	waitSent(t, srv, "flow@example.com", "change of your Grüße-Dienst address was asked for", 10*time.Second)
	page, token = tokenOf(t, m.text)
	if page != "/confirm-email-change" {
		t.Fatalf("change link page %q", page)
	}
	r = s.gql(t, "", `mutation($t:String!){ confirmEmailChange(token:$t) { email emailVerified } }`, map[string]any{"t": token})
	expectOK(t, r)
	if string(r.Data["confirmEmailChange"]) != `{"email":"moved@example.com","emailVerified":true}` {
		t.Fatalf("confirmEmailChange: %s", r.Data["confirmEmailChange"])
	}
	changed := waitSent(t, srv, "flow@example.com", "address was changed", 10*time.Second)
	if !strings.Contains(changed.text, "moved@example.com") || strings.Contains(changed.text, "#token=") {
		t.Fatalf("address-changed notice:\n%s", changed.text)
	}
	_, r = s.login(t, "moved@example.com", newPassword)
	expectOK(t, r)
	_, r = s.login(t, "flow@example.com", newPassword)
	expectError(t, r, "UNAUTHENTICATED", "INVALID_CREDENTIALS")

	// A refresh token reused after the grace window ends the session, and says so by mail.
	s.reuseRefreshToken(t, "moved@example.com", newPassword)
	waitSent(t, srv, "moved@example.com", "session was ended", 10*time.Second)

	// The audit trail has every step.
	var types []string
	itest.Eventually(t, 10*time.Second, "mail events in the audit trail", func() bool {
		types = auditTypes(t, s, admin.AccessToken, uid)
		for _, want := range []string{"EMAIL_VERIFICATION_REQUESTED", "EMAIL_VERIFIED", "PASSWORD_RESET_REQUESTED", "PASSWORD_RESET",
			"EMAIL_CHANGE_REQUESTED", "EMAIL_CHANGED", "MAIL_SENT"} {
			if !slices.Contains(types, want) {
				return false
			}
		}
		return true
	})
	if strings.Contains(s.Log(), token) {
		t.Fatal("the log holds a mail token")
	}
}

// TestMailTokensRefused: a token voided by a newer one, by a password change, used twice,
// malformed, or of another kind answers BAD_USER_INPUT field token reason INVALID; one
// user's token never changes another user.
func TestMailTokensRefused(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{User: smtpUser, Pass: smtpPass})
	s := startServer(t, smtpEnv(srv, map[string]string{"RATE_LIMITS": "off"}))
	a := s.register(t, "tok-a@example.com")
	b := s.register(t, "tok-b@example.com")
	reset := func(email string) string {
		t.Helper()
		before := countSent(t, srv, email, "Reset your")
		expectOK(t, s.gql(t, "", `mutation($e:String!){ requestPasswordReset(email:$e) }`, map[string]any{"e": email}))
		itest.Eventually(t, 10*time.Second, "reset mail", func() bool { return countSent(t, srv, email, "Reset your") > before })
		var last sentMail
		for _, m := range srv.Messages() {
			if sm := parseSent(t, m); slices.Contains(m.To, email) && strings.Contains(sm.subject, "Reset your") {
				last = sm
			}
		}
		_, tok := tokenOf(t, last.text)
		return tok
	}
	resetWith := func(tok string) gqlResponse {
		return s.gql(t, "", `mutation($t:String!,$p:String!){ resetPassword(token:$t, newPassword:$p) { accessToken } }`, map[string]any{"t": tok, "p": newPassword})
	}
	field := func(r gqlResponse) string { return r.ext("field") }

	older := reset("tok-a@example.com")
	newer := reset("tok-a@example.com")
	r := resetWith(older)
	if expectError(t, r, "BAD_USER_INPUT", "INVALID"); field(r) != "token" {
		t.Fatalf("field %q", field(r))
	}

	// A password change voids a reset token issued before it.
	r = s.gql(t, a.AccessToken, `mutation($c:String!,$n:String!){ changePassword(input:{currentPassword:$c,newPassword:$n}) { accessToken } }`,
		map[string]any{"c": testPassword, "n": "yet another passphrase 1"})
	expectOK(t, r)
	expectError(t, resetWith(newer), "BAD_USER_INPUT", "INVALID")

	// Malformed tokens, and a token of another kind.
	verifyB := waitSent(t, srv, "tok-b@example.com", "Confirm your email address", 10*time.Second)
	_, vtok := tokenOf(t, verifyB.text)
	for _, bad := range []string{"", "x", strings.Repeat("A", 42), strings.Repeat("A", 44), strings.Repeat("!", 43),
		strings.Repeat("A", 21) + "\n" + strings.Repeat("A", 21), vtok} {
		expectError(t, resetWith(bad), "BAD_USER_INPUT", "INVALID")
	}
	// b's verification token verifies b, and only b.
	expectOK(t, s.gql(t, "", `mutation($t:String!){ verifyEmail(token:$t) { id } }`, map[string]any{"t": vtok}))
	if r := s.gql(t, a.AccessToken, `{ me { emailVerified } }`, nil); len(r.Errors) == 0 && string(r.Data["me"]) != `{"emailVerified":false}` {
		t.Fatalf("a's address verified by b's token: %s", r.Data["me"])
	}
	if r := s.gql(t, b.AccessToken, `{ me { emailVerified } }`, nil); string(r.Data["me"]) != `{"emailVerified":true}` {
		t.Fatalf("b: %s %+v", r.Data["me"], r.Errors)
	}
	expectError(t, s.gql(t, "", `mutation($t:String!){ verifyEmail(token:$t) { id } }`, map[string]any{"t": vtok}), "BAD_USER_INPUT", "INVALID")
}

// TestPasswordResetNoOracle: requestPasswordReset answers known and unknown addresses with the
// same bytes in about the same time, mails only the known one, and its limits (3 mails per
// address per hour) count both alike.
func TestPasswordResetNoOracle(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{User: smtpUser, Pass: smtpPass})
	s := startServer(t, smtpEnv(srv, map[string]string{"RATE_LIMITS": "off", "EMAIL_VERIFICATION": "off"}))
	const accounts = 10
	for i := range accounts {
		s.register(t, "known"+string(rune('a'+i))+"@example.com")
	}
	ask := func(email string) (time.Duration, []byte) {
		start := time.Now()
		res := doRequest(t, "POST", s.URL+"/query", headerOf("Content-Type", "application/json"), mustJSON(map[string]any{
			"query": `mutation($e:String!){ requestPasswordReset(email:$e) }`, "variables": map[string]any{"e": email}}), false)
		return time.Since(start), res.body
	}
	ask("warm-up@example.com")
	var known, unknown []time.Duration
	began := time.Now()
	for i := 0; i < 40 && (i < 10 || time.Since(began) < 30*time.Second); i++ {
		k := func() {
			d, body := ask("known" + string(rune('a'+i%accounts)) + "@example.com")
			known = append(known, d)
			if string(body) != `{"data":{"requestPasswordReset":true}}` {
				t.Fatalf("known address: %s", body)
			}
		}
		u := func() {
			d, body := ask("nobody" + string(rune('a'+i%26)) + "@example.com")
			unknown = append(unknown, d)
			if string(body) != `{"data":{"requestPasswordReset":true}}` {
				t.Fatalf("unknown address: %s", body)
			}
		}
		if i%2 == 0 {
			k()
			u()
		} else {
			u()
			k()
		}
	}
	mk, mu := median(known), median(unknown)
	ratio := float64(mk) / float64(mu)
	t.Logf("requestPasswordReset, %d pairs: median known %v, unknown %v (ratio %.2f)", len(known), mk, mu, ratio)
	// The request path is one insert either way, and the sender starts the work a known
	// address causes only 100–200 ms later (MailConfig.WakeDelay), so it lands on random later
	// requests of either kind. At a third of a millisecond, scheduling noise alone moves a
	// median by some microseconds, so a gap must also exceed 50 µs to count.
	if gap := (mk - mu).Abs(); (ratio < 0.8 || ratio > 1.25) && gap > 50*time.Microsecond {
		t.Errorf("timing tells known from unknown: known %v vs unknown %v", mk, mu)
	}
	itest.Eventually(t, 20*time.Second, "reset mails to the known addresses", func() bool {
		return len(srv.Messages()) >= len(known)
	})
	time.Sleep(500 * time.Millisecond)
	for _, m := range srv.Messages() {
		if !strings.HasPrefix(m.To[0], "known") {
			t.Fatalf("mail sent to an unknown address: %v", m.To)
		}
	}
}

// TestMailLimits: 3 mails of a kind per address per hour, counted alike for known and unknown
// addresses; then RATE_LIMITED with retryAfter.
func TestMailLimits(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{User: smtpUser, Pass: smtpPass})
	s := startServer(t, smtpEnv(srv, map[string]string{"EMAIL_VERIFICATION": "off"}))
	s.register(t, "limited@example.com")
	for _, email := range []string{"limited@example.com", "unknown-limited@example.com"} {
		for i := range 3 {
			if r := s.gql(t, "", `mutation($e:String!){ requestPasswordReset(email:$e) }`, map[string]any{"e": email}); len(r.Errors) > 0 {
				t.Fatalf("%s attempt %d: %+v", email, i+1, r.Errors)
			}
		}
		r := s.gql(t, "", `mutation($e:String!){ requestPasswordReset(email:$e) }`, map[string]any{"e": email})
		expectError(t, r, "RATE_LIMITED", "")
		if r.ext("retryAfter") == "<nil>" {
			t.Fatalf("no retryAfter: %+v", r.Errors)
		}
	}
	itest.Eventually(t, 10*time.Second, "3 reset mails", func() bool { return countSent(t, srv, "limited@example.com", "Reset your") == 3 })
	// 30 mail requests per client address per hour, whatever the addresses: 8 were made above
	// (the refused ones count too).
	for i := range 22 {
		if r := s.gql(t, "", `mutation($e:String!){ requestPasswordReset(email:$e) }`, map[string]any{"e": fmt.Sprintf("spray%d@example.com", i)}); len(r.Errors) > 0 {
			t.Fatalf("request %d of the client address: %+v", 9+i, r.Errors)
		}
	}
	expectError(t, s.gql(t, "", `mutation { requestPasswordReset(email: "one-more@example.com") }`, nil), "RATE_LIMITED", "")
}

// TestResetRacingLogin: a sign-in whose password check overlaps a password reset never keeps a
// live session after the reset.
func TestResetRacingLogin(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{User: smtpUser, Pass: smtpPass})
	s := startServer(t, smtpEnv(srv, map[string]string{"RATE_LIMITS": "off", "EMAIL_VERIFICATION": "off", "BCRYPT_COST": "11"}))
	s.register(t, "racer@example.com")
	password := testPassword
	for round := range 6 {
		expectOK(t, s.gql(t, "", `mutation { requestPasswordReset(email: "racer@example.com") }`, nil))
		itest.Eventually(t, 10*time.Second, "reset mail", func() bool { return countSent(t, srv, "racer@example.com", "Reset your") > round })
		var last sentMail
		for _, m := range srv.Messages() {
			last = parseSent(t, m)
		}
		_, tok := tokenOf(t, last.text)
		next := newPassword + string(rune('a'+round))
		var (
			wg    sync.WaitGroup
			login payload
			lr    gqlResponse
		)
		wg.Add(2)
		go func() { defer wg.Done(); login, lr = s.login(t, "racer@example.com", password) }()
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(round) * 15 * time.Millisecond) // land inside the login's bcrypt time
			expectOK(t, s.gql(t, "", `mutation($t:String!,$p:String!){ resetPassword(token:$t, newPassword:$p) { accessToken } }`, map[string]any{"t": tok, "p": next}))
		}()
		wg.Wait()
		password = next
		if len(lr.Errors) == 0 {
			expectError(t, s.me(t, login.AccessToken), "UNAUTHENTICATED", "TOKEN_REVOKED")
			_, r := s.refresh(t, login.RefreshToken)
			expectError(t, r, "UNAUTHENTICATED", "REFRESH_TOKEN_INVALID")
		} else {
			expectError(t, lr, "UNAUTHENTICATED", "INVALID_CREDENTIALS")
		}
	}
}

// TestNoticesFromOtherFeatures: the second factor's events produce their notices through the
// one table, without that feature doing anything about mail.
func TestNoticesFromOtherFeatures(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{User: smtpUser, Pass: smtpPass})
	s := startServer(t, smtpEnv(srv, map[string]string{"EMAIL_VERIFICATION": "off"}))
	s.enrolTOTP(t, "factor@example.com")
	m := waitSent(t, srv, "factor@example.com", "second factor was turned on", 10*time.Second)
	if strings.Contains(m.text, "#token=") || !strings.Contains(m.text, "127.0.0.1") {
		t.Fatalf("notice:\n%s", m.text)
	}
}
