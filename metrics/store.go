package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/example/gqlauth/auth"
)

// storeMethods are the auth.Store methods InstrumentStore times (Close is not), the values of
// auth_store_duration_seconds' method label.
var storeMethods = []string{
	"Ping", "CreateUser", "UserByID", "UserByEmail", "ListUsers", "SetUserRoles", "ChangeUserSecurity",
	"UpgradePasswordHash", "CreateSession", "RotateRefreshToken", "SessionByRefreshHash", "SessionByID", "ListLiveSessions", "EndSession", "EndUserSessions",
	"CountLiveSessions", "PurgeSessions", "ChangesAfter", "LatestChangeSeq", "PurgeChanges", "AppendAudit", "ListAudit",
	"AuditAfter", "PurgeAudit",
	"EnqueueMail", "ClaimMail", "IssueMailToken", "RetryMail", "FinishMail", "MailTokenByHash",
	"RedeemMailToken", "MailStats", "PurgeMail", "AppendMailbox", "ListMailbox",
	// mfastore.go
	"TOTPOf", "BeginTOTP", "EnableTOTP", "UseTOTPStep", "DisableTOTP", "UseRecoveryCode", "ReplaceRecoveryCodes",
	"UnusedRecoveryCodes", "CreateMFAChallenge", "TakeMFAAttempt", "ConsumeMFAChallenge", "PurgeMFAChallenges",
	"PasskeyHandle", "EnsurePasskeyHandle", "CreatePasskey", "ListPasskeys", "PasskeyByCredentialID",
	"RecordPasskeyUse", "DeletePasskey", "CreatePasskeyChallenge", "TakePasskeyChallenge", "PurgePasskeyChallenges",
}

// timedStore is an auth.Store that observes the duration of every call of the store it wraps.
// It costs a clock read and a histogram observation per call, and nothing on paths that do not
// reach the store (an authorised `me` answers from the auth service's in-memory view).
type timedStore struct {
	inner auth.Store
	obs   map[string]prometheus.Observer // fixed after construction; read-only
}

var _ auth.Store = (*timedStore)(nil)

// InstrumentStore returns s with every call timed in auth_store_duration_seconds{method}.
// It forwards no optional interface of s: pass it as auth.Config.WrapStore, which reads them first.
func (m *Metrics) InstrumentStore(s auth.Store) auth.Store {
	t := &timedStore{inner: s, obs: make(map[string]prometheus.Observer, len(storeMethods))}
	for _, name := range storeMethods {
		t.obs[name] = m.storeDuration.WithLabelValues(name)
	}
	return t
}

// done observes the time since start under method; use as `defer t.done("X", time.Now())`.
func (t *timedStore) done(method string, start time.Time) {
	t.obs[method].Observe(time.Since(start).Seconds())
}

func (t *timedStore) Close() error { return t.inner.Close() }

func (t *timedStore) Ping(ctx context.Context) error {
	defer t.done("Ping", time.Now())
	return t.inner.Ping(ctx)
}

func (t *timedStore) CreateUser(ctx context.Context, u auth.User) error {
	defer t.done("CreateUser", time.Now())
	return t.inner.CreateUser(ctx, u)
}

func (t *timedStore) UserByID(ctx context.Context, id string) (auth.User, error) {
	defer t.done("UserByID", time.Now())
	return t.inner.UserByID(ctx, id)
}

func (t *timedStore) UserByEmail(ctx context.Context, email string) (auth.User, error) {
	defer t.done("UserByEmail", time.Now())
	return t.inner.UserByEmail(ctx, email)
}

func (t *timedStore) ListUsers(ctx context.Context, afterID string, limit int) ([]auth.User, error) {
	defer t.done("ListUsers", time.Now())
	return t.inner.ListUsers(ctx, afterID, limit)
}

func (t *timedStore) SetUserRoles(ctx context.Context, id string, roles []auth.Role, now time.Time) (auth.User, error) {
	defer t.done("SetUserRoles", time.Now())
	return t.inner.SetUserRoles(ctx, id, roles, now)
}

func (t *timedStore) ChangeUserSecurity(ctx context.Context, id string, c auth.SecurityChange, now time.Time) (auth.User, []string, error) {
	defer t.done("ChangeUserSecurity", time.Now())
	return t.inner.ChangeUserSecurity(ctx, id, c, now)
}

