package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"
)

const clientCols = `id, name, secret_hash, scopes, created_at, revoked_at`

func scanClient(sc scanner) (auth.OAuthClient, error) {
	var (
		c       auth.OAuthClient
		scopes  string
		created int64
		revoked sql.NullInt64
	)
	if err := sc.Scan(&c.ID, &c.Name, &c.SecretHash, &scopes, &created, &revoked); err != nil {
		return auth.OAuthClient{}, err
	}
	if scopes != "" {
		c.Scopes = strings.Split(scopes, " ") // scope tokens never contain spaces
	}
	c.CreatedAt, c.RevokedAt = fromMicros(created), fromNullMicros(revoked)
	return c, nil
}

// CreateClient inserts c.
func (s *Store) CreateClient(ctx context.Context, c auth.OAuthClient) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO oauth_clients (`+clientCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.SecretHash, strings.Join(c.Scopes, " "), micros(c.CreatedAt), nullMicros(c.RevokedAt)); err != nil {
			return fmt.Errorf("sqlite: create client: %w", err)
		}
		return nil
	})
}

// ClientByID returns a client, revoked or not.
func (s *Store) ClientByID(ctx context.Context, id string) (auth.OAuthClient, error) {
	c, err := scanClient(s.rdb.QueryRowContext(ctx, `SELECT `+clientCols+` FROM oauth_clients WHERE id = ?`, id))
	if err != nil {
		return auth.OAuthClient{}, rowErr(err, "client")
	}
	return c, nil
}

// ListClients returns every client, oldest first.
func (s *Store) ListClients(ctx context.Context) ([]auth.OAuthClient, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+clientCols+` FROM oauth_clients ORDER BY created_at, id`)
	return listRows(rows, err, "list clients", scanClient)
}

// RevokeClient revokes an active client and logs it, in one transaction.
func (s *Store) RevokeClient(ctx context.Context, id string, now time.Time) (bool, error) {
	var revoked bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE oauth_clients SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, micros(now), id)
		if err != nil {
			return fmt.Errorf("sqlite: revoke client: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: revoke client: %w", err)
		} else if n == 0 {
			return exists(ctx, tx, "revoke client", `SELECT 1 FROM oauth_clients WHERE id = ?`, id)
		}
		revoked = true
		return s.appendChange(ctx, tx, auth.ChangeClientRevoked, id, "", now)
	})
	return revoked, err
}
