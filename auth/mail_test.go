package auth_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/example/gqlauth/auth"
)

// recordingMailer keeps what the outbox delivers; fail, when set, answers instead.
type recordingMailer struct {
	mu   sync.Mutex
	got  []auth.OutboxMail
	fail error
}

func (m *recordingMailer) Deliver(_ context.Context, om auth.OutboxMail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.got = append(m.got, om)
	return nil
}

func (m *recordingMailer) setFail(err error) { m.mu.Lock(); m.fail = err; m.mu.Unlock() }

func (m *recordingMailer) last(t *testing.T, template string) auth.OutboxMail {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.got) - 1; i >= 0; i-- {
		if m.got[i].Template == template {
			return m.got[i]
		}
	}
	t.Fatalf("no %s mail delivered", template)
	return auth.OutboxMail{}
}

var linkToken = regexp.MustCompile(`#token=([A-Za-z0-9_-]{43})$`)

func tokenIn(t *testing.T, m auth.OutboxMail) string {
	t.Helper()
	sub := linkToken.FindStringSubmatch(m.Data["link"])
	if sub == nil {
		t.Fatalf("no token in %q", m.Data["link"])
	}
	return sub[1]
}

func mailFixture(t *testing.T) (*svcFixture, *recordingMailer) {
	t.Helper()
	rec := &recordingMailer{}
	f := newSvc(t, "", nil, nil, func(c *auth.Config) {
		c.Mail = auth.MailConfig{Mailer: rec, LinkBase: "https://app.example", RetryMin: time.Minute, RetryMax: 8 * time.Minute, GiveUp: time.Hour}
	})
	return f, rec
}

// send runs the sender once and fails the test unless it handled want mails.
func send(t *testing.T, f *svcFixture, want int) {
	t.Helper()
	n, err := f.svc.SendMail(context.Background())
	if err != nil || n != want {
		t.Fatalf("SendMail: %d mails, %v; want %d", n, err, want)
	}
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	var in *auth.InputError
	if !errors.As(err, &in) || in.Field != "token" || in.Reason != reason {
		t.Fatalf("got %v, want an InputError on token with reason %s", err, reason)
	}
}

