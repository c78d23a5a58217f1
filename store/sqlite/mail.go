package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/internal/sqlshared"
)

// The mail tables (migration 0010): mail_tokens, mail_outbox, dev_mailbox. SQLite has one
// writer, so a claim (one UPDATE … RETURNING) can never hand a mail to two processes.

const (
	outboxCols  = sqlshared.OutboxCols
	mailboxCols = sqlshared.MailboxCols
)

// EnqueueMail inserts m.
func (s *Store) EnqueueMail(ctx context.Context, m auth.OutboxMail) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO mail_outbox (`+outboxCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
			m.ID, m.Template, string(m.Kind), m.UserID, m.To, sqlshared.EncodeMailData(m.Data), m.Prepared, string(auth.MailQueued),
			micros(m.CreatedAt), micros(m.NextAttempt), m.Attempts, m.LastError)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: enqueue mail: %w", err)
	}
	return nil
}

// ClaimMail leases up to limit due mails in one UPDATE.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]auth.OutboxMail, error) {
	var out []auth.OutboxMail
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE mail_outbox SET claimed_until = ?1
			WHERE id IN (SELECT id FROM mail_outbox
				WHERE status = 'queued' AND next_attempt <= ?2 AND claimed_until <= ?2
				ORDER BY next_attempt, id LIMIT ?3)
			RETURNING `+outboxCols, micros(now.Add(lease)), micros(now), limit)
		out, err = listRows(rows, err, "claim mail", times.OutboxMail)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b auth.OutboxMail) int { return a.NextAttempt.Compare(b.NextAttempt) })
	return out, nil
}

// IssueMailToken voids the user's unused tokens of the kind, inserts t and prepares the mail.
func (s *Store) IssueMailToken(ctx context.Context, mailID string, t auth.MailToken, data map[string]string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mail_tokens WHERE user_id = ? AND kind = ? AND used_at IS NULL`,
			t.UserID, string(t.Kind)); err != nil {
			return fmt.Errorf("sqlite: void mail tokens: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO mail_tokens (hash, user_id, kind, email, stamp, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, t.Hash, t.UserID, string(t.Kind), t.Email, t.Stamp, micros(t.CreatedAt), micros(t.ExpiresAt)); err != nil {
			return fmt.Errorf("sqlite: insert mail token: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET user_id = ?, data = ?, prepared = 1 WHERE id = ? AND status = 'queued'`,
			t.UserID, sqlshared.EncodeMailData(data), mailID)
		if err != nil {
			return fmt.Errorf("sqlite: prepare mail: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		return nil
	})
}

// RetryMail counts the attempt and releases the claim until next.
func (s *Store) RetryMail(ctx context.Context, id string, next time.Time, lastErr string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ?, claimed_until = 0
			WHERE id = ? AND status = 'queued'`, micros(next), lastErr, id)
		if err != nil {
			return fmt.Errorf("sqlite: retry mail: %w", err)
		}
		return nil
	})
}

// FinishMail records the outcome and clears the data (the link).
func (s *Store) FinishMail(ctx context.Context, id string, status auth.MailStatus, lastErr string, now time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET status = ?, last_error = ?, finished_at = ?, data = '{}', claimed_until = 0,
			attempts = attempts + (CASE WHEN ? = 'dropped' THEN 0 ELSE 1 END)
			WHERE id = ? AND status = 'queued'`, string(status), lastErr, micros(now), string(status), id)
		if err != nil {
			return fmt.Errorf("sqlite: finish mail: %w", err)
		}
		return nil
	})
}

// MailTokenByHash returns a token, used or not.
func (s *Store) MailTokenByHash(ctx context.Context, hash []byte) (auth.MailToken, error) {
	t, err := times.MailToken(s.rdb.QueryRowContext(ctx, `SELECT `+sqlshared.MailTokenCols+` FROM mail_tokens WHERE hash = ?`, hash))
	if err != nil {
		return auth.MailToken{}, rowErr(err, "mail token")
	}
	return t, nil
}

