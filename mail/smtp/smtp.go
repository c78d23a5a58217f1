// Package smtp sends the service's mail over SMTP (SMTP_URL), with github.com/wneessen/go-mail
// writing the MIME (multipart text and HTML, Message-ID, Date, encoded non-ASCII names and
// subjects) and speaking the protocol (STARTTLS or implicit TLS, AUTH PLAIN/LOGIN, timeouts).
package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/mail"
)

// Options tune a Sender.
type Options struct {
	// Timeout bounds connecting and each command (30s).
	Timeout time.Duration
	// RootCAs verify the server's certificate; nil: the system's (SMTP_CA_FILE adds some).
	RootCAs *x509.CertPool
	// HELO is the name this client greets with; "localhost" when empty.
	HELO string
}

// Sender is a mail.Transport over SMTP. Each Send uses a connection of its own: the outbox
// sends a few mails at a time, and a fresh connection never carries a broken state on.
type Sender struct {
	cfg    Config
	from   *netmail.Address
	domain string // of From, for Message-IDs
	opts   Options
}

var _ mail.Transport = (*Sender)(nil)

// New returns a sender to the server of cfg with From from.
func New(cfg Config, from *netmail.Address, opts Options) *Sender {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.HELO == "" {
		opts.HELO = "localhost"
	}
	domain := "localhost"
	if i := strings.LastIndexByte(from.Address, '@'); i >= 0 && i < len(from.Address)-1 {
		domain = from.Address[i+1:]
	}
	return &Sender{cfg: cfg, from: from, domain: domain, opts: opts}
}

func (s *Sender) client() (*gomail.Client, error) {
	tlsConf := &tls.Config{ServerName: s.cfg.Host, RootCAs: s.opts.RootCAs, MinVersion: tls.VersionTLS12}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.opts.Timeout), gomail.WithTLSConfig(tlsConf),
		gomail.WithHELO(s.opts.HELO),
	}
	switch s.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSRequired:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.cfg.Username != "" {
		mech := gomail.SMTPAuthPlain
		if s.cfg.Auth == AuthLogin {
			mech = gomail.SMTPAuthLogin
		}
		opts = append(opts, gomail.WithSMTPAuth(mech), gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	return gomail.NewClient(s.cfg.Host, opts...)
}

// Message builds the MIME message of m (exported for tests that look at its bytes).
func (s *Sender) Message(m mail.Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.FromFormat(s.from.Name, s.from.Address); err != nil {
		return nil, fmt.Errorf("%w: from: %v", auth.ErrMailRejected, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("%w: to: %v", auth.ErrMailRejected, err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.ID + "@" + s.domain)
	if m.Date.IsZero() {
		msg.SetDate()
	} else {
		msg.SetDateWithValue(m.Date)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// Send delivers m. A refusal of the recipient or of the message (a 5xx reply to RCPT TO or
// after DATA) wraps auth.ErrMailRejected; every other failure (the server down, a 4xx, an
// authentication or TLS problem an operator can fix) is temporary.
func (s *Sender) Send(ctx context.Context, m mail.Message) error {
	msg, err := s.Message(m)
	if err != nil {
		return err
	}
	c, err := s.client()
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && !se.IsTemp() && (se.Reason == gomail.ErrSMTPRcptTo || se.Reason == gomail.ErrSMTPDataClose) {
			return fmt.Errorf("%w: smtp: %v", auth.ErrMailRejected, err)
		}
		return fmt.Errorf("smtp %s: %w", s.cfg, err)
	}
	return nil
}
