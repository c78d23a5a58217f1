package smtp_test

import (
	"context"
	"errors"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/internal/smtptest"
	"github.com/example/gqlauth/mail"
	"github.com/example/gqlauth/mail/smtp"
)

func sender(t *testing.T, srv *smtptest.Server, rawURL string) *smtp.Sender {
	t.Helper()
	cfg, err := smtp.ParseURL(strings.ReplaceAll(rawURL, "PORT", srv.Port()))
	if err != nil {
		t.Fatal(err)
	}
	from := &netmail.Address{Name: "Zoë’s Service", Address: "no-reply@example.com"}
	return smtp.New(cfg, from, smtp.Options{Timeout: 3 * time.Second, RootCAs: srv.CAPool})
}

var message = mail.Message{
	ID: "01JTEST", To: "jürgen@example.com", Subject: "Grüße — reset your password",
	Text: "Hello Jürgen,\nopen https://x.example/reset-password#token=abc\n", HTML: "<p>Hello Jürgen</p>",
	Date: time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC),
}

// TestSendOverSTARTTLS: smtp:// upgrades with STARTTLS, authenticates with PLAIN or LOGIN, and
// the message is multipart text + HTML with Message-ID, Date and MIME-encoded non-ASCII.
func TestSendOverSTARTTLS(t *testing.T) {
	for _, mech := range []string{"plain", "login"} {
		t.Run(mech, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{User: "mailer", Pass: "s3cr:t/pw"})
			s := sender(t, srv, "smtp://mailer:s3cr%3At%2Fpw@127.0.0.1:PORT?auth="+mech)
			if err := s.Send(context.Background(), message); err != nil {
				t.Fatal(err)
			}
			m, ok := srv.Wait(time.Second, nil)
			if !ok {
				t.Fatal("no message")
			}
			if !m.TLS || m.AuthUser != "mailer" || len(m.To) != 1 || m.To[0] != "jürgen@example.com" {
				t.Fatalf("session: tls %v, user %q, to %v", m.TLS, m.AuthUser, m.To)
			}
			checkMIME(t, m.Data)
		})
	}
}

func checkMIME(t *testing.T, data []byte) {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("not a mail: %v\n%s", err, data)
	}
	h := msg.Header
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil || subject != message.Subject || !strings.HasPrefix(h.Get("Subject"), "=?") {
		t.Errorf("Subject %q (raw %q, %v)", subject, h.Get("Subject"), err)
	}
	from, err := (&netmail.AddressParser{WordDecoder: dec}).Parse(h.Get("From"))
	if err != nil || from.Name != "Zoë’s Service" || from.Address != "no-reply@example.com" || !strings.Contains(h.Get("From"), "=?") {
		t.Errorf("From %q: %+v %v", h.Get("From"), from, err)
	}
	if h.Get("Message-Id") != "<01JTEST@example.com>" {
		t.Errorf("Message-ID %q", h.Get("Message-Id"))
	}
	if d, err := h.Date(); err != nil || !d.Equal(message.Date) {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q", h.Get("Content-Type"))
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := r.NextPart()
		if err != nil {
			break
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, pt)
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Errorf("parts %v", types)
	}
}

// TestSendImplicitTLS: smtps:// speaks TLS from the first byte.
func TestSendImplicitTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Implicit: true})
	if err := sender(t, srv, "smtps://127.0.0.1:PORT").Send(context.Background(), message); err != nil {
		t.Fatal(err)
	}
	if m, ok := srv.Wait(time.Second, nil); !ok || !m.TLS {
		t.Fatalf("message %+v", m)
	}
}

// TestTLSPolicies: opportunistic STARTTLS sends in clear text to a server that offers none,
// ?tls=required refuses to; a certificate we do not trust is never sent to.
func TestTLSPolicies(t *testing.T) {
	plain := smtptest.Start(t, smtptest.Options{NoSTARTTLS: true})
	if err := sender(t, plain, "smtp://127.0.0.1:PORT").Send(context.Background(), message); err != nil {
		t.Fatalf("opportunistic to a plain server: %v", err)
	}
	if err := sender(t, plain, "smtp://127.0.0.1:PORT?tls=required").Send(context.Background(), message); err == nil || errors.Is(err, auth.ErrMailRejected) {
		t.Fatalf("tls=required to a plain server: %v (want a temporary failure)", err)
	}
	if n := len(plain.Messages()); n != 1 {
		t.Fatalf("the plain server got %d messages, want 1", n)
	}
	tlsSrv := smtptest.Start(t, smtptest.Options{})
	cfg, _ := smtp.ParseURL("smtp://127.0.0.1:" + tlsSrv.Port())
	untrusting := smtp.New(cfg, &netmail.Address{Address: "a@example.com"}, smtp.Options{Timeout: 3 * time.Second})
	if err := untrusting.Send(context.Background(), message); err == nil {
		t.Fatal("sent over STARTTLS to a server whose certificate is not trusted")
	}
	if len(tlsSrv.Messages()) != 0 {
		t.Fatal("the untrusted server got the message")
	}
}

// TestRejectedAndUnreachable: a 550 for the recipient is permanent; a server that is down is
// temporary; a wrong password is temporary (an operator can fix it).
func TestRejectedAndUnreachable(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{RejectRcpt: "jürgen@example.com", User: "u", Pass: "p"})
	err := sender(t, srv, "smtp://u:p@127.0.0.1:PORT").Send(context.Background(), message)
	if !errors.Is(err, auth.ErrMailRejected) {
		t.Fatalf("550 recipient: %v, want ErrMailRejected", err)
	}
	err = sender(t, srv, "smtp://u:wrong@127.0.0.1:PORT").Send(context.Background(), mail.Message{To: "a@example.com", Subject: "s", Text: "t"})
	if err == nil || errors.Is(err, auth.ErrMailRejected) {
		t.Fatalf("wrong password: %v, want a temporary failure", err)
	}
	s := sender(t, srv, "smtp://u:p@127.0.0.1:PORT")
	srv.Stop()
	if err := s.Send(context.Background(), message); err == nil || errors.Is(err, auth.ErrMailRejected) {
		t.Fatalf("server down: %v, want a temporary failure", err)
	}
}

// TestStalledServerTimesOut: a server that accepts and never greets costs at most the timeout.
func TestStalledServerTimesOut(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := sender(t, srv, "smtp://127.0.0.1:PORT")
	srv.Stall()
	start := time.Now()
	err := s.Send(context.Background(), message)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("stalled server: %v after %v", err, time.Since(start))
	}
}
