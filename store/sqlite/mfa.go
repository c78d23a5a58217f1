package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/internal/sqlshared"
)

// Second factors (auth.MFAStore). SQLite serialises writers, so each conditional UPDATE below
// is atomic against every other writer, also in other processes.

// TOTPOf returns the user's TOTP, pending or on; auth.ErrNotFound when there is none.
func (s *Store) TOTPOf(ctx context.Context, userID string) (auth.TOTP, error) {
	t, err := times.TOTP(s.rdb.QueryRowContext(ctx, `SELECT `+sqlshared.TOTPCols+` FROM totp_secrets WHERE user_id = ?`, userID))
	if err != nil {
		return auth.TOTP{}, rowErr(err, "totp")
	}
	return t, nil
}

// BeginTOTP stores a pending TOTP, replacing a pending one but never one that is on.
func (s *Store) BeginTOTP(ctx context.Context, userID string, secret []byte, now time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var on bool
		err := tx.QueryRowContext(ctx, `SELECT confirmed_at IS NOT NULL FROM totp_secrets WHERE user_id = ?`, userID).Scan(&on)
		switch {
		case err == nil && on:
			return auth.ErrTOTPEnabled
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlite: begin totp: %w", err)
		}
		if err := exists(ctx, tx, "user", `SELECT 1 FROM users WHERE id = ?`, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO totp_secrets (user_id, secret, created_at) VALUES (?1, ?2, ?3)
			ON CONFLICT (user_id) DO UPDATE SET secret = ?2, created_at = ?3, last_step = 0`,
			userID, secret, micros(now)); err != nil {
			return fmt.Errorf("sqlite: begin totp: %w", err)
		}
		return nil
	})
}

// EnableTOTP confirms the pending TOTP, replaces the recovery codes and sets mfa_enabled.
func (s *Store) EnableTOTP(ctx context.Context, userID string, secret []byte, step int64, codes [][]byte, now time.Time) (auth.User, error) {
	var u auth.User
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE totp_secrets SET confirmed_at = ?, last_step = ?
			WHERE user_id = ? AND confirmed_at IS NULL AND secret = ?`, micros(now), step, userID, secret)
		if err != nil {
			return fmt.Errorf("sqlite: enable totp: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(auth.ErrNotFound, err)
		}
		if err := replaceCodes(ctx, tx, userID, codes, now); err != nil {
			return err
		}
		u, err = s.updateUser(ctx, tx, userID, now, []string{`mfa_enabled = ?`}, true)
		return err
	})
	return u, err
}

func replaceCodes(ctx context.Context, tx *sql.Tx, userID string, codes [][]byte, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("sqlite: replace recovery codes: %w", err)
	}
	for _, h := range codes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)`,
			userID, h, micros(now)); err != nil {
			return fmt.Errorf("sqlite: replace recovery codes: %w", err)
		}
	}
	return nil
}

// UseTOTPStep spends step if it is later than the last one spent: one conditional UPDATE.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64, reseal []byte) (bool, error) {
	return s.writeOne(ctx, "use totp step", `UPDATE totp_secrets SET last_step = ?1, secret = coalesce(?2, secret)
		WHERE user_id = ?3 AND confirmed_at IS NOT NULL AND last_step < ?1`, step, reseal, userID)
}

// DisableTOTP removes TOTP and recovery codes and clears mfa_enabled.
func (s *Store) DisableTOTP(ctx context.Context, userID string, now time.Time) (bool, error) {
	var was bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		was, err = removeMFA(ctx, tx, userID)
		if err != nil || !was {
			return err
		}
		_, err = s.updateUser(ctx, tx, userID, now, []string{`mfa_enabled = ?`}, false)
		return err
	})
	return was, err
}

// removeMFA deletes the user's TOTP and recovery codes inside tx and reports whether TOTP was on.
func removeMFA(ctx context.Context, tx *sql.Tx, userID string) (bool, error) {
	var confirmed sql.NullInt64
	err := tx.QueryRowContext(ctx, `DELETE FROM totp_secrets WHERE user_id = ? RETURNING confirmed_at`, userID).Scan(&confirmed)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("sqlite: remove totp: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return false, fmt.Errorf("sqlite: remove recovery codes: %w", err)
	}
	return confirmed.Valid, nil
}

// UseRecoveryCode marks an unused code used: one conditional UPDATE.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) (bool, error) {
	return s.writeOne(ctx, "use recovery code", `UPDATE recovery_codes SET used_at = ?
		WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`, micros(now), userID, hash)
}

// ReplaceRecoveryCodes replaces the codes of a user whose TOTP is on.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte, now time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := exists(ctx, tx, "replace recovery codes",
			`SELECT 1 FROM totp_secrets WHERE user_id = ? AND confirmed_at IS NOT NULL`, userID); err != nil {
			return err
		}
		return replaceCodes(ctx, tx, userID, codes, now)
	})
}

// UnusedRecoveryCodes counts the user's unused recovery codes.
func (s *Store) UnusedRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count recovery codes: %w", err)
	}
	return n, nil
}

// CreateMFAChallenge stores a two-step sign-in's challenge.
func (s *Store) CreateMFAChallenge(ctx context.Context, c auth.MFAChallenge) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO mfa_challenges (token_hash, user_id, security_stamp, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`, c.Hash, c.UserID, c.Stamp, micros(c.CreatedAt), micros(c.ExpiresAt)); err != nil {
			return fmt.Errorf("sqlite: create mfa challenge: %w", err)
		}
		return nil
	})
}

// TakeMFAAttempt counts one attempt against a live challenge: one conditional UPDATE.
func (s *Store) TakeMFAAttempt(ctx context.Context, hash []byte, maxAttempts int, now time.Time) (auth.MFAChallenge, error) {
	var c auth.MFAChallenge
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = times.MFAChallenge(tx.QueryRowContext(ctx, `UPDATE mfa_challenges SET attempts = attempts + 1
			WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? AND attempts < ?
			RETURNING `+sqlshared.ChallengeCols, hash, micros(now), maxAttempts))
		if err != nil {
			return rowErr(err, "mfa attempt")
		}
		return nil
	})
	return c, err
}

// ConsumeMFAChallenge marks a live challenge used: one conditional UPDATE.
func (s *Store) ConsumeMFAChallenge(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	return s.writeOne(ctx, "consume mfa challenge", `UPDATE mfa_challenges SET used_at = ?1
		WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1`, micros(now), hash)
}

// PurgeMFAChallenges deletes at most batch challenges that expired before before.
func (s *Store) PurgeMFAChallenges(ctx context.Context, before time.Time, batch int) (int64, error) {
	return s.deleteBatch(ctx, "purge mfa challenges", `DELETE FROM mfa_challenges WHERE token_hash IN
		(SELECT token_hash FROM mfa_challenges WHERE expires_at < ? LIMIT ?)`, before, batch)
}
