package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
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
	Batch    int           // 20
	Lease    time.Duration // 2m
	Poll     time.Duration // 2s
	RetryMin time.Duration // 2s
	RetryMax time.Duration // 30m
	GiveUp   time.Duration // 24h
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
	sum := sha256.Sum256([]byte(token))
	return token, sum[:]
}

func parseMailToken(token string) ([]byte, bool) {
	if len(token) != 43 {
		return nil, false
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(token); err != nil || len(b) != 32 {
		return nil, false
	}
	sum := sha256.Sum256([]byte(token))
	return sum[:], true
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

// Verification is the EMAIL_VERIFICATION mode in force.
func (s *Service) Verification() Verification { return s.cfg.Mail.Verification }

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
	perIP, err := s.reserve(ctx, s.cfg.Mail.PerIP, ipKey(ctx, "mail"))
	if err != nil {
		s.publish(ctx, EventRateLimited, "", "", "mail")
		return err
	}
	perIP.Done(true)
	perAddr, err := s.reserve(ctx, s.cfg.Mail.PerAddress, "mail:"+kind+":"+address)
	if err != nil {
		s.publish(ctx, EventRateLimited, "", "", "mail")
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

// sendVerification queues the verification mail of a new account, when the mode and the
// limits allow; register never fails for it.
func (s *Service) sendVerification(ctx context.Context, u User) {
	if !s.MailEnabled() || s.cfg.Mail.Verification == VerificationOff || u.EmailVerified {
		return
	}
	if err := s.reserveMail(ctx, string(MailVerifyEmail), u.Email); err != nil {
		s.cfg.Logger.Info("verification mail not queued", "user", u.ID, "err", err)
		return
	}
	err := s.enqueue(ctx, OutboxMail{Template: mailKinds[MailVerifyEmail].template, Kind: MailVerifyEmail,
		UserID: u.ID, To: u.Email, Data: s.mailData(ctx)})
	if err != nil {
		s.cfg.Logger.Warn("verification mail not queued", "user", u.ID, "err", err)
		return
	}
	s.publish(ctx, EventEmailVerificationRequested, u.ID, "", "")
}

// RequestEmailVerification mails the caller a verification link; false when the address is
// verified already.
func (s *Service) RequestEmailVerification(ctx context.Context, p Principal) (bool, error) {
	if !s.MailEnabled() {
		return false, ErrMailNotConfigured
	}
	if p.User.EmailVerified {
		return false, nil
	}
	if err := s.reserveMail(ctx, string(MailVerifyEmail), p.User.Email); err != nil {
		return false, err
	}
	err := s.enqueue(ctx, OutboxMail{Template: mailKinds[MailVerifyEmail].template, Kind: MailVerifyEmail,
		UserID: p.User.ID, To: p.User.Email, Data: s.mailData(ctx)})
	if err != nil {
		return false, err
	}
	s.publish(ctx, EventEmailVerificationRequested, p.User.ID, p.SessionID, "")
	return true, nil
}

// RequestPasswordReset queues a reset mail for email. It neither reads nor reveals whether
// the address has an account: the answer, the limits and the database work are the same.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	email, err := NormalizeEmail(email, "email")
	if err != nil {
		return err
	}
	if !s.MailEnabled() {
		return ErrMailNotConfigured
	}
	if err := s.reserveMail(ctx, string(MailResetPassword), email); err != nil {
		return err
	}
	return s.enqueue(ctx, OutboxMail{Template: mailKinds[MailResetPassword].template, Kind: MailResetPassword,
		To: email, Data: s.mailData(ctx)})
}

// RequestEmailChange checks the caller's password and mails a confirmation link to newEmail
// (and, through the notices, a note without a link to the current address).
func (s *Service) RequestEmailChange(ctx context.Context, p Principal, newEmail, currentPassword string) error {
	newEmail, err := NormalizeEmail(newEmail, "newEmail")
	if err != nil {
		return err
	}
	if !s.MailEnabled() {
		return ErrMailNotConfigured
	}
	if newEmail == p.User.Email {
		return &InputError{Field: "newEmail", Message: "this is already your address"}
	}
	if _, err := s.checkPassword(ctx, p.User.Email, currentPassword); err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			return &InputError{Field: "currentPassword", Message: "current password is wrong"}
		}
		return err
	}
	switch _, err := s.store.UserByEmail(ctx, newEmail); {
	case err == nil:
		return &InputError{Field: "newEmail", Message: "email is already registered"}
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("load user: %w", err)
	}
	if err := s.reserveMail(ctx, string(MailChangeEmail), newEmail); err != nil {
		return err
	}
	data := s.mailData(ctx)
	data["newEmail"] = newEmail
	err = s.enqueue(ctx, OutboxMail{Template: mailKinds[MailChangeEmail].template, Kind: MailChangeEmail,
		UserID: p.User.ID, To: newEmail, Data: data})
	if err != nil {
		return err
	}
	s.emit(ctx, EventEmailChangeRequested, p.User.ID, p.SessionID, "", noticeOf{newEmail: newEmail})
	return nil
}

