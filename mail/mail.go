// Package mail turns the auth service's outbox mails into messages and hands them to a
// Transport: SMTP (package mail/smtp) or, in development, the mailbox kept in the database
// (Mailbox). auth decides what is sent and when; this package decides how it looks.
//
// Templates are Go templates, one file per mail (<template>.tmpl) defining "subject", "text"
// (text/template) and "html" (html/template, placed inside the one layout, layout.html.tmpl).
// They are embedded; a directory (MAIL_TEMPLATES_DIR) may hold files of the same names that
// replace them.
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"
)

// Message is a rendered mail.
type Message struct {
	ID      string // unique per outbox mail: a retried mail keeps its Message-ID
	To      string
	Subject string
	Text    string
	HTML    string
	Date    time.Time
}

// Transport delivers a message. An error wrapping auth.ErrMailRejected is permanent.
type Transport interface {
	Send(ctx context.Context, m Message) error
}

// Mailer is the auth.Mailer of the service: it renders an outbox mail and sends it.
type Mailer struct {
	Renderer  *Renderer
	Transport Transport
	Name      string // the transport's name in the log line ("smtp", "mailbox")
	Logger    *slog.Logger
	Now       func() time.Time
}

var _ auth.Mailer = (*Mailer)(nil)

// Deliver renders m and sends it, logging one line per mail: the recipient and the subject,
// never the body (which holds the link).
func (d *Mailer) Deliver(ctx context.Context, m auth.OutboxMail) error {
	msg, err := d.Renderer.Render(m.Template, m.To, m.Data)
	if err != nil {
		return fmt.Errorf("%w: %v", auth.ErrMailRejected, err) // a template fault does not heal by retrying
	}
	msg.ID = m.ID
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	msg.Date = now().UTC()
	if err := d.Transport.Send(ctx, msg); err != nil {
		return err
	}
	if d.Logger != nil {
		d.Logger.Info("mail sent", "via", d.Name, "to", m.To, "subject", msg.Subject)
	}
	return nil
}

// ParseFrom checks a From address (MAIL_FROM): `Name <address>` or a bare address.
func ParseFrom(s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(a.Name+a.Address, "\r\n") {
		return nil, errors.New("line breaks are not allowed")
	}
	return a, nil
}
