package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/internal/sqlshared"
	"github.com/jackc/pgx/v5"
)

// The mail tables (migration 0010): mail_tokens, mail_outbox, dev_mailbox. Instances share the
// outbox: a claim takes due rows with FOR UPDATE SKIP LOCKED and leases them by setting
// claimed_until in the same statement, so two instances never claim one mail, and one that
// dies holding a lease only delays its mails until the lease runs out.

const outboxCols = sqlshared.OutboxCols

// EnqueueMail inserts m.
func (s *Store) EnqueueMail(ctx context.Context, m auth.OutboxMail) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO mail_outbox (`+outboxCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL)`,
		m.ID, m.Template, string(m.Kind), m.UserID, m.To, sqlshared.EncodeMailData(m.Data), m.Prepared, string(auth.MailQueued),
		m.CreatedAt, m.NextAttempt, m.Attempts, m.LastError)
	if err != nil {
		return fmt.Errorf("postgres: enqueue mail: %w", err)
	}
	return nil
}

// ClaimMail leases up to limit due mails that no other transaction is claiming.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]auth.OutboxMail, error) {
	rows, err := s.pool.Query(ctx, `UPDATE mail_outbox SET claimed_until = $1
		WHERE id IN (SELECT id FROM mail_outbox
			WHERE status = 'queued' AND next_attempt <= $2 AND claimed_until <= $2
			ORDER BY next_attempt, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+outboxCols, now.Add(lease), now, limit)
	out, err := listRows(rows, err, "claim mail", func(r pgx.Row) (auth.OutboxMail, error) { return times.OutboxMail(r) })
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b auth.OutboxMail) int { return a.NextAttempt.Compare(b.NextAttempt) })
	return out, nil
}

// IssueMailToken voids the user's unused tokens of the kind, inserts t and prepares the mail.
func (s *Store) IssueMailToken(ctx context.Context, mailID string, t auth.MailToken, data map[string]string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM mail_tokens WHERE user_id = $1 AND kind = $2 AND used_at IS NULL`,
			t.UserID, string(t.Kind)); err != nil {
			return fmt.Errorf("postgres: void mail tokens: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO mail_tokens (hash, user_id, kind, email, stamp, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, t.Hash, t.UserID, string(t.Kind), t.Email, t.Stamp, t.CreatedAt, t.ExpiresAt); err != nil {
			return fmt.Errorf("postgres: insert mail token: %w", err)
		}
		tag, err := tx.Exec(ctx, `UPDATE mail_outbox SET user_id = $1, data = $2, prepared = true WHERE id = $3 AND status = 'queued'`,
			t.UserID, sqlshared.EncodeMailData(data), mailID)
		if err != nil {
			return fmt.Errorf("postgres: prepare mail: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return auth.ErrNotFound
		}
		return nil
	})
}

// RetryMail counts the attempt and releases the claim until next.
func (s *Store) RetryMail(ctx context.Context, id string, next time.Time, lastErr string) error {
	_, err := s.pool.Exec(ctx, `UPDATE mail_outbox SET attempts = attempts + 1, next_attempt = $2, last_error = $3,
		claimed_until = '-infinity' WHERE id = $1 AND status = 'queued'`, id, next, lastErr)
	if err != nil {
		return fmt.Errorf("postgres: retry mail: %w", err)
	}
	return nil
}

