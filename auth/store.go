package auth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Store is what the auth service needs from persistent storage. It is declared here, where it is
// used; each adapter under store/ proves it fits with a `var _ auth.Store = ...` line and runs
// the shared conformance suite in store/storetest.
//
// Implementations translate their driver's errors into this package's errors (ErrNotFound,
// ErrEmailTaken, *AlreadyRotatedError, ErrSessionEnded, ErrUserChanged) and never return a
// driver error for an expected outcome. Every method must be safe for concurrent use, also
// across processes sharing one database.
type Store interface {
	UserStore
	SessionStore
	ChangeLog
	AuditLog     // audit.go
	MailStore    // mailstore.go
	ClientStore  // clients.go
	APIKeyStore  // apikeys.go
	TokenStore   // introspect.go
	MFAStore     // mfastore.go
	PasskeyStore // passkey.go

	// Ping reports whether the database answers (readiness).
	Ping(ctx context.Context) error
	Close() error
}

// UserStore keeps accounts. Emails arrive normalised (see NormalizeEmail); uniqueness is on that
// form, so it is case-insensitive.
type UserStore interface {
	// CreateUser inserts u; ErrEmailTaken when the email is in use.
	CreateUser(ctx context.Context, u User) error
	// UserByID and UserByEmail return ErrNotFound when there is no such user.
	UserByID(ctx context.Context, id string) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
	// ListUsers returns up to limit users with ID > afterID, in ascending ID order (IDs are
	// time-ordered, so this is oldest first). An empty afterID starts at the beginning.
	ListUsers(ctx context.Context, afterID string, limit int) ([]User, error)
	// SetUserRoles changes one user and, in the same transaction, appends a ChangeUser entry to
	// the change log. It ends no session and leaves the security stamp as it is. ErrNotFound for
	// an unknown id.
	SetUserRoles(ctx context.Context, id string, roles []Role, now time.Time) (User, error)
	// ChangeUserSecurity applies c to the user in one transaction: it sets what c sets, bumps
	// the security stamp, ends the sessions c ends, replaces c.Keep's refresh token, and
	// appends a ChangeUser entry and one ChangeSessionEnded entry per ended session. It returns
	// the updated user and the ended sessions' ids, sorted. ErrNotFound for an unknown id;
	// ErrSessionEnded when c.Keep is not a live session of the user. On an error nothing of it
	// is applied.
	ChangeUserSecurity(ctx context.Context, id string, c SecurityChange, now time.Time) (User, []string, error)
	// UpgradePasswordHash replaces the hash of an unchanged password (re-hashed at another
	// cost) and appends a ChangeUser entry, without bumping the stamp: no session need end.
	// It applies only while the user's stamp is still stamp, so that it can never undo a
	// password change that happened meanwhile; ErrUserChanged otherwise.
	UpgradePasswordHash(ctx context.Context, id string, stamp int64, hash string, now time.Time) error
}

// SecurityChange is a change of an account that must end sessions or void a sign-in in flight
// (UserStore.ChangeUserSecurity). Zero fields change nothing; the security stamp is bumped
// whatever the fields say.
type SecurityChange struct {
	PasswordHash string // the new bcrypt hash; "" keeps the password
	Disabled     *bool  // the new status; nil keeps it
	// EndReason, when not empty, ends every live session of the user except Keep, recording
	// this reason (EndPasswordChange, EndUserDisabled, ...).
	EndReason string
	// Keep, when not empty, is the caller's own session: it survives the change, its refresh
	// tokens retired and KeepRefresh made its current one, so that a token copied before the
	// change is worth nothing after it.
	Keep        string
	KeepRefresh RefreshHash
	// Token, when set, is a mail token the change redeems (a password reset): it is consumed
	// in the same transaction, and when it cannot be (ErrMailTokenInvalid) nothing is applied.
	Token *MailTokenUse
	// Verify marks the address verified (a reset proves the mailbox, as a verification does).
	Verify bool
	// RemoveMFA removes the user's second factors (TOTP, recovery codes) and pending two-step
	// sign-ins, as DisableTOTP does, in the same transaction (an administrator's reset).
	RemoveMFA bool
}

