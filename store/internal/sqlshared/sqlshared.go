// Package sqlshared is what the SQLite and PostgreSQL stores share but their SQL: the columns a
// read selects and how such a row becomes an auth value, written once with each dialect's
// own time columns (Times), and the small encodings both store alike.
package sqlshared

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"
)

// Scanner is one row of a result: a *sql.Row or *sql.Rows, a pgx.Row.
type Scanner interface{ Scan(dest ...any) error }

// Times is how a dialect stores times: a column of type T is NOT NULL, one of type N may be
// NULL. Time and Null convert them to UTC, NULL to the zero time.
type Times[T, N any] struct {
	Time func(T) time.Time
	Null func(N) time.Time
}

// APIKeyCols are the api_keys columns APIKey reads, in its order.
const APIKeyCols = `id, user_id, name, prefix, hash, created_at, expires_at, last_used_at, revoked_at`

// APIKey reads a row of APIKeyCols.
func (c Times[T, N]) APIKey(sc Scanner) (auth.APIKey, error) {
	var (
		k                      auth.APIKey
		created                T
		expires, used, revoked N
	)
	if err := sc.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.Hash, &created, &expires, &used, &revoked); err != nil {
		return auth.APIKey{}, err
	}
	k.CreatedAt, k.ExpiresAt = c.Time(created), c.Null(expires)
	k.LastUsedAt, k.RevokedAt = c.Null(used), c.Null(revoked)
	return k, nil
}

// RefreshToken reads session_id, created_at, rotated_at.
func (c Times[T, N]) RefreshToken(sc Scanner) (auth.RefreshToken, error) {
	var (
		rt      auth.RefreshToken
		created T
		rotated N
	)
	if err := sc.Scan(&rt.SessionID, &created, &rotated); err != nil {
		return auth.RefreshToken{}, err
	}
	rt.CreatedAt, rt.RotatedAt = c.Time(created), c.Null(rotated)
	return rt, nil
}

// AuditCols are the audit_events columns AuditEntry reads, in its order.
const AuditCols = `seq, type, at, user_id, session_id, ip_address, user_agent, reason`

// AuditEntry reads a row of AuditCols.
func (c Times[T, N]) AuditEntry(sc Scanner) (auth.AuditEntry, error) {
	var (
		e  auth.AuditEntry
		t  string
		at T
	)
	if err := sc.Scan(&e.Seq, &t, &at, &e.UserID, &e.SessionID, &e.IPAddress, &e.UserAgent, &e.Reason); err != nil {
		return auth.AuditEntry{}, err
	}
	e.Type, e.At = auth.EventType(t), c.Time(at)
	return e, nil
}

// ChangeCols are the changes columns Change reads, in its order.
const ChangeCols = `seq, kind, user_id, session_id, at`

// Change reads a row of ChangeCols.
func (c Times[T, N]) Change(sc Scanner) (auth.Change, error) {
	var (
		ch   auth.Change
		kind string
		at   T
	)
	if err := sc.Scan(&ch.Seq, &kind, &ch.UserID, &ch.SessionID, &at); err != nil {
		return auth.Change{}, err
	}
	ch.Kind, ch.At = auth.ChangeKind(kind), c.Time(at)
	return ch, nil
}

// OutboxCols are the mail_outbox columns OutboxMail reads, in its order.
const OutboxCols = `id, template, kind, user_id, recipient, data, prepared, status, created_at, next_attempt, attempts, last_error, finished_at`

// OutboxMail reads a row of OutboxCols.
func (c Times[T, N]) OutboxMail(sc Scanner) (auth.OutboxMail, error) {
	var (
		m             auth.OutboxMail
		kind, status  string
		data          []byte
		created, next T
		finished      N
	)
	if err := sc.Scan(&m.ID, &m.Template, &kind, &m.UserID, &m.To, &data, &m.Prepared, &status, &created, &next,
		&m.Attempts, &m.LastError, &finished); err != nil {
		return auth.OutboxMail{}, err
	}
	m.Kind, m.Status = auth.MailKind(kind), auth.MailStatus(status)
	m.CreatedAt, m.NextAttempt, m.FinishedAt = c.Time(created), c.Time(next), c.Null(finished)
	if err := json.Unmarshal(data, &m.Data); err != nil {
		return auth.OutboxMail{}, fmt.Errorf("mail data: %w", err)
	}
	return m, nil
}

// EncodeMailData is the data column of a mail: a JSON object, "{}" for none.
func EncodeMailData(d map[string]string) string {
	if d == nil {
		return "{}"
	}
	b, _ := json.Marshal(d) // a map of strings always encodes
	return string(b)
}

// MailTokenCols are the mail_tokens columns MailToken reads, in its order.
const MailTokenCols = `hash, user_id, kind, email, stamp, created_at, expires_at, used_at`

