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

const apiKeyCols = sqlshared.APIKeyCols

// CreateAPIKey inserts k.
func (s *Store) CreateAPIKey(ctx context.Context, k auth.APIKey) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.UserID, k.Name, k.Prefix, k.Hash, micros(k.CreatedAt), nullMicros(k.ExpiresAt),
			nullMicros(k.LastUsedAt), nullMicros(k.RevokedAt)); err != nil {
			return fmt.Errorf("sqlite: create api key: %w", err)
		}
		return nil
	})
}

func (s *Store) apiKeyWhere(ctx context.Context, where string, arg any) (auth.APIKey, error) {
	k, err := times.APIKey(s.rdb.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE `+where, arg))
	if err != nil {
		return auth.APIKey{}, rowErr(err, "api key")
	}
	return k, nil
}

// APIKeyByHash returns the key stored under hash, revoked or not.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (auth.APIKey, error) {
	return s.apiKeyWhere(ctx, `hash = ?`, hash)
}

// APIKeyByID returns a key, revoked or not.
func (s *Store) APIKeyByID(ctx context.Context, id string) (auth.APIKey, error) {
	return s.apiKeyWhere(ctx, `id = ?`, id)
}

// ListAPIKeys returns the user's keys that are not revoked, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]auth.APIKey, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys
		WHERE user_id = ? AND revoked_at IS NULL ORDER BY created_at DESC, id DESC`, userID)
	return listRows(rows, err, "list api keys", times.APIKey)
}

// RevokeAPIKey revokes an active key and logs it, in one transaction.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, now time.Time) (bool, error) {
	var revoked bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		var userID string
		err := tx.QueryRowContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING user_id`,
			micros(now), id).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return exists(ctx, tx, "revoke api key", `SELECT 1 FROM api_keys WHERE id = ?`, id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: revoke api key: %w", err)
		}
		revoked = true
		return s.appendChange(ctx, tx, auth.ChangeAPIKeyRevoked, userID, id, now)
	})
	return revoked, err
}

// RevokeUserAPIKeys revokes every active key of the user and logs each, in one transaction.
func (s *Store) RevokeUserAPIKeys(ctx context.Context, userID string, now time.Time) ([]string, error) {
	var ids []string
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL RETURNING id`,
			micros(now), userID)
		ids, err = listRows(rows, err, "revoke api keys", func(sc scanner) (id string, err error) { return id, sc.Scan(&id) })
		if err != nil {
			return err
		}
		slices.Sort(ids)
		for _, id := range ids {
			if err := s.appendChange(ctx, tx, auth.ChangeAPIKeyRevoked, userID, id, now); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}

// TouchAPIKey sets last_used_at unless it is already at or after notBefore.
func (s *Store) TouchAPIKey(ctx context.Context, id string, now, notBefore time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ?
			WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, micros(now), id, micros(notBefore)); err != nil {
			return fmt.Errorf("sqlite: touch api key: %w", err)
		}
		return nil
	})
}

// RefreshTokenByHash returns the refresh token stored under hash, current or rotated.
func (s *Store) RefreshTokenByHash(ctx context.Context, hash []byte) (auth.RefreshToken, error) {
	rt, err := times.RefreshToken(s.rdb.QueryRowContext(ctx, `SELECT id, refresh_created_at, NULL FROM sessions WHERE refresh_hash = ?1
		UNION ALL
		SELECT session_id, created_at, rotated_at FROM refresh_tokens WHERE hash = ?1`, hash))
	if err != nil {
		return auth.RefreshToken{}, rowErr(err, "refresh token")
	}
	return rt, nil
}