// usableToken reads the token of kind behind raw and tells why it cannot be used, if it cannot.
func (s *Service) usableToken(ctx context.Context, raw string, kind MailKind) (MailToken, error) {
	hash, ok := parseMailToken(raw)
	if !ok {
		return MailToken{}, tokenError(ReasonTokenInvalid)
	}
	t, err := s.store.MailTokenByHash(ctx, hash)
	switch {
	case errors.Is(err, ErrNotFound):
		return MailToken{}, tokenError(ReasonTokenInvalid)
	case err != nil:
		return MailToken{}, fmt.Errorf("load mail token: %w", err)
	case t.Kind != kind || !t.UsedAt.IsZero():
		return MailToken{}, tokenError(ReasonTokenInvalid)
	case !s.cfg.Now().Before(t.ExpiresAt):
		return MailToken{}, tokenError(ReasonTokenExpired)
	}
	return t, nil
}

// VerifyEmail redeems a verification token: the address it was sent to is verified.
func (s *Service) VerifyEmail(ctx context.Context, token string) (User, error) {
	t, err := s.usableToken(ctx, token, MailVerifyEmail)
	if err != nil {
		return User{}, err
	}
	u, err := s.store.RedeemMailToken(ctx, t.UserID, MailTokenUse{Hash: t.Hash, Kind: MailVerifyEmail}, s.cfg.Now().UTC())
	switch {
	case errors.Is(err, ErrMailTokenInvalid), errors.Is(err, ErrNotFound):
		return User{}, tokenError(ReasonTokenInvalid)
	case err != nil:
		return User{}, fmt.Errorf("verify email: %w", err)
	}
	s.view.invalidateUser(u.ID)
	s.publish(ctx, EventEmailVerified, u.ID, "", "")
	return u, nil
}

// ConfirmEmailChange redeems an email-change token: the account's address becomes the one the
// token was sent to, verified, and the old address gets a notice.
func (s *Service) ConfirmEmailChange(ctx context.Context, token string) (User, error) {
	t, err := s.usableToken(ctx, token, MailChangeEmail)
	if err != nil {
		return User{}, err
	}
	old, err := s.store.UserByID(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) {
		return User{}, tokenError(ReasonTokenInvalid)
	}
	if err != nil {
		return User{}, fmt.Errorf("load user: %w", err)
	}
	u, err := s.store.RedeemMailToken(ctx, t.UserID, MailTokenUse{Hash: t.Hash, Kind: MailChangeEmail}, s.cfg.Now().UTC())
	switch {
	case errors.Is(err, ErrEmailTaken):
		return User{}, &InputError{Field: "token", Reason: ReasonTokenInvalid, Message: "the new address now belongs to another account"}
	case errors.Is(err, ErrMailTokenInvalid), errors.Is(err, ErrNotFound):
		return User{}, tokenError(ReasonTokenInvalid)
	case err != nil:
		return User{}, fmt.Errorf("change email: %w", err)
	}
	s.view.invalidateUser(u.ID)
	s.emit(ctx, EventEmailChanged, u.ID, "", "", noticeOf{to: old.Email, newEmail: u.Email})
	return u, nil
}

