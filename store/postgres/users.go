package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/jackc/pgx/v5"
)

const userCols = `id, email, password_hash, roles, disabled, created_at, updated_at`

func scanUser(row pgx.Row) (auth.User, error) {
	var (
		u     auth.User
		roles []string
	)
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &roles, &u.Disabled, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return auth.User{}, err
	}
	u.Roles = decodeRoles(roles)
	u.CreatedAt, u.UpdatedAt = utc(u.CreatedAt), utc(u.UpdatedAt)
	return u, nil
}

// encodeRoles never returns nil: pgx sends a nil slice as NULL, and roles is NOT NULL.
func encodeRoles(roles []auth.Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

func decodeRoles(roles []string) []auth.Role {
	if len(roles) == 0 {
		return nil
	}
	out := make([]auth.Role, len(roles))
	for i, r := range roles {
		out[i] = auth.Role(r)
	}
	return out
}

// CreateUser inserts u; auth.ErrEmailTaken when the email is in use.
func (s *Store) CreateUser(ctx context.Context, u auth.User) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		u.ID, u.Email, u.PasswordHash, encodeRoles(u.Roles), u.Disabled, u.CreatedAt, u.UpdatedAt)
	if isUniqueViolation(err, "users_email_key") {
		return auth.ErrEmailTaken
	}
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", err)
	}
	return nil
}

// UserByID returns auth.ErrNotFound when there is no such user.
func (s *Store) UserByID(ctx context.Context, id string) (auth.User, error) {
	return oneUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
}

// UserByEmail returns auth.ErrNotFound when there is no such user.
func (s *Store) UserByEmail(ctx context.Context, email string) (auth.User, error) {
	return oneUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE email = $1`, email))
}

func oneUser(row pgx.Row) (auth.User, error) { return one(row, scanUser, "user") }

// ListUsers returns up to limit users with ID > afterID in ascending ID order (byte order: the
// id column has COLLATE "C").
func (s *Store) ListUsers(ctx context.Context, afterID string, limit int) ([]auth.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users WHERE id > $1 ORDER BY id LIMIT $2`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	return users, nil
}

// SetUserRoles replaces the user's roles and logs a ChangeUser entry.
func (s *Store) SetUserRoles(ctx context.Context, id string, roles []auth.Role, now time.Time) (auth.User, error) {
	return s.updateUser(ctx, id, now, `roles = $3`, encodeRoles(roles))
}

// SetUserDisabled sets the disabled flag and logs a ChangeUser entry.
func (s *Store) SetUserDisabled(ctx context.Context, id string, disabled bool, now time.Time) (auth.User, error) {
	return s.updateUser(ctx, id, now, `disabled = $3`, disabled)
}

// SetPasswordHash replaces the password hash and logs a ChangeUser entry.
func (s *Store) SetPasswordHash(ctx context.Context, id string, hash string, now time.Time) error {
	_, err := s.updateUser(ctx, id, now, `password_hash = $3`, hash)
	return err
}

// updateUser sets one column (set is a fixed string from this file, never user input), bumps
// updated_at and appends the change entry in one statement, inside a change-log transaction.
func (s *Store) updateUser(ctx context.Context, id string, now time.Time, set string, val any) (auth.User, error) {
	var u auth.User
	err := s.changeTx(ctx, func(tx pgx.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRow(ctx, `WITH u AS (
				UPDATE users SET `+set+`, updated_at = $2 WHERE id = $1 RETURNING `+userCols+`
			), c AS (
				INSERT INTO changes (kind, user_id, at) SELECT '`+string(auth.ChangeUser)+`', id, $2 FROM u
			)
			SELECT `+userCols+` FROM u`, id, now, val))
		if errors.Is(err, pgx.ErrNoRows) {
			return auth.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("postgres: update user: %w", err)
		}
		return nil
	})
	if err != nil {
		return auth.User{}, err
	}
	return u, nil
}
