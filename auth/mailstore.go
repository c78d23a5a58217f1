package auth

import (
	"context"
	"errors"
	"time"
)

// MailKind names a mail token's purpose; a token is only accepted for its own kind.
type MailKind string

// The kinds of mail.
const (
	MailVerifyEmail   MailKind = "verify_email"   // proves the account's address
	MailResetPassword MailKind = "reset_password" // sets a new password without the old one
	MailChangeEmail   MailKind = "change_email"   // proves a new address before switching to it
)

// MailToken is a stored mail token: only its hash is kept.
type MailToken struct {
	Hash      []byte
	UserID    string
	Kind      MailKind
	Email     string // the address the link went to (for MailChangeEmail: the new address)
	Stamp     int64  // the user's security stamp when it was issued
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero while unused
}

// MailTokenUse is the redemption of a token inside a store transaction (ChangeUserSecurity,
// RedeemMailToken). The store consumes the token only if it is of Kind and of the user being
// changed, unused and unexpired at now, and, when CheckStamp is set, issued at the user's
// current security stamp (a reset token dies with any password change). Otherwise it returns
// ErrMailTokenInvalid and applies nothing.
type MailTokenUse struct {
	Hash       []byte
	Kind       MailKind
	CheckStamp bool
}

// MailStatus is where an outbox mail stands.
type MailStatus string

// The states of a mail in the outbox.
const (
	MailQueued  MailStatus = "queued"
	MailSent    MailStatus = "sent"
	MailFailed  MailStatus = "failed"  // given up: rejected, or failing for longer than MailGiveUp
	MailDropped MailStatus = "dropped" // nothing to send after all (an unknown address, already verified)
)

// OutboxMail is one mail of the transactional outbox. Data holds what the template needs (the
// link, the client's address and user agent, ...); the store clears it once the mail is
// finished, so a link never outlives its delivery in the database.
type OutboxMail struct {
	ID       string
	Template string // verify-email, reset-password, notice-password-changed, ...
	Kind     MailKind
	UserID   string // "" until known (a reset request names an address only)
	To       string
	Data     map[string]string
	// Prepared: the token of a token-carrying mail was issued and its link is in Data.
	Prepared    bool
	CreatedAt   time.Time
	NextAttempt time.Time
	Attempts    int
	LastError   string
	Status      MailStatus
	FinishedAt  time.Time
}

// MailboxEntry is one mail of the development mailbox.
type MailboxEntry struct {
	ID      string
	To      string
	Subject string
	Text    string
	HTML    string
	SentAt  time.Time
}

// MailStore keeps mail tokens, the outbox and the development mailbox. Like the rest of Store,
// its methods are safe across processes sharing one database.
type MailStore interface {
	// EnqueueMail inserts m (Status queued). It never reads the user: a reset request for an
	// unknown address costs what one for a known address does.
	EnqueueMail(ctx context.Context, m OutboxMail) error
	// ClaimMail leases up to limit queued mails whose NextAttempt is due at now and that no
	// other claim holds (or whose lease ran out), oldest first, until now+lease; on PostgreSQL
	// with FOR UPDATE SKIP LOCKED, so that instances sharing the outbox never claim one mail
	// at once.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxMail, error)
	// IssueMailToken, in one transaction, deletes the unused tokens of t.UserID of t.Kind (a
	// newer token voids older ones), inserts t, and records on mail mailID its user and data
	// (the link) and that it is prepared. ErrNotFound when the mail is not queued.
	IssueMailToken(ctx context.Context, mailID string, t MailToken, data map[string]string) error
	// RetryMail releases a claimed mail for another attempt at next, counting the attempt.
	RetryMail(ctx context.Context, id string, next time.Time, lastErr string) error
	// FinishMail ends a mail (sent, failed or dropped) and clears its data.
	FinishMail(ctx context.Context, id string, status MailStatus, lastErr string, now time.Time) error
	// MailTokenByHash returns a token, used or not; ErrNotFound when unknown.
	MailTokenByHash(ctx context.Context, hash []byte) (MailToken, error)
	// RedeemMailToken consumes use (see MailTokenUse) for userID and applies its effect in the
	// same transaction, with a ChangeUser entry: MailVerifyEmail marks the address verified,
	// provided it is still the token's address; MailChangeEmail makes the token's address the
	// account's, verified (ErrEmailTaken when another account has it). ErrMailTokenInvalid
	// when the token cannot be used; nothing is applied then.
	RedeemMailToken(ctx context.Context, userID string, use MailTokenUse, now time.Time) (User, error)
	// MailStats counts the queued mails and returns when the oldest of them was created
	// (zero when none is queued).
	MailStats(ctx context.Context) (queued int64, oldest time.Time, err error)
	// PurgeMail deletes at most batch rows: finished mails finished before before, and tokens
	// used or expired before it; it reports how many.
	PurgeMail(ctx context.Context, before time.Time, batch int) (int64, error)
	// AppendMailbox stores a mail in the development mailbox and keeps only the newest keep.
	AppendMailbox(ctx context.Context, e MailboxEntry, keep int) error
	// ListMailbox returns up to limit mailbox entries, newest first.
	ListMailbox(ctx context.Context, limit int) ([]MailboxEntry, error)
}

// Mail token errors of the store; the service turns them into InputErrors on field "token".
var (
	ErrMailTokenInvalid = errors.New("mail token is invalid or used")
	ErrMailTokenExpired = errors.New("mail token has expired")
)