// SessionStore keeps login sessions and their refresh tokens. A refresh token is stored only as
// its hash; each session has at most one current (unrotated) token.
//
// A token that names its session (RefreshHash.SessionID set: the service vouches, by a tag it
// verified, that the token was issued for that session) need not be remembered once it is
// retired. Every token of a session but its current one has been retired, so a named token
// that is not its session's current one is known to be a retired one without a row of its
// own. A token without a name (one minted before the names, or whose tag no key verifies) is
// recognised by its hash alone: its store remembers it, current or retired, as long as its
// session is kept.
type SessionStore interface {
	// CreateSession inserts s together with its first refresh token, in one transaction
	// with a check that the user is still as it was read: enabled and with the security stamp
	// stamp. ErrUserChanged otherwise (also for an unknown user), and nothing is inserted. A
	// ChangeUserSecurity running at the same time either ends the new session or makes this
	// call fail; never neither.
	CreateSession(ctx context.Context, s Session, refresh RefreshHash, stamp int64) error

	// RotateRefreshToken atomically retires the refresh token old (found by its hash) and
	// makes next the session's current token, setting the session's LastUsedAt to now. It must
	// be a single conditional update (or row lock), never read-then-write: of two concurrent
	// calls with the same old, at most one succeeds, also across processes. Results:
	//   - the updated session, nil: rotated;
	//   - ErrNotFound: no token has that hash, and old names no session that is kept;
	//   - *AlreadyRotatedError: the token was rotated before (reuse or a retried request). For
	//     a named token the store did not keep, RotatedAt is when the session's current token
	//     was made (the latest retirement: a named token retired earlier counts as retired then);
	//   - ErrSessionEnded: the session was ended or is past its ExpiresAt.
	// next.SessionID, when set, is the id of old's session.
	RotateRefreshToken(ctx context.Context, old, next RefreshHash, now time.Time) (Session, error)

	// SessionByRefreshHash returns the session a refresh token (current, or rotated and
	// remembered) belongs to, ended or not; ErrNotFound when no token has that hash.
	SessionByRefreshHash(ctx context.Context, hash []byte) (Session, error)
	// SessionByID returns a session, ended or not; ErrNotFound when unknown.
	SessionByID(ctx context.Context, id string) (Session, error)
	// ListLiveSessions returns the user's sessions that are not ended and not expired at now,
	// newest first.
	ListLiveSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)

	// EndSession ends one session if it is live, appending a ChangeSessionEnded entry in the
	// same transaction. It reports whether this call ended it (false: unknown or already ended).
	EndSession(ctx context.Context, id string, reason string, now time.Time) (bool, error)
	// EndUserSessions ends every live session of the user except exceptID (which may be empty),
	// appending one ChangeSessionEnded entry per session, and returns the ended ids.
	EndUserSessions(ctx context.Context, userID, exceptID, reason string, now time.Time) ([]string, error)

	// CountLiveSessions counts the sessions of every user that are not ended and not expired at
	// now (a gauge; it must stay cheap).
	CountLiveSessions(ctx context.Context, now time.Time) (int64, error)
	// PurgeSessions deletes at most batch rows of sessions that ended before before, or were
	// never ended and expired before it, together with their refresh tokens (current and
	// rotated; tokens count as rows), and reports how many rows it deleted; the caller repeats until it returns less than batch. Live sessions keep
	// every rotated token, so that a reused one is still recognised as reuse. Deleting is
	// idempotent: concurrent purges of several processes do not fail.
	PurgeSessions(ctx context.Context, before time.Time, batch int) (int64, error)
}

// ChangeLog is the ordered record of changes that other processes must hear about: ended
// sessions and changed users. Every instance applies it to its in-memory view by polling
// ChangesAfter; a push channel (Redis, LISTEN/NOTIFY) only makes the poll happen sooner.
type ChangeLog interface {
	// ChangesAfter returns entries with Seq > afterSeq and At >= notBefore, in Seq order, at
	// most limit of them.
	ChangesAfter(ctx context.Context, afterSeq int64, notBefore time.Time, limit int) ([]Change, error)
	// LatestChangeSeq returns the highest Seq of a committed entry (0 for an empty log; after
	// PurgeChanges emptied it, 0 or the last Seq handed out). It never names an entry a
	// concurrent ChangesAfter could still miss. The revocation feed's cursors are checked
	// against it.
	LatestChangeSeq(ctx context.Context) (int64, error)
	// PurgeChanges deletes at most batch entries older than before (housekeeping), oldest
	// first, and reports how many; the caller repeats until it returns less than batch.
	PurgeChanges(ctx context.Context, before time.Time, batch int) (int64, error)
}

// ChangeKind says what a change log entry is about.
type ChangeKind string

const (
	// ChangeSessionEnded means SessionID (of UserID) was ended; its access tokens must be refused.
	ChangeSessionEnded ChangeKind = "session_ended"
	// ChangeUser means UserID's roles, status or password changed; cached copies are stale.
	ChangeUser ChangeKind = "user_changed"
	// ChangeClientRevoked: the OAuth client UserID was revoked (UserID holds the client id,
	// which is its tokens' sub); its access tokens must be refused.
	ChangeClientRevoked ChangeKind = "client_revoked"
	// ChangeAPIKeyRevoked: the API key SessionID of user UserID was revoked (SessionID holds
	// the key's id); cached copies of the key are stale.
	ChangeAPIKeyRevoked ChangeKind = "api_key_revoked"
)

// Change is one change log entry.
type Change struct {
	Seq       int64
	Kind      ChangeKind
	UserID    string
	SessionID string
	At        time.Time
}

// Store errors. Adapters return these (possibly wrapped) for expected outcomes.
var (
	ErrNotFound     = errors.New("not found")
	ErrEmailTaken   = errors.New("email already registered")
	ErrSessionEnded = errors.New("session ended or expired")
	// ErrUserChanged: the user was changed (security stamp), disabled or deleted since it was
	// read, so what was decided on that read no longer holds.
	ErrUserChanged = errors.New("user changed since it was read")
)

// AlreadyRotatedError is returned by RotateRefreshToken for a refresh token that was already
// rotated; the service decides between a retry inside the grace window and reuse.
type AlreadyRotatedError struct {
	SessionID string
	UserID    string
	RotatedAt time.Time
}

func (e *AlreadyRotatedError) Error() string {
	return fmt.Sprintf("refresh token of session %s already rotated at %s", e.SessionID, e.RotatedAt.Format(time.RFC3339Nano))
}