// consumeMailToken marks use's token used, inside tx, if it may be used for userID at now, and
// returns the address it was sent to. A verification token must still name the account's
// address; a token checked by stamp must carry the account's current stamp.
func consumeMailToken(ctx context.Context, tx *sql.Tx, userID string, use auth.MailTokenUse, now time.Time) (string, error) {
	var email string
	err := tx.QueryRowContext(ctx, `UPDATE mail_tokens SET used_at = ?1
		WHERE hash = ?2 AND kind = ?3 AND user_id = ?4 AND used_at IS NULL AND expires_at > ?1
		AND (?5 = 0 OR stamp = (SELECT security_stamp FROM users WHERE id = ?4))
		AND (?6 = 0 OR email = (SELECT email FROM users WHERE id = ?4))
		RETURNING email`, micros(now), use.Hash, string(use.Kind), userID, use.CheckStamp, use.Kind == auth.MailVerifyEmail).Scan(&email)
	if errors.Is(err, sql.ErrNoRows) {
		return "", auth.ErrMailTokenInvalid
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: use mail token: %w", err)
	}
	return email, nil
}

// RedeemMailToken consumes the token and applies its effect in one transaction.
func (s *Store) RedeemMailToken(ctx context.Context, userID string, use auth.MailTokenUse, now time.Time) (auth.User, error) {
	var u auth.User
	err := s.write(ctx, func(tx *sql.Tx) error {
		email, err := consumeMailToken(ctx, tx, userID, use, now)
		if err != nil {
			return err
		}
		switch use.Kind {
		case auth.MailVerifyEmail:
			u, err = s.updateUser(ctx, tx, userID, now, []string{`email_verified = 1`})
		case auth.MailChangeEmail:
			u, err = s.updateUser(ctx, tx, userID, now, []string{`email = ?`, `email_verified = 1`}, email)
			if isUniqueViolation(err, "users.email") {
				return auth.ErrEmailTaken
			}
		default:
			return auth.ErrMailTokenInvalid // a reset is redeemed by ChangeUserSecurity
		}
		return err
	})
	if err != nil {
		return auth.User{}, err
	}
	return u, nil
}

// MailStats counts the queued mails and finds the oldest.
func (s *Store) MailStats(ctx context.Context) (int64, time.Time, error) {
	var (
		n      int64
		oldest sql.NullInt64
	)
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM mail_outbox WHERE status = 'queued'`).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlite: mail stats: %w", err)
	}
	return n, fromNullMicros(oldest), nil
}

// PurgeMail deletes finished mails and spent tokens from before before, batch rows at most.
func (s *Store) PurgeMail(ctx context.Context, before time.Time, batch int) (int64, error) {
	var total int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM mail_outbox WHERE rowid IN
			(SELECT rowid FROM mail_outbox WHERE finished_at < ? ORDER BY finished_at LIMIT ?)`, micros(before), batch)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		total += n
		if rest := int64(batch) - total; rest > 0 {
			res, err = tx.ExecContext(ctx, `DELETE FROM mail_tokens WHERE rowid IN
				(SELECT rowid FROM mail_tokens WHERE expires_at < ?1 OR used_at < ?1 LIMIT ?2)`, micros(before), rest)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge mail: %w", err)
	}
	return total, nil
}

// AppendMailbox stores e and keeps the newest keep entries.
func (s *Store) AppendMailbox(ctx context.Context, e auth.MailboxEntry, keep int) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dev_mailbox (id, recipient, subject, text_body, html_body, sent_at)
			VALUES (?, ?, ?, ?, ?, ?)`, e.ID, e.To, e.Subject, e.Text, e.HTML, micros(e.SentAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM dev_mailbox WHERE seq NOT IN (SELECT seq FROM dev_mailbox ORDER BY seq DESC LIMIT ?)`, keep)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: mailbox: %w", err)
	}
	return nil
}

// ListMailbox returns the newest entries first.
func (s *Store) ListMailbox(ctx context.Context, limit int) ([]auth.MailboxEntry, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+mailboxCols+` FROM dev_mailbox ORDER BY seq DESC LIMIT ?`, limit)
	out, err := listRows(rows, err, "mailbox", times.MailboxEntry)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []auth.MailboxEntry{} // an empty mailbox lists as empty, not null
	}
	return out, nil
}
