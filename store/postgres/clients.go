package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/jackc/pgx/v5"
)

const clientCols = `id, name, secret_hash, scopes, created_at, revoked_at`

func scanClient(row pgx.Row) (auth.OAuthClient, error) {
	var (
		c       auth.OAuthClient
		revoked *time.Time
	)
	if err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &c.Scopes, &c.CreatedAt, &revoked); err != nil {
		return auth.OAuthClient{}, err
	}
	if len(c.Scopes) == 0 {
		c.Scopes = nil
	}
	c.CreatedAt, c.RevokedAt = utc(c.CreatedAt), fromNullTime(revoked)
	return c, nil
}

// CreateClient inserts c.
func (s *Store) CreateClient(ctx context.Context, c auth.OAuthClient) error {
	scopes := c.Scopes
	if scopes == nil {
		scopes = []string{} // NOT NULL
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO oauth_clients (`+clientCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, c.Name, c.SecretHash, scopes, c.CreatedAt, nullTime(c.RevokedAt)); err != nil {
		return fmt.Errorf("postgres: create client: %w", err)
	}
	return nil
}

// ClientByID returns a client, revoked or not.
func (s *Store) ClientByID(ctx context.Context, id string) (auth.OAuthClient, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientCols+` FROM oauth_clients WHERE id = $1`, id))
	if err != nil {
		return auth.OAuthClient{}, rowErr(err, "client")
	}
	return c, nil
}

// ListClients returns every client, oldest first.
func (s *Store) ListClients(ctx context.Context) ([]auth.OAuthClient, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+clientCols+` FROM oauth_clients ORDER BY created_at, id`)
	return listRows(rows, err, "list clients", scanClient)
}

// RevokeClient revokes an active client and logs it, in one transaction.
func (s *Store) RevokeClient(ctx context.Context, id string, now time.Time) (bool, error) {
	var revoked bool
	err := s.changeTx(ctx, func(tx pgx.Tx) error {
		var n int
		err := tx.QueryRow(ctx, `WITH r AS (
				UPDATE oauth_clients SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id
			), c AS (
				INSERT INTO changes (kind, user_id, at) SELECT '`+string(auth.ChangeClientRevoked)+`', id, $2 FROM r RETURNING seq
			)
			SELECT (SELECT count(*) FROM c) + 10 * (SELECT count(*) FROM oauth_clients WHERE id = $1)`, id, now).Scan(&n)
		if err != nil {
			return fmt.Errorf("postgres: revoke client: %w", err)
		}
		if n < 10 {
			return auth.ErrNotFound
		}
		revoked = n == 11
		return nil
	})
	return revoked, err
}