// MailToken reads a row of MailTokenCols.
func (c Times[T, N]) MailToken(sc Scanner) (auth.MailToken, error) {
	var (
		t                auth.MailToken
		kind             string
		created, expires T
		used             N
	)
	if err := sc.Scan(&t.Hash, &t.UserID, &kind, &t.Email, &t.Stamp, &created, &expires, &used); err != nil {
		return auth.MailToken{}, err
	}
	t.Kind = auth.MailKind(kind)
	t.CreatedAt, t.ExpiresAt, t.UsedAt = c.Time(created), c.Time(expires), c.Null(used)
	return t, nil
}

// MailboxCols are the dev_mailbox columns MailboxEntry reads, in its order.
const MailboxCols = `id, recipient, subject, text_body, html_body, sent_at`

// MailboxEntry reads a row of MailboxCols.
func (c Times[T, N]) MailboxEntry(sc Scanner) (auth.MailboxEntry, error) {
	var (
		e    auth.MailboxEntry
		sent T
	)
	if err := sc.Scan(&e.ID, &e.To, &e.Subject, &e.Text, &e.HTML, &sent); err != nil {
		return auth.MailboxEntry{}, err
	}
	e.SentAt = c.Time(sent)
	return e, nil
}

// TOTPCols are the totp_secrets columns TOTP reads, in its order.
const TOTPCols = `user_id, secret, created_at, confirmed_at, last_step`

// TOTP reads a row of TOTPCols.
func (c Times[T, N]) TOTP(sc Scanner) (auth.TOTP, error) {
	var (
		t         auth.TOTP
		created   T
		confirmed N
	)
	if err := sc.Scan(&t.UserID, &t.Secret, &created, &confirmed, &t.LastStep); err != nil {
		return auth.TOTP{}, err
	}
	t.CreatedAt, t.ConfirmedAt = c.Time(created), c.Null(confirmed)
	return t, nil
}

// ChallengeCols are the mfa_challenges columns MFAChallenge reads, in its order.
const ChallengeCols = `token_hash, user_id, security_stamp, created_at, expires_at, attempts, used_at`

// MFAChallenge reads a row of ChallengeCols.
func (c Times[T, N]) MFAChallenge(sc Scanner) (auth.MFAChallenge, error) {
	var (
		ch               auth.MFAChallenge
		created, expires T
		used             N
	)
	if err := sc.Scan(&ch.Hash, &ch.UserID, &ch.Stamp, &created, &expires, &ch.Attempts, &used); err != nil {
		return auth.MFAChallenge{}, err
	}
	ch.CreatedAt, ch.ExpiresAt, ch.UsedAt = c.Time(created), c.Time(expires), c.Null(used)
	return ch, nil
}

// PasskeyCols are the passkeys columns Passkey reads, in its order.
const PasskeyCols = `id, user_id, name, credential_id, transports, record, sign_count, created_at, last_used_at`

// Passkey reads a row of PasskeyCols.
func (c Times[T, N]) Passkey(sc Scanner) (auth.Passkey, error) {
	var (
		p          auth.Passkey
		transports string
		count      int64
		created    T
		used       N
	)
	if err := sc.Scan(&p.ID, &p.UserID, &p.Name, &p.CredentialID, &transports, &p.Record, &count, &created, &used); err != nil {
		return auth.Passkey{}, err
	}
	p.Transports = strings.Fields(transports)
	p.SignCount = uint32(count)
	p.CreatedAt, p.LastUsedAt = c.Time(created), c.Null(used)
	return p, nil
}

// PasskeyChallengeCols are the passkey_challenges columns PasskeyChallenge reads, in its order.
const PasskeyChallengeCols = `id, purpose, user_id, state, expires_at`

// PasskeyChallenge reads a row of PasskeyChallengeCols.
func (c Times[T, N]) PasskeyChallenge(sc Scanner) (auth.PasskeyChallenge, error) {
	var (
		ch      auth.PasskeyChallenge
		expires T
	)
	if err := sc.Scan(&ch.ID, &ch.Purpose, &ch.UserID, &ch.State, &expires); err != nil {
		return auth.PasskeyChallenge{}, err
	}
	ch.ExpiresAt = c.Time(expires)
	return ch, nil
}

// StoredEmailCols are the users columns StoredEmail reads, in its order.
const StoredEmailCols = `id, email, created_at`

// StoredEmail reads a row of StoredEmailCols: an account as the email refold sees it.
func (c Times[T, N]) StoredEmail(sc Scanner) (auth.StoredEmail, error) {
	var (
		a       auth.StoredEmail
		created T
	)
	if err := sc.Scan(&a.UserID, &a.Email, &created); err != nil {
		return auth.StoredEmail{}, err
	}
	a.CreatedAt = c.Time(created)
	return a, nil
}

// NonNil keeps a NOT NULL blob (bytea) column from receiving NULL for an empty value.
func NonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// SeqBefore is the exclusive upper bound of a newest-first page: beforeSeq, or every entry
// when beforeSeq <= 0.
func SeqBefore(beforeSeq int64) int64 {
	if beforeSeq <= 0 {
		return math.MaxInt64
	}
	return beforeSeq
}