func (t *timedStore) UpgradePasswordHash(ctx context.Context, id string, stamp int64, hash string, now time.Time) error {
	defer t.done("UpgradePasswordHash", time.Now())
	return t.inner.UpgradePasswordHash(ctx, id, stamp, hash, now)
}

func (t *timedStore) CreateSession(ctx context.Context, s auth.Session, refreshHash []byte, stamp int64) error {
	defer t.done("CreateSession", time.Now())
	return t.inner.CreateSession(ctx, s, refreshHash, stamp)
}

func (t *timedStore) RotateRefreshToken(ctx context.Context, oldHash, newHash []byte, now time.Time) (auth.Session, error) {
	defer t.done("RotateRefreshToken", time.Now())
	return t.inner.RotateRefreshToken(ctx, oldHash, newHash, now)
}

func (t *timedStore) SessionByRefreshHash(ctx context.Context, hash []byte) (auth.Session, error) {
	defer t.done("SessionByRefreshHash", time.Now())
	return t.inner.SessionByRefreshHash(ctx, hash)
}

func (t *timedStore) SessionByID(ctx context.Context, id string) (auth.Session, error) {
	defer t.done("SessionByID", time.Now())
	return t.inner.SessionByID(ctx, id)
}

func (t *timedStore) ListLiveSessions(ctx context.Context, userID string, now time.Time) ([]auth.Session, error) {
	defer t.done("ListLiveSessions", time.Now())
	return t.inner.ListLiveSessions(ctx, userID, now)
}

func (t *timedStore) EndSession(ctx context.Context, id string, reason string, now time.Time) (bool, error) {
	defer t.done("EndSession", time.Now())
	return t.inner.EndSession(ctx, id, reason, now)
}

func (t *timedStore) EndUserSessions(ctx context.Context, userID, exceptID, reason string, now time.Time) ([]string, error) {
	defer t.done("EndUserSessions", time.Now())
	return t.inner.EndUserSessions(ctx, userID, exceptID, reason, now)
}

func (t *timedStore) CountLiveSessions(ctx context.Context, now time.Time) (int64, error) {
	defer t.done("CountLiveSessions", time.Now())
	return t.inner.CountLiveSessions(ctx, now)
}

func (t *timedStore) PurgeSessions(ctx context.Context, before time.Time, batch int) (int64, error) {
	defer t.done("PurgeSessions", time.Now())
	return t.inner.PurgeSessions(ctx, before, batch)
}

func (t *timedStore) ChangesAfter(ctx context.Context, afterSeq int64, notBefore time.Time, limit int) ([]auth.Change, error) {
	defer t.done("ChangesAfter", time.Now())
	return t.inner.ChangesAfter(ctx, afterSeq, notBefore, limit)
}

func (t *timedStore) LatestChangeSeq(ctx context.Context) (int64, error) {
	defer t.done("LatestChangeSeq", time.Now())
	return t.inner.LatestChangeSeq(ctx)
}

func (t *timedStore) PurgeChanges(ctx context.Context, before time.Time, batch int) (int64, error) {
	defer t.done("PurgeChanges", time.Now())
	return t.inner.PurgeChanges(ctx, before, batch)
}

func (t *timedStore) AppendAudit(ctx context.Context, events []auth.Event) error {
	defer t.done("AppendAudit", time.Now())
	return t.inner.AppendAudit(ctx, events)
}

func (t *timedStore) ListAudit(ctx context.Context, userID string, beforeSeq int64, limit int) ([]auth.AuditEntry, error) {
	defer t.done("ListAudit", time.Now())
	return t.inner.ListAudit(ctx, userID, beforeSeq, limit)
}

func (t *timedStore) AuditAfter(ctx context.Context, afterSeq int64, limit int) ([]auth.AuditEntry, error) {
	defer t.done("AuditAfter", time.Now())
	return t.inner.AuditAfter(ctx, afterSeq, limit)
}

func (t *timedStore) PurgeAudit(ctx context.Context, before time.Time, batch int) (int64, error) {
	defer t.done("PurgeAudit", time.Now())
	return t.inner.PurgeAudit(ctx, before, batch)
}

func (t *timedStore) EnqueueMail(ctx context.Context, m auth.OutboxMail) error {
	defer t.done("EnqueueMail", time.Now())
	return t.inner.EnqueueMail(ctx, m)
}

func (t *timedStore) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]auth.OutboxMail, error) {
	defer t.done("ClaimMail", time.Now())
	return t.inner.ClaimMail(ctx, now, lease, limit)
}

