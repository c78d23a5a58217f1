package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/internal/sqlshared"
	"github.com/jackc/pgx/v5"
)

const apiKeyCols = sqlshared.APIKeyCols

func scanAPIKey(row pgx.Row) (auth.APIKey, error) { return times.APIKey(row) }

// CreateAPIKey inserts k.
func (s *Store) CreateAPIKey(ctx context.Context, k auth.APIKey) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO api_keys (`+apiKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		k.ID, k.UserID, k.Name, k.Prefix, k.Hash, k.CreatedAt, nullTime(k.ExpiresAt), nullTime(k.LastUsedAt), nullTime(k.RevokedAt)); err != nil {
		return fmt.Errorf("postgres: create api key: %w", err)
	}
	return nil
}

func (s *Store) apiKeyWhere(ctx context.Context, where string, arg any) (auth.APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE `+where, arg))
	if err != nil {
		return auth.APIKey{}, rowErr(err, "api key")
	}
	return k, nil
}

// APIKeyByHash returns the key stored under hash, revoked or not.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (auth.APIKey, error) {
	return s.apiKeyWhere(ctx, `hash = $1`, hash)
}

// APIKeyByID returns a key, revoked or not.
func (s *Store) APIKeyByID(ctx context.Context, id string) (auth.APIKey, error) {
	return s.apiKeyWhere(ctx, `id = $1`, id)
}

// ListAPIKeys returns the user's keys that are not revoked, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]auth.APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+apiKeyCols+` FROM api_keys
		WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id DESC`, userID)
	return listRows(rows, err, "list api keys", scanAPIKey)
}

const revokeKeysSQL = `WITH r AS (
		UPDATE api_keys SET revoked_at = $1 WHERE %s AND revoked_at IS NULL RETURNING id, user_id
	), c AS (
		INSERT INTO changes (kind, user_id, session_id, at)
		SELECT '` + string(auth.ChangeAPIKeyRevoked) + `', user_id, id, $1 FROM r ORDER BY id
		RETURNING session_id
	)
	SELECT session_id FROM c ORDER BY session_id`

func (s *Store) revokeKeys(ctx context.Context, where string, args ...any) ([]string, error) {
	var ids []string
	err := s.changeTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, fmt.Sprintf(revokeKeysSQL, where), args...)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: revoke api keys: %w", err)
	}
	return ids, nil
}

// RevokeAPIKey revokes an active key and logs it, in one transaction.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, now time.Time) (bool, error) {
	ids, err := s.revokeKeys(ctx, `id = $2`, now, id)
	if err != nil {
		return false, err
	}
	if len(ids) == 0 {
		if _, err := s.APIKeyByID(ctx, id); err != nil {
			return false, err
		}
		return false, nil
	}
	return true, nil
}

// RevokeUserAPIKeys revokes every active key of the user and logs each, in one transaction.
func (s *Store) RevokeUserAPIKeys(ctx context.Context, userID string, now time.Time) ([]string, error) {
	return s.revokeKeys(ctx, `user_id = $2`, now, userID)
}

// TouchAPIKey sets last_used_at unless it is already at or after notBefore.
func (s *Store) TouchAPIKey(ctx context.Context, id string, now, notBefore time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $2
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)`, id, now, notBefore); err != nil {
		return fmt.Errorf("postgres: touch api key: %w", err)
	}
	return nil
}

// RefreshTokenByHash returns the refresh token stored under hash, current or rotated.
func (s *Store) RefreshTokenByHash(ctx context.Context, hash []byte) (auth.RefreshToken, error) {
	rt, err := times.RefreshToken(s.pool.QueryRow(ctx, `SELECT session_id, created_at, rotated_at FROM refresh_tokens WHERE hash = $1`, hash))
	if err != nil {
		return auth.RefreshToken{}, rowErr(err, "refresh token")
	}
	return rt, nil
}
