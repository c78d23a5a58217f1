package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/internal/servertest"
)

// devMail is one entry of GET /dev/mailbox.
type devMail struct {
	ID      string    `json:"id"`
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	SentAt  time.Time `json:"sentAt"`
}

func (s *testServer) mailbox(t testing.TB) []devMail {
	t.Helper()
	resp, err := http.Get(s.URL + "/dev/mailbox")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /dev/mailbox: %d", resp.StatusCode)
	}
	var out []devMail
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitMail waits for a mailbox mail to whom whose subject contains subject.
func (s *testServer) waitMail(t testing.TB, to, subject string) devMail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, m := range s.mailbox(t) {
			if m.To == to && strings.Contains(m.Subject, subject) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s about %q; mailbox: %+v", to, subject, s.mailbox(t))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

var linkToken = regexp.MustCompile(`(/[a-z-]+)#token=([A-Za-z0-9_-]{43})`)

// tokenOf returns the page and the token of the link in a mail's text.
func tokenOf(t testing.TB, text string) (page, token string) {
	t.Helper()
	m := linkToken.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no link with a token in %q", text)
	}
	return m[1], m[2]
}

// TestDevMailboxVerification: in development without SMTP_URL, register's verification mail
// lands in the development mailbox; its link's token verifies the address once.
func TestDevMailboxVerification(t *testing.T) {
	s := startServer(t, map[string]string{"EMAIL_VERIFICATION": "optional"})
	reg := s.register(t, "newcomer@example.com")
	if r := s.gql(t, reg.AccessToken, `{ me { emailVerified } }`, nil); string(r.Data["me"]) != `{"emailVerified":false}` {
		t.Fatalf("a new account is unverified: %s %+v", r.Data["me"], r.Errors)
	}
	m := s.waitMail(t, "newcomer@example.com", "Confirm your email address")
	page, token := tokenOf(t, m.Text)
	if page != "/verify-email" || !strings.HasPrefix(strings.SplitN(linkToken.FindString(m.Text), "#", 2)[0], "/verify-email") {
		t.Fatalf("link page %q", page)
	}
	if !strings.Contains(m.Text, servertest.Issuer+"/verify-email#token="+token) || !strings.Contains(m.HTML, token) {
		t.Fatalf("the link is not based on PUBLIC_URL: %s", m.Text)
	}
	if strings.Count(m.HTML, "<head>") != 1 {
		t.Fatalf("html: %s", m.HTML)
	}
	r := s.gql(t, "", `mutation($t:String!){ verifyEmail(token:$t) { email emailVerified } }`, map[string]any{"t": token})
	expectOK(t, r)
	if string(r.Data["verifyEmail"]) != `{"email":"newcomer@example.com","emailVerified":true}` {
		t.Fatalf("verifyEmail: %s", r.Data["verifyEmail"])
	}
	r = s.gql(t, "", `mutation($t:String!){ verifyEmail(token:$t) { email } }`, map[string]any{"t": token})
	expectError(t, r, "BAD_USER_INPUT", "INVALID")
	if r := s.gql(t, reg.AccessToken, `{ me { emailVerified } }`, nil); string(r.Data["me"]) != `{"emailVerified":true}` {
		t.Fatalf("me after verifying: %s", r.Data["me"])
	}
	r = s.gql(t, reg.AccessToken, `mutation { requestEmailVerification }`, nil)
	if expectOK(t, r); string(r.Data["requestEmailVerification"]) != "false" {
		t.Fatalf("requestEmailVerification of a verified address: %s", r.Data["requestEmailVerification"])
	}
	if strings.Contains(s.Log(), token) {
		t.Fatal("the log holds the token")
	}
}

