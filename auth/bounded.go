package auth

import (
	"context"
	"time"
)

// boundedStore gives every store call a deadline, so that a database lost mid-request turns
// into an error within a bounded time instead of a hang (a partitioned peer never answers).
// A caller's own, earlier deadline wins. Only calls that reach the store pay for the timer:
// Authorize answers from the in-memory view.
//
// PurgeChanges (housekeeping, not a request) and methods added to Store later pass through the
// embedded interface unbounded.
type boundedStore struct {
	Store
	timeout time.Duration
}

func boundStore(s Store, timeout time.Duration) Store {
	if timeout <= 0 {
		return s
	}
	if b, ok := s.(*boundedStore); ok {
		s = b.Store
	}
	return &boundedStore{Store: s, timeout: timeout}
}

func noCancel() {}

func (s *boundedStore) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= s.timeout {
		return ctx, noCancel
	}
	return context.WithTimeout(ctx, s.timeout)
}

func (s *boundedStore) Ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.Ping(ctx)
}

func (s *boundedStore) CreateUser(ctx context.Context, u User) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.CreateUser(ctx, u)
}

func (s *boundedStore) UserByID(ctx context.Context, id string) (User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.UserByID(ctx, id)
}

func (s *boundedStore) UserByEmail(ctx context.Context, email string) (User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.UserByEmail(ctx, email)
}

func (s *boundedStore) ListUsers(ctx context.Context, afterID string, limit int) ([]User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.ListUsers(ctx, afterID, limit)
}

func (s *boundedStore) SetUserRoles(ctx context.Context, id string, roles []Role, now time.Time) (User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.SetUserRoles(ctx, id, roles, now)
}

func (s *boundedStore) ChangeUserSecurity(ctx context.Context, id string, c SecurityChange, now time.Time) (User, []string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.ChangeUserSecurity(ctx, id, c, now)
}

func (s *boundedStore) UpgradePasswordHash(ctx context.Context, id string, stamp int64, hash string, now time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.UpgradePasswordHash(ctx, id, stamp, hash, now)
}

func (s *boundedStore) CreateSession(ctx context.Context, sess Session, refreshHash []byte, stamp int64) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.CreateSession(ctx, sess, refreshHash, stamp)
}

func (s *boundedStore) RotateRefreshToken(ctx context.Context, oldHash, newHash []byte, now time.Time) (Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.RotateRefreshToken(ctx, oldHash, newHash, now)
}

func (s *boundedStore) SessionByRefreshHash(ctx context.Context, hash []byte) (Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.SessionByRefreshHash(ctx, hash)
}

func (s *boundedStore) SessionByID(ctx context.Context, id string) (Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.SessionByID(ctx, id)
}

func (s *boundedStore) ListLiveSessions(ctx context.Context, userID string, now time.Time) ([]Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.ListLiveSessions(ctx, userID, now)
}

func (s *boundedStore) EndSession(ctx context.Context, id string, reason string, now time.Time) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.EndSession(ctx, id, reason, now)
}

func (s *boundedStore) EndUserSessions(ctx context.Context, userID, exceptID, reason string, now time.Time) ([]string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.EndUserSessions(ctx, userID, exceptID, reason, now)
}

func (s *boundedStore) ChangesAfter(ctx context.Context, afterSeq int64, notBefore time.Time, limit int) ([]Change, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.ChangesAfter(ctx, afterSeq, notBefore, limit)
}

func (s *boundedStore) EnqueueMail(ctx context.Context, m OutboxMail) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.EnqueueMail(ctx, m)
}

func (s *boundedStore) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxMail, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.ClaimMail(ctx, now, lease, limit)
}

func (s *boundedStore) IssueMailToken(ctx context.Context, mailID string, t MailToken, data map[string]string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.IssueMailToken(ctx, mailID, t, data)
}

func (s *boundedStore) RetryMail(ctx context.Context, id string, next time.Time, lastErr string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.RetryMail(ctx, id, next, lastErr)
}

func (s *boundedStore) FinishMail(ctx context.Context, id string, status MailStatus, lastErr string, now time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.FinishMail(ctx, id, status, lastErr, now)
}

func (s *boundedStore) MailTokenByHash(ctx context.Context, hash []byte) (MailToken, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.MailTokenByHash(ctx, hash)
}

func (s *boundedStore) RedeemMailToken(ctx context.Context, userID string, use MailTokenUse, now time.Time) (User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.RedeemMailToken(ctx, userID, use, now)
}

func (s *boundedStore) AppendMailbox(ctx context.Context, e MailboxEntry, keep int) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.AppendMailbox(ctx, e, keep)
}

func (s *boundedStore) ListMailbox(ctx context.Context, limit int) ([]MailboxEntry, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.ListMailbox(ctx, limit)
}

func (s *boundedStore) PasskeyHandle(ctx context.Context, userID string) ([]byte, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.PasskeyHandle(ctx, userID)
}

func (s *boundedStore) EnsurePasskeyHandle(ctx context.Context, userID string, handle []byte) ([]byte, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.EnsurePasskeyHandle(ctx, userID, handle)
}

func (s *boundedStore) CreatePasskey(ctx context.Context, p Passkey) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.CreatePasskey(ctx, p)
}

func (s *boundedStore) ListPasskeys(ctx context.Context, userID string) ([]Passkey, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.ListPasskeys(ctx, userID)
}

func (s *boundedStore) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (Passkey, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.PasskeyByCredentialID(ctx, credentialID)
}

func (s *boundedStore) RecordPasskeyUse(ctx context.Context, id string, signCount uint32, record []byte, now time.Time) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.RecordPasskeyUse(ctx, id, signCount, record, now)
}

func (s *boundedStore) DeletePasskey(ctx context.Context, userID, id string) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.DeletePasskey(ctx, userID, id)
}

func (s *boundedStore) CreatePasskeyChallenge(ctx context.Context, c PasskeyChallenge) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.CreatePasskeyChallenge(ctx, c)
}

func (s *boundedStore) TakePasskeyChallenge(ctx context.Context, id string) (PasskeyChallenge, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.Store.TakePasskeyChallenge(ctx, id)
}