// ResetPassword redeems a reset token: the new password, the verified address, the end of
// every session and the token's use are one store transaction; then a fresh session starts.
// A sign-in racing it cannot leave a session alive (the security stamp; see newSession).
func (s *Service) ResetPassword(ctx context.Context, token, newPassword string) (Grant, error) {
	t, err := s.usableToken(ctx, token, MailResetPassword)
	if err != nil {
		return Grant{}, err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	switch {
	case errors.Is(err, ErrNotFound):
		return Grant{}, tokenError(ReasonTokenInvalid)
	case err != nil:
		return Grant{}, fmt.Errorf("load user: %w", err)
	case u.SecurityStamp != t.Stamp || u.Disabled: // the password changed (or the account was disabled) since
		return Grant{}, tokenError(ReasonTokenInvalid)
	}
	if err := s.cfg.Passwords.Check(newPassword, u.Email, "newPassword"); err != nil {
		return Grant{}, err
	}
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return Grant{}, err
	}
	u, err = s.changeSecurity(ctx, u.ID, SecurityChange{
		PasswordHash: hash, EndReason: EndPasswordReset, Verify: true,
		Token: &MailTokenUse{Hash: t.Hash, Kind: MailResetPassword, CheckStamp: true},
	})
	switch {
	case errors.Is(err, ErrMailTokenInvalid), errors.Is(err, ErrNotFound):
		return Grant{}, tokenError(ReasonTokenInvalid)
	case err != nil:
		return Grant{}, fmt.Errorf("reset password: %w", err)
	}
	s.publish(ctx, EventPasswordReset, u.ID, "", "")
	return s.newSession(ctx, u, PasswordSignIn())
}

// prepare makes a queued mail ready to deliver: it finds its recipient and, for a mail that
// carries a link, issues the token and writes the link into the mail in one transaction.
// send is false when there is nobody to write to after all (the mail is dropped).
func (s *Service) prepare(ctx context.Context, m OutboxMail) (_ OutboxMail, send bool, _ error) {
	k, carriesToken := mailKinds[m.Kind]
	if !carriesToken || m.Prepared {
		return m, true, nil
	}
	var (
		u   User
		err error
	)
	if m.UserID != "" {
		u, err = s.store.UserByID(ctx, m.UserID)
	} else {
		u, err = s.store.UserByEmail(ctx, m.To)
	}
	// The reset request is recorded now that its account is known (or known not to exist),
	// with the address and user agent of the request (ctx carries them: handleMail).
	switch {
	case errors.Is(err, ErrNotFound):
		if m.Kind == MailResetPassword {
			s.publish(ctx, EventPasswordResetRequested, "", "", "unknown address")
		}
		return m, false, nil
	case err != nil:
		return m, false, fmt.Errorf("load user: %w", err)
	}
	if m.Kind == MailResetPassword {
		s.publish(ctx, EventPasswordResetRequested, u.ID, "", "")
	}
	if u.Disabled || (m.Kind == MailVerifyEmail && (u.EmailVerified || u.Email != m.To)) {
		return m, false, nil
	}
	now := s.cfg.Now().UTC()
	token, hash := newMailToken()
	data := maps.Clone(m.Data)
	if data == nil {
		data = map[string]string{}
	}
	data["link"] = s.cfg.Mail.LinkBase + k.page + "#token=" + token
	t := MailToken{Hash: hash, UserID: u.ID, Kind: m.Kind, Email: m.To, Stamp: u.SecurityStamp,
		CreatedAt: now, ExpiresAt: now.Add(m.Kind.ttl())}
	if err := s.store.IssueMailToken(ctx, m.ID, t, data); err != nil {
		return m, false, fmt.Errorf("issue mail token: %w", err)
	}
	m.UserID, m.Data, m.Prepared = u.ID, data, true
	return m, true, nil
}

// Mailbox lists the development mailbox, newest first.
func (s *Service) Mailbox(ctx context.Context, limit int) ([]MailboxEntry, error) {
	return s.store.ListMailbox(ctx, limit)
}
