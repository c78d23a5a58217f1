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
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.PasswordHash, encodeRoles(u.Roles), u.Disabled, micros(u.CreatedAt), micros(u.UpdatedAt),
			u.SecurityStamp, u.EmailVerified, u.MFAEnabled)
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
	if err != nil {
		return auth.User{}, rowErr(err, "user")
	}
	return u, nil
}

// ListUsers returns up to limit users with ID > afterID in ascending ID order (byte order).
func (s *Store) ListUsers(ctx context.Context, afterID string, limit int) ([]auth.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
	return listRows(rows, err, "list users", scanUser)
}

// SetUserRoles replaces the user's roles and logs a ChangeUser entry. The security stamp stays:
// a role change ends no session.
func (s *Store) SetUserRoles(ctx context.Context, id string, roles []auth.Role, now time.Time) (auth.User, error) {
	var u auth.User
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = s.updateUser(ctx, tx, id, now, []string{`roles = ?`}, encodeRoles(roles))
		return err
	})
	if err != nil {
		return auth.User{}, err
	}
	return u, nil
}

// ChangeUserSecurity applies c in one write transaction: the user's row (stamp bumped), the
// sessions it ends, Keep's new refresh token and the change log entries commit together or not
// at all. SQLite serialises writers, so a CreateSession either committed before (and its
// session is ended here) or runs after and sees the new stamp.
func (s *Store) ChangeUserSecurity(ctx context.Context, id string, c auth.SecurityChange, now time.Time) (auth.User, []string, error) {
	sets, vals := []string{`security_stamp = security_stamp + 1`}, []any{}
	if c.PasswordHash != "" {
		sets, vals = append(sets, `password_hash = ?`), append(vals, c.PasswordHash)
	}
	if c.Disabled != nil {
		sets, vals = append(sets, `disabled = ?`), append(vals, *c.Disabled)
	}
	if c.Verify {
		sets = append(sets, `email_verified = 1`)
	}
	if c.RemoveMFA {
		sets, vals = append(sets, `mfa_enabled = ?`), append(vals, false)
	}
	var (
		u     auth.User
		ended []string
	)
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if c.Token != nil { // first, so that its stamp is compared with the stamp before the bump
			if _, err := consumeMailToken(ctx, tx, id, *c.Token, now); err != nil {
				return err
			}
		}
		if u, err = s.updateUser(ctx, tx, id, now, sets, vals...); err != nil {
			return err
		}
		if c.Keep != "" {
			if err := s.replaceToken(ctx, tx, id, c.Keep, c.KeepRefresh, now); err != nil {
				return err
			}
		}
		if c.RemoveMFA {
			if _, err := removeMFA(ctx, tx, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_challenges WHERE user_id = ?`, id); err != nil {
				return fmt.Errorf("sqlite: remove mfa challenges: %w", err)
			}
		}
		if c.EndReason != "" {
			ended, err = s.endUserSessions(ctx, tx, id, c.Keep, c.EndReason, now)
		}
		return err
	})
	if err != nil {
		return auth.User{}, nil, err
	}
	return u, ended, nil
}

// UpgradePasswordHash replaces the hash while the stamp is still stamp, leaving the stamp.
func (s *Store) UpgradePasswordHash(ctx context.Context, id string, stamp int64, hash string, now time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ?
			WHERE id = ? AND security_stamp = ? RETURNING 1`, hash, micros(now), id, stamp).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return auth.ErrUserChanged
		}
		if err != nil {
			return fmt.Errorf("sqlite: upgrade password hash: %w", err)
		}
		return s.appendChange(ctx, tx, auth.ChangeUser, id, "", now)
	})
}

// updateUser sets columns (sets are fixed strings from this file, never user input, each with
// one placeholder but the stamp's), bumps updated_at and appends the change entry inside tx.
func (s *Store) updateUser(ctx context.Context, tx *sql.Tx, id string, now time.Time, sets []string, vals ...any) (auth.User, error) {
	args := append(vals, micros(now), id)
	u, err := scanUser(tx.QueryRowContext(ctx,
		`UPDATE users SET `+strings.Join(sets, ", ")+`, updated_at = ? WHERE id = ? RETURNING `+userCols, args...))
	if err != nil {
		return auth.User{}, rowErr(err, "update user")
	}
	return u, s.appendChange(ctx, tx, auth.ChangeUser, id, "", now)
}
