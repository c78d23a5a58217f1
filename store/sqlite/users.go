package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/example/gqlauth/auth"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// CreateUser inserts u; auth.ErrEmailTaken when the email is in use.
func (s *Store) CreateUser(ctx context.Context, u auth.User) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.PasswordHash, encodeRoles(u.Roles), u.Disabled, micros(u.CreatedAt), micros(u.UpdatedAt))
		return err
	})
	if isUniqueViolation(err, "users.email") {
		return auth.ErrEmailTaken
	}
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	return nil
}

// isUniqueViolation reports a UNIQUE constraint failure on column (as "table.column"). A
// duplicate primary key is a different code (SQLITE_CONSTRAINT_PRIMARYKEY) and is not matched.
func isUniqueViolation(err error, column string) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE &&
		strings.Contains(se.Error(), column)
}

// UserByID returns auth.ErrNotFound when there is no such user.
func (s *Store) UserByID(ctx context.Context, id string) (auth.User, error) {
	return oneUser(s.st.userByID.QueryRowContext(ctx, id))
}

// UserByEmail returns auth.ErrNotFound when there is no such user.
func (s *Store) UserByEmail(ctx context.Context, email string) (auth.User, error) {
	return oneUser(s.st.userByEmail.QueryRowContext(ctx, email))
}

func oneUser(row *sql.Row) (auth.User, error) {
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.User{}, auth.ErrNotFound
	}
	if err != nil {
		return auth.User{}, fmt.Errorf("sqlite: user: %w", err)
	}
	return u, nil
}

// ListUsers returns up to limit users with ID > afterID in ascending ID order (byte order).
func (s *Store) ListUsers(ctx context.Context, afterID string, limit int) ([]auth.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	var out []auth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	return out, nil
}

// SetUserRoles replaces the user's roles and logs a ChangeUser entry.
func (s *Store) SetUserRoles(ctx context.Context, id string, roles []auth.Role, now time.Time) (auth.User, error) {
	return s.updateUser(ctx, id, now, `roles = ?`, encodeRoles(roles))
}

// SetUserDisabled sets the disabled flag and logs a ChangeUser entry.
func (s *Store) SetUserDisabled(ctx context.Context, id string, disabled bool, now time.Time) (auth.User, error) {
	return s.updateUser(ctx, id, now, `disabled = ?`, disabled)
}

// SetPasswordHash replaces the password hash and logs a ChangeUser entry.
func (s *Store) SetPasswordHash(ctx context.Context, id string, hash string, now time.Time) error {
	_, err := s.updateUser(ctx, id, now, `password_hash = ?`, hash)
	return err
}

// updateUser sets one column (set is a fixed string from this file, never user input), bumps
// updated_at and appends the change entry, all in one transaction.
func (s *Store) updateUser(ctx context.Context, id string, now time.Time, set string, val any) (auth.User, error) {
	var u auth.User
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx,
			`UPDATE users SET `+set+`, updated_at = ? WHERE id = ? RETURNING `+userCols, val, micros(now), id))
		if errors.Is(err, sql.ErrNoRows) {
			return auth.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("sqlite: update user: %w", err)
		}
		return s.appendChange(ctx, tx, auth.ChangeUser, id, "", now)
	})
	if err != nil {
		return auth.User{}, err
	}
	return u, nil
}