func (t *timedStore) IssueMailToken(ctx context.Context, mailID string, tok auth.MailToken, data map[string]string) error {
	defer t.done("IssueMailToken", time.Now())
	return t.inner.IssueMailToken(ctx, mailID, tok, data)
}

func (t *timedStore) RetryMail(ctx context.Context, id string, next time.Time, lastErr string) error {
	defer t.done("RetryMail", time.Now())
	return t.inner.RetryMail(ctx, id, next, lastErr)
}

func (t *timedStore) FinishMail(ctx context.Context, id string, status auth.MailStatus, lastErr string, now time.Time) error {
	defer t.done("FinishMail", time.Now())
	return t.inner.FinishMail(ctx, id, status, lastErr, now)
}

func (t *timedStore) MailTokenByHash(ctx context.Context, hash []byte) (auth.MailToken, error) {
	defer t.done("MailTokenByHash", time.Now())
	return t.inner.MailTokenByHash(ctx, hash)
}

func (t *timedStore) RedeemMailToken(ctx context.Context, userID string, use auth.MailTokenUse, now time.Time) (auth.User, error) {
	defer t.done("RedeemMailToken", time.Now())
	return t.inner.RedeemMailToken(ctx, userID, use, now)
}

func (t *timedStore) MailStats(ctx context.Context) (int64, time.Time, error) {
	defer t.done("MailStats", time.Now())
	return t.inner.MailStats(ctx)
}

func (t *timedStore) PurgeMail(ctx context.Context, before time.Time, batch int) (int64, error) {
	defer t.done("PurgeMail", time.Now())
	return t.inner.PurgeMail(ctx, before, batch)
}

func (t *timedStore) AppendMailbox(ctx context.Context, e auth.MailboxEntry, keep int) error {
	defer t.done("AppendMailbox", time.Now())
	return t.inner.AppendMailbox(ctx, e, keep)
}

func (t *timedStore) ListMailbox(ctx context.Context, limit int) ([]auth.MailboxEntry, error) {
	defer t.done("ListMailbox", time.Now())
	return t.inner.ListMailbox(ctx, limit)
}

func (t *timedStore) PasskeyHandle(ctx context.Context, userID string) ([]byte, error) {
	defer t.done("PasskeyHandle", time.Now())
	return t.inner.PasskeyHandle(ctx, userID)
}

func (t *timedStore) EnsurePasskeyHandle(ctx context.Context, userID string, handle []byte) ([]byte, error) {
	defer t.done("EnsurePasskeyHandle", time.Now())
	return t.inner.EnsurePasskeyHandle(ctx, userID, handle)
}

func (t *timedStore) CreatePasskey(ctx context.Context, p auth.Passkey) error {
	defer t.done("CreatePasskey", time.Now())
	return t.inner.CreatePasskey(ctx, p)
}

func (t *timedStore) ListPasskeys(ctx context.Context, userID string) ([]auth.Passkey, error) {
	defer t.done("ListPasskeys", time.Now())
	return t.inner.ListPasskeys(ctx, userID)
}

func (t *timedStore) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (auth.Passkey, error) {
	defer t.done("PasskeyByCredentialID", time.Now())
	return t.inner.PasskeyByCredentialID(ctx, credentialID)
}

func (t *timedStore) RecordPasskeyUse(ctx context.Context, id string, signCount uint32, record []byte, now time.Time) (bool, error) {
	defer t.done("RecordPasskeyUse", time.Now())
	return t.inner.RecordPasskeyUse(ctx, id, signCount, record, now)
}

func (t *timedStore) DeletePasskey(ctx context.Context, userID, id string) (bool, error) {
	defer t.done("DeletePasskey", time.Now())
	return t.inner.DeletePasskey(ctx, userID, id)
}

func (t *timedStore) CreatePasskeyChallenge(ctx context.Context, c auth.PasskeyChallenge) error {
	defer t.done("CreatePasskeyChallenge", time.Now())
	return t.inner.CreatePasskeyChallenge(ctx, c)
}

func (t *timedStore) TakePasskeyChallenge(ctx context.Context, id string) (auth.PasskeyChallenge, error) {
	defer t.done("TakePasskeyChallenge", time.Now())
	return t.inner.TakePasskeyChallenge(ctx, id)
}

func (t *timedStore) PurgePasskeyChallenges(ctx context.Context, before time.Time, batch int) (int64, error) {
	defer t.done("PurgePasskeyChallenges", time.Now())
	return t.inner.PurgePasskeyChallenges(ctx, before, batch)
}
