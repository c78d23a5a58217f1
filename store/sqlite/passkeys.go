package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/internal/sqlshared"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

const passkeyCols = sqlshared.PasskeyCols

// isForeignKeyViolation reports a FOREIGN KEY constraint failure (an unknown user).
func isForeignKeyViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// PasskeyHandle returns the user's WebAuthn user handle; auth.ErrNotFound when none.
func (s *Store) PasskeyHandle(ctx context.Context, userID string) ([]byte, error) {
	var h []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT handle FROM passkey_handles WHERE user_id = ?`, userID).Scan(&h)
	if err != nil {
		return nil, rowErr(err, "passkey handle")
	}
	return h, nil
}

// EnsurePasskeyHandle stores handle unless the user has one and returns the user's handle.
func (s *Store) EnsurePasskeyHandle(ctx context.Context, userID string, handle []byte) ([]byte, error) {
	var h []byte
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO passkey_handles (user_id, handle) VALUES (?, ?)
			ON CONFLICT (user_id) DO NOTHING`, userID, handle); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT handle FROM passkey_handles WHERE user_id = ?`, userID).Scan(&h)
	})
	if isForeignKeyViolation(err) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: ensure passkey handle: %w", err)
	}
	return h, nil
}

// CreatePasskey stores p; auth.ErrPasskeyTaken for a credential id in use.
func (s *Store) CreatePasskey(ctx context.Context, p auth.Passkey) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO passkeys (`+passkeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.UserID, p.Name, p.CredentialID, strings.Join(p.Transports, " "), sqlshared.NonNil(p.Record), int64(p.SignCount),
			micros(p.CreatedAt), nullMicros(p.LastUsedAt))
		return err
	})
	switch {
	case isUniqueViolation(err, "passkeys.credential_id"):
		return auth.ErrPasskeyTaken
	case isForeignKeyViolation(err):
		return auth.ErrNotFound
	case err != nil:
		return fmt.Errorf("sqlite: create passkey: %w", err)
	}
	return nil
}

// ListPasskeys returns the user's passkeys, oldest first.
func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]auth.Passkey, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE user_id = ?
		ORDER BY created_at, id`, userID)
	return listRows(rows, err, "list passkeys", times.Passkey)
}

// PasskeyByCredentialID returns auth.ErrNotFound for an unknown credential id.
func (s *Store) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (auth.Passkey, error) {
	p, err := times.Passkey(s.rdb.QueryRowContext(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE credential_id = ?`, sqlshared.NonNil(credentialID)))
	if err != nil {
		return auth.Passkey{}, rowErr(err, "passkey")
	}
	return p, nil
}

// RecordPasskeyUse moves the counter forward in one conditional update.
func (s *Store) RecordPasskeyUse(ctx context.Context, id string, signCount uint32, record []byte, now time.Time) (bool, error) {
	return s.writeOne(ctx, "record passkey use", `UPDATE passkeys SET sign_count = ?2, record = ?3, last_used_at = ?4
		WHERE id = ?1 AND (sign_count < ?2 OR (sign_count = 0 AND ?2 = 0))`,
		id, int64(signCount), sqlshared.NonNil(record), micros(now))
}

// DeletePasskey deletes the user's passkey id.
func (s *Store) DeletePasskey(ctx context.Context, userID, id string) (bool, error) {
	return s.writeOne(ctx, "delete passkey", `DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id, userID)
}

// CreatePasskeyChallenge stores c.
func (s *Store) CreatePasskeyChallenge(ctx context.Context, c auth.PasskeyChallenge) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO passkey_challenges (id, purpose, user_id, state, expires_at)
			VALUES (?, ?, ?, ?, ?)`, c.ID, c.Purpose, c.UserID, sqlshared.NonNil(c.State), micros(c.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create passkey challenge: %w", err)
	}
	return nil
}

// TakePasskeyChallenge deletes and returns the challenge in one statement: single use.
func (s *Store) TakePasskeyChallenge(ctx context.Context, id string) (auth.PasskeyChallenge, error) {
	var c auth.PasskeyChallenge
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = times.PasskeyChallenge(tx.QueryRowContext(ctx, `DELETE FROM passkey_challenges WHERE id = ?
			RETURNING `+sqlshared.PasskeyChallengeCols, id))
		return err
	})
	if err != nil {
		return auth.PasskeyChallenge{}, rowErr(err, "take passkey challenge")
	}
	return c, nil
}

// PurgePasskeyChallenges deletes at most batch challenges that expired before before.
func (s *Store) PurgePasskeyChallenges(ctx context.Context, before time.Time, batch int) (int64, error) {
	return s.deleteBatch(ctx, "purge passkey challenges", `DELETE FROM passkey_challenges WHERE id IN
		(SELECT id FROM passkey_challenges WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`, before, batch)
}
