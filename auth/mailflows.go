package auth

import (
	"context"
	"errors"
	"fmt"
	"maps"
)

// The operations of the mail flows (mail.go has their policy and tokens): each request only
// queues a mail; prepare, run by the outbox sender, issues its token.

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
	if !carriesToken {
		return m, true, nil
	}
	if m.Prepared { // a retry: its link was sealed when it was prepared
		m, err := s.openLink(m)
		return m, err == nil, err
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
	if err := s.store.IssueMailToken(ctx, m.ID, t, s.sealedLink(m.ID, data)); err != nil {
		return m, false, fmt.Errorf("issue mail token: %w", err)
	}
	m.UserID, m.Data, m.Prepared = u.ID, data, true
	return m, true, nil
}