// TestEmailVerificationRequired: an unverified account may use me, requestEmailVerification
// and logout; every other @auth field answers FORBIDDEN EMAIL_NOT_VERIFIED until the link is
// followed, and then works at once.
func TestEmailVerificationRequired(t *testing.T) {
	s := startServer(t, map[string]string{"EMAIL_VERIFICATION": "required"})
	reg := s.register(t, "strict@example.com")
	expectOK(t, s.me(t, reg.AccessToken))
	expectError(t, s.gql(t, reg.AccessToken, `{ sessions { id } }`, nil), "FORBIDDEN", "EMAIL_NOT_VERIFIED")
	expectError(t, s.gql(t, reg.AccessToken, `mutation { logoutAll }`, nil), "FORBIDDEN", "EMAIL_NOT_VERIFIED")
	r := s.gql(t, reg.AccessToken, `mutation { requestEmailVerification }`, nil)
	if expectOK(t, r); string(r.Data["requestEmailVerification"]) != "true" {
		t.Fatalf("requestEmailVerification: %s", r.Data["requestEmailVerification"])
	}
	// Two verification mails (register's and the requested one): only the newer link works.
	var mails []devMail
	deadline := time.Now().Add(10 * time.Second)
	for len(mails) < 2 {
		mails = nil
		for _, m := range s.mailbox(t) {
			if m.To == "strict@example.com" {
				mails = append(mails, m)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("want 2 mails, mailbox %+v", s.mailbox(t))
		}
		time.Sleep(25 * time.Millisecond)
	}
	_, newer := tokenOf(t, mails[0].Text) // newest first
	_, older := tokenOf(t, mails[1].Text)
	expectError(t, s.gql(t, "", `mutation($t:String!){ verifyEmail(token:$t) { id } }`, map[string]any{"t": older}), "BAD_USER_INPUT", "INVALID")
	expectOK(t, s.gql(t, "", `mutation($t:String!){ verifyEmail(token:$t) { id } }`, map[string]any{"t": newer}))
	expectOK(t, s.gql(t, reg.AccessToken, `{ sessions { id } }`, nil))

	// Logout stays open to an unverified account.
	other := s.register(t, "strict2@example.com")
	r = s.gql(t, other.AccessToken, `mutation { logout }`, nil)
	if expectOK(t, r); string(r.Data["logout"]) != "true" {
		t.Fatalf("logout: %s", r.Data["logout"])
	}
	// An account made by an operator counts as verified.
	s.CreateUser(t, "operator-made@example.com", "USER", testPassword)
	p, r := s.login(t, "operator-made@example.com", testPassword)
	expectOK(t, r)
	expectOK(t, s.gql(t, p.AccessToken, `{ sessions { id } }`, nil))
}

// TestMailNotConfiguredInProduction: production without SMTP_URL logs one warning at start,
// answers the mail operations UNAVAILABLE MAIL_NOT_CONFIGURED, still registers, and has no
// development mailbox; EMAIL_VERIFICATION=required then refuses to start, naming SMTP_URL.
func TestMailNotConfiguredInProduction(t *testing.T) {
	key := goodProductionKey(t)
	s := startServer(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": key})
	reg := s.register(t, "prod@example.com")
	if reg.AccessToken == "" {
		t.Fatal("register failed for lack of mail")
	}
	expectError(t, s.gql(t, "", `mutation { requestPasswordReset(email: "prod@example.com") }`, nil), "UNAVAILABLE", "MAIL_NOT_CONFIGURED")
	expectError(t, s.gql(t, reg.AccessToken, `mutation { requestEmailVerification }`, nil), "UNAVAILABLE", "MAIL_NOT_CONFIGURED")
	expectError(t, s.gql(t, reg.AccessToken, `mutation { requestEmailChange(newEmail: "p2@example.com", currentPassword: "`+testPassword+`") }`, nil), "UNAVAILABLE", "MAIL_NOT_CONFIGURED")
	resp, err := http.Get(s.URL + "/dev/mailbox")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /dev/mailbox in production: %d", resp.StatusCode)
	}
	if n := strings.Count(s.Log(), "SMTP_URL is not set"); n != 1 {
		t.Fatalf("want one warning at start, got %d:\n%s", n, s.Log())
	}
	expectConfigExit(t, runRefused(t, map[string]string{"APP_ENV": "production", "JWT_SECRET": key, "EMAIL_VERIFICATION": "required"}), "SMTP_URL")
}

// TestMailEventsInSecurityEvents: the owner's securityEvents subscription shows the mail
// flows' events as they happen (here a reset request, its mail, and the verification).
func TestMailEventsInSecurityEvents(t *testing.T) {
	s := startServer(t, nil) // EMAIL_VERIFICATION=off: nothing is mailed at register
	reg := s.register(t, "watched@example.com")
	c := subscribeSecurityEvents(t, s, reg.AccessToken)
	expectOK(t, s.gql(t, "", `mutation { requestPasswordReset(email: "watched@example.com") }`, nil))
	seen := map[string]bool{}
	for !seen["PASSWORD_RESET_REQUESTED"] || !seen["MAIL_SENT"] {
		typ, _ := nextSecurityEvent(t, c, 10*time.Second)
		seen[typ] = true
	}
	expectOK(t, s.gql(t, reg.AccessToken, `mutation { requestEmailVerification }`, nil))
	m := s.waitMail(t, "watched@example.com", "Confirm your email address")
	_, token := tokenOf(t, m.Text)
	expectOK(t, s.gql(t, "", `mutation($t:String!){ verifyEmail(token:$t) { id } }`, map[string]any{"t": token}))
	for !seen["EMAIL_VERIFICATION_REQUESTED"] || !seen["EMAIL_VERIFIED"] {
		typ, _ := nextSecurityEvent(t, c, 10*time.Second)
		seen[typ] = true
	}
}

// TestMailTemplatesAndConfig: a template in MAIL_TEMPLATES_DIR replaces the built-in one of
// its name; a broken template, and bad mail settings, stop the start naming their variable.
func TestMailTemplatesAndConfig(t *testing.T) {
	dir := t.TempDir()
	custom := `{{define "subject"}}Welcome to {{.Product}}, {{.To}}{{end}}{{define "text"}}Open {{.Link}}{{end}}{{define "html"}}<p><a href="{{.Link}}">go</a></p>{{end}}`
	if err := os.WriteFile(filepath.Join(dir, "verify-email.tmpl"), []byte(custom), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, map[string]string{"MAIL_TEMPLATES_DIR": dir, "EMAIL_VERIFICATION": "optional", "MAIL_FROM": "Acme <hello@acme.example>"})
	s.register(t, "templated@example.com")
	m := s.waitMail(t, "templated@example.com", "Welcome to Acme, templated@example.com")
	if _, tok := tokenOf(t, m.Text); !strings.HasPrefix(m.Text, "Open "+servertest.Issuer+"/verify-email#token="+tok) {
		t.Fatalf("text: %q", m.Text)
	}

	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "reset-password.tmpl"), []byte(`{{define "subject"}}{{.Nope}}{{end}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env      map[string]string
		variable string
	}{
		{map[string]string{"MAIL_TEMPLATES_DIR": broken}, "MAIL_TEMPLATES_DIR"},
		{map[string]string{"SMTP_URL": "http://mail.example.com"}, "SMTP_URL"},
		{map[string]string{"SMTP_URL": "smtps://h?tls=required"}, "SMTP_URL"},
		{map[string]string{"SMTP_URL": "smtp://h:99999"}, "SMTP_URL"},
		{map[string]string{"MAIL_FROM": "not an address"}, "MAIL_FROM"},
		{map[string]string{"MAIL_LINK_BASE": "app.example.com/links"}, "MAIL_LINK_BASE"},
		{map[string]string{"EMAIL_VERIFICATION": "sometimes"}, "EMAIL_VERIFICATION"},
		{map[string]string{"SMTP_TIMEOUT": "soon"}, "SMTP_TIMEOUT"},
		{map[string]string{"SMTP_URL": "smtp://h:25", "SMTP_CA_FILE": filepath.Join(broken, "none.pem")}, "SMTP_CA_FILE"},
	} {
		expectConfigExit(t, runRefused(t, tc.env), tc.variable)
	}
}
