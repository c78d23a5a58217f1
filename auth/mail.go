package auth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The mail flows: verifying the address, resetting a forgotten password, changing the address.
//
// A request only queues a mail (EnqueueMail, one insert); the outbox sender (outbox.go)
// prepares it (issues the token and writes its link into the mail, in one transaction) and
// delivers it through the Mailer. So no request waits for SMTP, and a reset request for an
// unknown address does exactly what one for a known address does: the sender finds out later
// that there is nobody to write to, and drops the mail.

// Verification is the EMAIL_VERIFICATION mode.
type Verification string

// The EMAIL_VERIFICATION modes.
const (
	VerificationOff      Verification = "off"      // no verification mail at register
	VerificationOptional Verification = "optional" // a mail at register; User.EmailVerified tells
	VerificationRequired Verification = "required" // unverified accounts may only use AllowUnverified fields
)

// Mailer delivers one prepared outbox mail: renders it and hands it to SMTP, or keeps it in the
// development mailbox (package mail). An error wrapping ErrMailRejected is permanent (the server
// refused the message or the recipient); any other is retried with backoff.
type Mailer interface {
	Deliver(ctx context.Context, m OutboxMail) error
}

var (
	// ErrMailRejected marks a delivery failure that retrying cannot fix.
	ErrMailRejected = errors.New("mail rejected")
	// ErrMailNotConfigured: this deployment cannot send mail (production without SMTP_URL).
	ErrMailNotConfigured = errors.New("this server is not configured to send mail")
)

// Reasons of an InputError about a mail token.
const (
	ReasonTokenInvalid = "INVALID" // unknown, malformed, used, voided by a newer one or by a password change
	ReasonTokenExpired = "EXPIRED"
)

// MailConfig is the mail policy (Config.Mail). Zero values take the documented defaults.
type MailConfig struct {
	// Mailer delivers mail; nil: this deployment sends none (request operations answer
	// ErrMailNotConfigured, register and notices send nothing), unless QueueOnly.
	Mailer Mailer
	// QueueOnly (the command line): mails are queued in the outbox for a server sharing the
	// database to deliver; this process runs no sender.
	QueueOnly    bool
	Verification Verification // optional
	// LinkBase is where the links in mails point: LinkBase+"/verify-email#token=…", ….
	LinkBase string
	// PerAddress limits the mails of one kind to one address (3 per hour); PerIP the mails one
	// client address asks for (30 per hour). Both count known and unknown addresses alike.
	PerAddress Limit
	PerIP      Limit

	// The outbox sender: it claims up to Batch due mails for Lease (longer than a delivery
	// can take: a crashed instance's claim runs out after it), polls every Poll when nothing
	// wakes it, retries a failed delivery after RetryMin, doubling up to RetryMax, and gives
	// up on a mail GiveUp after it was queued.
	Batch int // 20
	// WakeDelay is how long a woken sender waits (WakeDelay to 2 × WakeDelay, at random)
	// before its pass: the work a known address causes (a token, an SMTP handshake) then never
	// overlaps the answer to its request, nor, reliably, any one later request; 100ms.
	WakeDelay time.Duration
	Lease     time.Duration // 2m
	Poll      time.Duration // 2s
	RetryMin  time.Duration // 2s
	RetryMax  time.Duration // 30m
	GiveUp    time.Duration // 24h
	// SendTimeout bounds one delivery (the SMTP conversation); 30s.
	SendTimeout time.Duration
	// OnMail, when set, observes each mail that was finished (sent, failed or dropped) or is
	// to be retried (MailQueued).
	OnMail func(MailStatus)
}

func (c *MailConfig) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Verification == "" {
		c.Verification = VerificationOptional
	}
	if c.PerAddress.N == 0 && c.PerAddress.Window == 0 {
		c.PerAddress = Limit{N: 3, Window: time.Hour}
	}
	if c.PerIP.N == 0 && c.PerIP.Window == 0 {
		c.PerIP = Limit{N: 30, Window: time.Hour}
	}
	if c.Batch <= 0 {
		c.Batch = 20
	}
	def(&c.SendTimeout, 30*time.Second)
	def(&c.Lease, 2*c.SendTimeout+5*time.Second)
	def(&c.Poll, 2*time.Second)
	def(&c.WakeDelay, 100*time.Millisecond)
	def(&c.RetryMin, 2*time.Second)
	def(&c.RetryMax, 30*time.Minute)
	def(&c.GiveUp, 24*time.Hour)
}

// Lifetimes of mail tokens.
const (
	VerifyEmailTTL   = 24 * time.Hour
	ResetPasswordTTL = 30 * time.Minute
	ChangeEmailTTL   = time.Hour
)

func (k MailKind) ttl() time.Duration {
	switch k {
	case MailResetPassword:
		return ResetPasswordTTL
	case MailChangeEmail:
		return ChangeEmailTTL
	}
	return VerifyEmailTTL
}

// The templates of token-carrying mails and the page each link opens.
var mailKinds = map[MailKind]struct{ template, page string }{
	MailVerifyEmail:   {"verify-email", "/verify-email"},
	MailResetPassword: {"reset-password", "/reset-password"},
	MailChangeEmail:   {"confirm-email-change", "/confirm-email-change"},
}

// Mail tokens are 32 random bytes (256 bits), base64url: 43 characters that travel in the
// link's fragment, which browsers never send to a server. Only their SHA-256 is stored.
func newMailToken() (token string, hash []byte) {
	token = randomID(32)
	return token, hashOpaque(token)
}

func parseMailToken(token string) ([]byte, bool) {
	return parseOpaque(token, "")
}

func tokenError(reason string) error {
	msg := "the link is invalid or was already used; ask for a new one"
	if reason == ReasonTokenExpired {
		msg = "the link has expired; ask for a new one"
	}
	return &InputError{Field: "token", Reason: reason, Message: msg}
}

// MailEnabled reports whether this deployment can send mail.
func (s *Service) MailEnabled() bool { return s.cfg.Mail.Mailer != nil || s.cfg.Mail.QueueOnly }

// mailData is what every mail's template may show of the request that caused it.
func (s *Service) mailData(ctx context.Context) map[string]string {
	c := ClientFrom(ctx)
	return map[string]string{
		"ip": c.IP, "userAgent": truncate(c.UserAgent, 256), "time": s.cfg.Now().UTC().Format(time.RFC3339),
	}
}

// reserveMail takes the two mail limits: the client address's first, then the address's for
// kind. Both are counted whatever happens next, so known and unknown addresses count alike.
func (s *Service) reserveMail(ctx context.Context, kind, address string) error {
	perIP, err := s.reserveOrReport(ctx, s.cfg.Mail.PerIP, ipKey(ctx, "mail"), "", "mail")
	if err != nil {
		return err
	}
	perIP.Done(true)
	perAddr, err := s.reserveOrReport(ctx, s.cfg.Mail.PerAddress, "mail:"+kind+":"+address, "", "mail")
	if err != nil {
		return err
	}
	perAddr.Done(true)
	return nil
}

// enqueue stores a mail in the outbox and wakes this instance's sender.
func (s *Service) enqueue(ctx context.Context, m OutboxMail) error {
	now := s.cfg.Now().UTC()
	m.ID, m.CreatedAt, m.NextAttempt, m.Status = newID(now), now, now, MailQueued
	if err := s.store.EnqueueMail(ctx, m); err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	s.outbox.wake()
	return nil
}
