package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/internal/sqlshared"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const passkeyCols = sqlshared.PasskeyCols

func scanPasskey(row pgx.Row) (auth.Passkey, error) { return times.Passkey(row) }

// isForeignKeyViolation reports a foreign key violation (SQLSTATE 23503): an unknown user.
func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// PasskeyHandle returns the user's WebAuthn user handle; auth.ErrNotFound when none.
func (s *Store) PasskeyHandle(ctx context.Context, userID string) ([]byte, error) {
	return one(s.pool.QueryRow(ctx, `SELECT handle FROM passkey_handles WHERE user_id = $1`, userID),
		func(r pgx.Row) (h []byte, err error) { return h, r.Scan(&h) }, "passkey handle")
}

// EnsurePasskeyHandle stores handle unless the user has one and returns the user's handle. A
// concurrent insert makes ON CONFLICT wait for it; the read after it (READ COMMITTED) then sees
// the winner's handle.
func (s *Store) EnsurePasskeyHandle(ctx context.Context, userID string, handle []byte) ([]byte, error) {
	var h []byte
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO passkey_handles (user_id, handle) VALUES ($1, $2)
			ON CONFLICT (user_id) DO NOTHING`, userID, handle); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT handle FROM passkey_handles WHERE user_id = $1`, userID).Scan(&h)
	})
	if isForeignKeyViolation(err) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: ensure passkey handle: %w", err)
	}
	return h, nil
}

// CreatePasskey stores p; auth.ErrPasskeyTaken for a credential id in use.
func (s *Store) CreatePasskey(ctx context.Context, p auth.Passkey) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO passkeys (`+passkeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		p.ID, p.UserID, p.Name, sqlshared.NonNil(p.CredentialID), strings.Join(p.Transports, " "), sqlshared.NonNil(p.Record), int64(p.SignCount),
		p.CreatedAt, nullTime(p.LastUsedAt))
	switch {
	case isUniqueViolation(err, "passkeys_credential_id_key"):
		return auth.ErrPasskeyTaken
	case isForeignKeyViolation(err):
		return auth.ErrNotFound
	case err != nil:
		return fmt.Errorf("postgres: create passkey: %w", err)
	}
	return nil
}

// ListPasskeys returns the user's passkeys, oldest first.
func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]auth.Passkey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE user_id = $1
		ORDER BY created_at, id`, userID)
	return listRows(rows, err, "list passkeys", scanPasskey)
}

// PasskeyByCredentialID returns auth.ErrNotFound for an unknown credential id.
func (s *Store) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (auth.Passkey, error) {
	return one(s.pool.QueryRow(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE credential_id = $1`, sqlshared.NonNil(credentialID)),
		scanPasskey, "passkey")
}

// RecordPasskeyUse moves the counter forward in one conditional update.
func (s *Store) RecordPasskeyUse(ctx context.Context, id string, signCount uint32, record []byte, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE passkeys SET sign_count = $2, record = $3, last_used_at = $4
		WHERE id = $1 AND (sign_count < $2 OR (sign_count = 0 AND $2 = 0))`,
		id, int64(signCount), sqlshared.NonNil(record), now)
	if err != nil {
		return false, fmt.Errorf("postgres: record passkey use: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// DeletePasskey deletes the user's passkey id.
func (s *Store) DeletePasskey(ctx context.Context, userID, id string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM passkeys WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return false, fmt.Errorf("postgres: delete passkey: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// CreatePasskeyChallenge stores c.
func (s *Store) CreatePasskeyChallenge(ctx context.Context, c auth.PasskeyChallenge) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO passkey_challenges (id, purpose, user_id, state, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, c.ID, c.Purpose, c.UserID, sqlshared.NonNil(c.State), c.ExpiresAt)
	if err != nil {
		return fmt.Errorf("postgres: create passkey challenge: %w", err)
	}
	return nil
}

// TakePasskeyChallenge deletes and returns the challenge in one statement: of two concurrent
// calls (on any instances) one gets the row, the other none.
func (s *Store) TakePasskeyChallenge(ctx context.Context, id string) (auth.PasskeyChallenge, error) {
	return one(s.pool.QueryRow(ctx, `DELETE FROM passkey_challenges WHERE id = $1
		RETURNING `+sqlshared.PasskeyChallengeCols, id),
		func(r pgx.Row) (auth.PasskeyChallenge, error) { return times.PasskeyChallenge(r) }, "take passkey challenge")
}

// PurgePasskeyChallenges deletes at most batch challenges that expired before before.
func (s *Store) PurgePasskeyChallenges(ctx context.Context, before time.Time, batch int) (int64, error) {
	return s.deleteBatch(ctx, "purge passkey challenges", `DELETE FROM passkey_challenges WHERE id IN
		(SELECT id FROM passkey_challenges WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, batch)
}