// FinishMail records the outcome and clears the data (the link).
func (s *Store) FinishMail(ctx context.Context, id string, status auth.MailStatus, lastErr string, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE mail_outbox SET status = $2, last_error = $3, finished_at = $4, data = '{}',
		claimed_until = '-infinity', attempts = attempts + (CASE WHEN $2 = 'dropped' THEN 0 ELSE 1 END)
		WHERE id = $1 AND status = 'queued'`, id, string(status), lastErr, now)
	if err != nil {
		return fmt.Errorf("postgres: finish mail: %w", err)
	}
	return nil
}

// MailTokenByHash returns a token, used or not.
func (s *Store) MailTokenByHash(ctx context.Context, hash []byte) (auth.MailToken, error) {
	t, err := times.MailToken(s.pool.QueryRow(ctx, `SELECT `+sqlshared.MailTokenCols+` FROM mail_tokens WHERE hash = $1`, hash))
	if err != nil {
		return auth.MailToken{}, rowErr(err, "mail token")
	}
	return t, nil
}

// consumeMailToken marks use's token used, inside tx (a change-log transaction, so no other
// change of the user runs meanwhile), if it may be used for userID at now, and returns the
// address it was sent to. A verification token must still name the account's address; a token
// checked by stamp must carry the account's current stamp. Of two transactions consuming one
// token, the second waits for the first's row lock and then finds it used.
func consumeMailToken(ctx context.Context, tx pgx.Tx, userID string, use auth.MailTokenUse, now time.Time) (string, error) {
	var email string
	err := tx.QueryRow(ctx, `UPDATE mail_tokens t SET used_at = $1
		WHERE t.hash = $2 AND t.kind = $3 AND t.user_id = $4 AND t.used_at IS NULL AND t.expires_at > $1
		AND (NOT $5 OR t.stamp = (SELECT security_stamp FROM users WHERE id = $4))
		AND (NOT $6 OR t.email = (SELECT email FROM users WHERE id = $4))
		RETURNING t.email`, now, use.Hash, string(use.Kind), userID, use.CheckStamp, use.Kind == auth.MailVerifyEmail).Scan(&email)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", auth.ErrMailTokenInvalid
	}
	if err != nil {
		return "", fmt.Errorf("postgres: use mail token: %w", err)
	}
	return email, nil
}

// RedeemMailToken consumes the token and applies its effect in one change-log transaction.
func (s *Store) RedeemMailToken(ctx context.Context, userID string, use auth.MailTokenUse, now time.Time) (auth.User, error) {
	var u auth.User
	err := s.changeTx(ctx, func(tx pgx.Tx) error {
		email, err := consumeMailToken(ctx, tx, userID, use, now)
		if err != nil {
			return err
		}
		switch use.Kind {
		case auth.MailVerifyEmail:
			u, err = updateUser(ctx, tx, userID, now, `email_verified = true`)
		case auth.MailChangeEmail:
			u, err = updateUser(ctx, tx, userID, now, `email = $3, email_verified = true`, email)
			if isUniqueViolation(err, "users_email_key") {
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
		oldest *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT count(*), min(created_at) FROM mail_outbox WHERE status = 'queued'`).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("postgres: mail stats: %w", err)
	}
	return n, fromNullTime(oldest), nil
}

// PurgeMail deletes finished mails and spent tokens from before before, batch rows at most.
func (s *Store) PurgeMail(ctx context.Context, before time.Time, batch int) (int64, error) {
	n, err := s.deleteBatch(ctx, "purge mail", `DELETE FROM mail_outbox WHERE id IN
		(SELECT id FROM mail_outbox WHERE finished_at < $1 ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, batch)
	if err != nil || n >= int64(batch) {
		return n, err
	}
	m, err := s.deleteBatch(ctx, "purge mail tokens", `DELETE FROM mail_tokens WHERE hash IN
		(SELECT hash FROM mail_tokens WHERE expires_at < $1 OR used_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, batch-int(n))
	return n + m, err
}

// AppendMailbox stores e and keeps the newest keep entries.
func (s *Store) AppendMailbox(ctx context.Context, e auth.MailboxEntry, keep int) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO dev_mailbox (id, recipient, subject, text_body, html_body, sent_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, e.ID, e.To, e.Subject, e.Text, e.HTML, e.SentAt); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM dev_mailbox WHERE seq <= (SELECT seq FROM dev_mailbox ORDER BY seq DESC OFFSET $1 LIMIT 1)`, keep)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: mailbox: %w", err)
	}
	return nil
}

// ListMailbox returns the newest entries first.
func (s *Store) ListMailbox(ctx context.Context, limit int) ([]auth.MailboxEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sqlshared.MailboxCols+` FROM dev_mailbox ORDER BY seq DESC LIMIT $1`, limit)
	out, err := listRows(rows, err, "mailbox", func(r pgx.Row) (auth.MailboxEntry, error) { return times.MailboxEntry(r) })
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []auth.MailboxEntry{}
	}
	return out, nil
}