// TestMailTokenLifetimes: a token works until its lifetime is over (24 h, 30 min, 1 h) and
// answers EXPIRED after; the link points at LinkBase's page for its kind.
func TestMailTokenLifetimes(t *testing.T) {
	for _, tc := range []struct {
		kind string
		ttl  time.Duration
	}{{"verify-email", auth.VerifyEmailTTL}, {"reset-password", auth.ResetPasswordTTL}, {"confirm-email-change", auth.ChangeEmailTTL}} {
		t.Run(tc.kind, func(t *testing.T) {
			f, rec := mailFixture(t)
			ctx := clientCtx()
			g, err := f.svc.Register(ctx, "life@example.com", testPassword)
			if err != nil {
				t.Fatal(err)
			}
			p := f.principal(t, g)
			redeem := func(tok string) error {
				switch tc.kind {
				case "verify-email":
					_, err := f.svc.VerifyEmail(ctx, tok)
					return err
				case "reset-password":
					_, err := f.svc.ResetPassword(ctx, tok, "fresh passphrase 123")
					return err
				}
				_, err := f.svc.ConfirmEmailChange(ctx, tok)
				return err
			}
			ask := func() {
				switch tc.kind {
				case "reset-password":
					err = f.svc.RequestPasswordReset(ctx, "life@example.com")
				case "confirm-email-change":
					err = f.svc.RequestEmailChange(ctx, p, "life2@example.com", testPassword)
				default:
					_, err = f.svc.RequestEmailVerification(ctx, p)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			ask()
			if _, err := f.svc.SendMail(context.Background()); err != nil {
				t.Fatal(err)
			}
			m := rec.last(t, tc.kind)
			if want := "https://app.example/" + tc.kind + "#token="; m.Data["link"][:len(want)] != want {
				t.Fatalf("link %q", m.Data["link"])
			}
			expiring := tokenIn(t, m)
			f.clock.Add(tc.ttl)
			wantReason(t, redeem(expiring), auth.ReasonTokenExpired)

			ask()
			if _, err := f.svc.SendMail(context.Background()); err != nil {
				t.Fatal(err)
			}
			fresh := tokenIn(t, rec.last(t, tc.kind))
			f.clock.Add(tc.ttl - time.Second)
			if err := redeem(fresh); err != nil {
				t.Fatalf("a second before its end: %v", err)
			}
			wantReason(t, redeem(fresh), auth.ReasonTokenInvalid)
		})
	}
}

// failedReset registers email, delivers its verification mail, and requests a password reset
// whose first delivery fails (421): the mail waits in the outbox for its retry, a minute later.
func failedReset(t *testing.T, email string) (*svcFixture, *recordingMailer) {
	t.Helper()
	f, rec := mailFixture(t)
	if _, err := f.svc.Register(clientCtx(), email, testPassword); err != nil {
		t.Fatal(err)
	}
	send(t, f, 1) // the verification mail
	rec.setFail(errors.New("421 try again later"))
	if err := f.svc.RequestPasswordReset(clientCtx(), email); err != nil {
		t.Fatal(err)
	}
	send(t, f, 1) // prepared (token issued, link written), delivery failed: queued for 1m
	return f, rec
}

// TestOutboxRetries: a failed delivery is retried after RetryMin, doubling up to RetryMax; a
// rejected one fails at once; one still failing GiveUp after it was queued is given up.
func TestOutboxRetries(t *testing.T) {
	f, rec := failedReset(t, "retry@example.com") // next attempt in 1m
	ctx := clientCtx()
	for _, wait := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 8 * time.Minute} {
		f.clock.Add(wait - time.Second)
		send(t, f, 0)
		f.clock.Add(time.Second)
		send(t, f, 1)
	}
	// 23 minutes since it was queued; the next attempt after 8 more minutes, and so on until
	// an hour has passed: then it is given up.
	for range 5 {
		f.clock.Add(8 * time.Minute)
		send(t, f, 1)
	}
	f.clock.Add(8 * time.Minute)
	send(t, f, 0) // given up at the attempt after the hour
	if _, err := f.svc.SendMail(context.Background()); err != nil {
		t.Fatal(err)
	}

	rec.setFail(errors.Join(auth.ErrMailRejected, errors.New("550 no such user")))
	if err := f.svc.RequestPasswordReset(ctx, "retry@example.com"); err != nil {
		t.Fatal(err)
	}
	send(t, f, 1)
	f.clock.Add(time.Hour)
	send(t, f, 0) // rejected: not retried

	rec.setFail(nil)
	if err := f.svc.RequestPasswordReset(ctx, "nobody@example.com"); err != nil {
		t.Fatal(err)
	}
	send(t, f, 1)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, m := range rec.got {
		if m.To == "nobody@example.com" {
			t.Fatal("a reset mail was delivered to an address without an account")
		}
	}
}

// TestOutboxKeepsLinksSealed: a reset mail that waits in the outbox (its delivery failed) holds
// no usable link in the database, only a sealed one; the retry opens it, and the delivered link
// works.
func TestOutboxKeepsLinksSealed(t *testing.T) {
	f, rec := failedReset(t, "sealed@example.com")
	ctx := clientCtx()

	// What the database holds, read as the store gives it out.
	f.clock.Add(time.Minute)
	claimed, err := f.store.ClaimMail(context.Background(), f.clock.Now().UTC(), time.Second, 10)
	if err != nil || len(claimed) != 1 || !claimed[0].Prepared {
		t.Fatalf("ClaimMail: %+v, %v; want the prepared reset mail", claimed, err)
	}
	for k, v := range claimed[0].Data {
		if strings.Contains(v, "token=") {
			t.Fatalf("the stored mail holds a link in the clear: %s = %q", k, v)
		}
	}
	if claimed[0].Data["sealedLink"] == "" {
		t.Fatalf("no sealed link in the stored mail: %v", claimed[0].Data)
	}

	f.clock.Add(2 * time.Second) // that claim's lease ran out
	rec.setFail(nil)
	send(t, f, 1)
	token := tokenIn(t, rec.last(t, "reset-password"))
	if _, err := f.svc.ResetPassword(ctx, token, "another correct horse battery"); err != nil {
		t.Fatalf("the delivered link's token: %v", err)
	}
}
