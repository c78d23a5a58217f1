package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/jackc/pgx/v5"
)

const userCols = `id, email, password_hash, roles, disabled, created_at, updated_at, security_stamp, email_verified, mfa_enabled`

func scanUser(row pgx.Row) (auth.User, error) {
	var (
		u     auth.User
		roles []string
	)
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &roles, &u.Disabled, &u.CreatedAt, &u.UpdatedAt, &u.SecurityStamp, &u.EmailVerified, &u.MFAEnabled); err != nil {
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
	_, err := s.pool.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		u.ID, u.Email, u.PasswordHash, encodeRoles(u.Roles), u.Disabled, u.CreatedAt, u.UpdatedAt, u.SecurityStamp, u.EmailVerified, u.MFAEnabled)
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
	return listRows(rows, err, "list users", scanUser)
}

// SetUserRoles replaces the user's roles and logs a ChangeUser entry. The security stamp stays:
// a role change ends no session.
func (s *Store) SetUserRoles(ctx context.Context, id string, roles []auth.Role, now time.Time) (auth.User, error) {
	var u auth.User
	err := s.changeTx(ctx, func(tx pgx.Tx) error {
		var err error
		u, err = updateUser(ctx, tx, id, now, `roles = $3`, encodeRoles(roles))
		return err
	})
	if err != nil {
		return auth.User{}, err
	}
	return u, nil
}

// ChangeUserSecurity applies c in one change-log transaction. The order of its statements is
// what makes a racing CreateSession safe (see CreateSession): the user's row is updated (and so
// locked) by one statement, and the sessions are ended by later ones, whose snapshots are taken
// after that lock was granted. A CreateSession that held the row first has committed by then,
// and its session is ended; one that comes later waits for this commit and sees the new stamp.
// Ending in the same statement as the update would read the sessions with the statement's
// snapshot, taken before waiting for the lock, and miss a session committed meanwhile.
func (s *Store) ChangeUserSecurity(ctx context.Context, id string, c auth.SecurityChange, now time.Time) (auth.User, []string, error) {
	set := `security_stamp = security_stamp + 1`
	args := []any{}
	if c.PasswordHash != "" {
		args = append(args, c.PasswordHash)
		set += fmt.Sprintf(`, password_hash = $%d`, len(args)+2)
	}
	if c.Disabled != nil {
		args = append(args, *c.Disabled)
		set += fmt.Sprintf(`, disabled = $%d`, len(args)+2)
	}
	if c.Verify {
		set += `, email_verified = true`
	}
	if c.RemoveMFA {
		set += `, mfa_enabled = false`
	}
	var (
		u     auth.User
		ended []string
	)
	err := s.changeTx(ctx, func(tx pgx.Tx) error {
		var err error
		// The token first, so that its stamp is compared with the stamp before the bump; every
		// change of a user holds the change-log lock, so no other change runs meanwhile.
		if c.Token != nil {
			if _, err := consumeMailToken(ctx, tx, id, *c.Token, now); err != nil {
				return err
			}
		}
		if u, err = updateUser(ctx, tx, id, now, set, args...); err != nil {
			return err
		}
		if c.Keep != "" {
			if err := replaceToken(ctx, tx, id, c.Keep, c.KeepRefresh, now); err != nil {
				return err
			}
		}
		if c.RemoveMFA {
			if _, err := removeMFA(ctx, tx, id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM mfa_challenges WHERE user_id = $1`, id); err != nil {
				return fmt.Errorf("postgres: remove mfa challenges: %w", err)
			}
		}
		if c.EndReason != "" {
			ended, err = endSessionsInTx(ctx, tx, `user_id = $3 AND id <> $4 AND ended_at IS NULL AND expires_at > $1`,
				now, c.EndReason, id, c.Keep)
		}
		return err
	})
	if err != nil {
		return auth.User{}, nil, err
	}
	return u, ended, nil
}

// UpgradePasswordHash replaces the hash while the stamp is still stamp, leaving the stamp. The
// UPDATE waits for a concurrent change of the row and then re-checks the stamp.
func (s *Store) UpgradePasswordHash(ctx context.Context, id string, stamp int64, hash string, now time.Time) error {
	return s.changeTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `WITH u AS (
				UPDATE users SET password_hash = $3, updated_at = $2 WHERE id = $1 AND security_stamp = $4 RETURNING id
			)
			INSERT INTO changes (kind, user_id, at) SELECT '`+string(auth.ChangeUser)+`', id, $2 FROM u`, id, now, hash, stamp)
		if err != nil {
			return fmt.Errorf("postgres: upgrade password hash: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return auth.ErrUserChanged
		}
		return nil
	})
}

// updateUser applies set (fixed strings from this file, never user input; its placeholders
// start at $3), bumps updated_at and appends the change entry in one statement, inside tx.
func updateUser(ctx context.Context, tx pgx.Tx, id string, now time.Time, set string, vals ...any) (auth.User, error) {
	u, err := scanUser(tx.QueryRow(ctx, `WITH u AS (
			UPDATE users SET `+set+`, updated_at = $2 WHERE id = $1 RETURNING `+userCols+`
		), c AS (
			INSERT INTO changes (kind, user_id, at) SELECT '`+string(auth.ChangeUser)+`', id, $2 FROM u
		)
		SELECT `+userCols+` FROM u`, append([]any{id, now}, vals...)...))
	if err != nil {
		return auth.User{}, rowErr(err, "update user")
	}
	return u, nil
}
