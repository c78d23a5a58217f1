package auth

import (
	"context"
	"time"
)

// Events of the mail flows.
const (
	EventEmailVerificationRequested EventType = "EMAIL_VERIFICATION_REQUESTED"
	EventEmailVerified              EventType = "EMAIL_VERIFIED"
	EventPasswordResetRequested     EventType = "PASSWORD_RESET_REQUESTED"
	EventPasswordReset              EventType = "PASSWORD_RESET"
	EventEmailChangeRequested       EventType = "EMAIL_CHANGE_REQUESTED"
	EventEmailChanged               EventType = "EMAIL_CHANGED"
	EventMailSent                   EventType = "MAIL_SENT"   // Reason: the template
	EventMailFailed                 EventType = "MAIL_FAILED" // Reason: the template
)

// Events of second factors, published by that feature; each produces a notice. (The passkey
// events are the passkey feature's own, in events.go.)
const (
	EventMFAEnabled  EventType = "MFA_ENABLED"
	EventMFADisabled EventType = "MFA_DISABLED"
)

// EndPasswordReset is the end reason of the sessions a password reset ended.
const EndPasswordReset = "password_reset"

// noticeTemplates is the one table of notices: a published event of one of these types mails
// its user the template named (without a link: a notice only tells what happened, when, and
// from which address and browser). A feature that publishes such an event gets its notice
// without doing more.
var noticeTemplates = map[EventType]string{
	EventPasswordChanged:      "notice-password-changed",
	EventPasswordReset:        "notice-password-changed",
	EventEmailChangeRequested: "notice-email-change-requested", // to the current address
	EventEmailChanged:         "notice-email-changed",          // to the old address
	EventRefreshReuse:         "notice-session-ended",
	EventMFAEnabled:           "notice-mfa-enabled",
	EventMFADisabled:          "notice-mfa-disabled",
	EventPasskeyAdded:         "notice-passkey-added",
	EventPasskeyRemoved:       "notice-passkey-removed",
}

// NoticeTemplates returns the notice table (event type → template), for the mail renderer's
// completeness check.
func NoticeTemplates() map[EventType]string {
	out := make(map[EventType]string, len(noticeTemplates))
	for k, v := range noticeTemplates {
		out[k] = v
	}
	return out
}

// MailTemplates names every template the service asks a Mailer to render.
func MailTemplates() []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range mailKinds {
		seen[k.template] = true
		out = append(out, k.template)
	}
	for _, t := range noticeTemplates {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// noticeOf is what a notice may need beyond its event.
type noticeOf struct {
	to       string // the recipient; "" is the user's current address
	newEmail string // an address change's new address
}

// notice queues the notice of e, when the table has one. It runs on the request that caused
// the event; a failure is logged and costs only the notice.
func (s *Service) notice(ctx context.Context, e Event, n noticeOf) {
	recipient := n.to
	tpl, ok := noticeTemplates[e.Type]
	if !ok || e.UserID == "" || !s.MailEnabled() {
		return
	}
	if recipient == "" {
		u, err := s.store.UserByID(ctx, e.UserID)
		if err != nil {
			s.cfg.Logger.Warn("notice not queued", "event", string(e.Type), "user", e.UserID, "err", err)
			return
		}
		recipient = u.Email
	}
	data := s.mailData(ctx)
	data["time"] = e.At.UTC().Format(time.RFC3339)
	if n.newEmail != "" {
		data["newEmail"] = n.newEmail
	}
	if err := s.enqueue(ctx, OutboxMail{Template: tpl, UserID: e.UserID, To: recipient, Data: data}); err != nil {
		s.cfg.Logger.Warn("notice not queued", "event", string(e.Type), "user", e.UserID, "err", err)
	}
}
