package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/internal/sqlshared"
	"github.com/jackc/pgx/v5"
)

// Second factors (auth.MFAStore). Each "use" is one UPDATE whose WHERE re-checks the condition
// after waiting for a concurrent writer of the row (READ COMMITTED), so of two racing uses at
// most one matches.

// TOTPOf returns the user's TOTP, pending or on; auth.ErrNotFound when there is none.
func (s *Store) TOTPOf(ctx context.Context, userID string) (auth.TOTP, error) {
	t, err := times.TOTP(s.pool.QueryRow(ctx, `SELECT `+sqlshared.TOTPCols+` FROM totp_secrets WHERE user_id = $1`, userID))
	if err != nil {
		return auth.TOTP{}, rowErr(err, "totp")
	}
	return t, nil
}

// BeginTOTP stores a pending TOTP, replacing a pending one but never one that is on: the upsert
// only updates a row whose confirmed_at is NULL.
func (s *Store) BeginTOTP(ctx context.Context, userID string, secret []byte, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO totp_secrets (user_id, secret, created_at)
		SELECT id, $2, $3 FROM users WHERE id = $1
		ON CONFLICT (user_id) DO UPDATE SET secret = $2, created_at = $3, last_step = 0
		WHERE totp_secrets.confirmed_at IS NULL`, userID, secret, now)
	if err != nil {
		return fmt.Errorf("postgres: begin totp: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	// Nothing written: an unknown user, or TOTP is on.
	var on bool
	err = s.pool.QueryRow(ctx, `SELECT confirmed_at IS NOT NULL FROM totp_secrets WHERE user_id = $1`, userID).Scan(&on)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return auth.ErrNotFound
	case err != nil:
		return fmt.Errorf("postgres: begin totp: %w", err)
	case on:
		return auth.ErrTOTPEnabled
	}
	return auth.ErrNotFound
}

// EnableTOTP confirms the pending TOTP, replaces the recovery codes and sets mfa_enabled, in
// one change-log transaction.
func (s *Store) EnableTOTP(ctx context.Context, userID string, secret []byte, step int64, codes [][]byte, now time.Time) (auth.User, error) {
	var u auth.User
	err := s.changeTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE totp_secrets SET confirmed_at = $2, last_step = $3
			WHERE user_id = $1 AND confirmed_at IS NULL AND secret = $4`, userID, now, step, secret)
		if err != nil {
			return fmt.Errorf("postgres: enable totp: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return auth.ErrNotFound
		}
		if err := replaceCodes(ctx, tx, userID, codes, now); err != nil {
			return err
		}
		u, err = updateUser(ctx, tx, userID, now, `mfa_enabled = true`)
		return err
	})
	return u, err
}

func replaceCodes(ctx context.Context, tx pgx.Tx, userID string, codes [][]byte, now time.Time) error {
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("postgres: replace recovery codes: %w", err)
	}
	if len(codes) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at)
		SELECT $1, h, $3 FROM unnest($2::bytea[]) AS h`, userID, codes, now); err != nil {
		return fmt.Errorf("postgres: replace recovery codes: %w", err)
	}
	return nil
}

// UseTOTPStep spends step if it is later than the last one spent: one conditional UPDATE.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64, reseal []byte) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE totp_secrets SET last_step = $2, secret = coalesce($3, secret)
		WHERE user_id = $1 AND confirmed_at IS NOT NULL AND last_step < $2`, userID, step, reseal)
	if err != nil {
		return false, fmt.Errorf("postgres: use totp step: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// DisableTOTP removes TOTP and recovery codes and clears mfa_enabled.
func (s *Store) DisableTOTP(ctx context.Context, userID string, now time.Time) (bool, error) {
	var was bool
	err := s.changeTx(ctx, func(tx pgx.Tx) error {
		var err error
		was, err = removeMFA(ctx, tx, userID)
		if err != nil || !was {
			return err
		}
		_, err = updateUser(ctx, tx, userID, now, `mfa_enabled = false`)
		return err
	})
	return was, err
}

// removeMFA deletes the user's TOTP and recovery codes inside tx and reports whether TOTP was on.
func removeMFA(ctx context.Context, tx pgx.Tx, userID string) (bool, error) {
	var on bool
	err := tx.QueryRow(ctx, `DELETE FROM totp_secrets WHERE user_id = $1 RETURNING confirmed_at IS NOT NULL`, userID).Scan(&on)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("postgres: remove totp: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return false, fmt.Errorf("postgres: remove recovery codes: %w", err)
	}
	return on, nil
}

// UseRecoveryCode marks an unused code used: one conditional UPDATE.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE recovery_codes SET used_at = $3
		WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`, userID, hash, now)
	if err != nil {
		return false, fmt.Errorf("postgres: use recovery code: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReplaceRecoveryCodes replaces the codes of a user whose TOTP is on. The TOTP row is locked
// first, so a DisableTOTP cannot slip between the check and the insert.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codes [][]byte, now time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM totp_secrets WHERE user_id = $1 AND confirmed_at IS NOT NULL FOR UPDATE`, userID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return auth.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("postgres: replace recovery codes: %w", err)
		}
		return replaceCodes(ctx, tx, userID, codes, now)
	})
}

// UnusedRecoveryCodes counts the user's unused recovery codes.
func (s *Store) UnusedRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: count recovery codes: %w", err)
	}
	return n, nil
}

// CreateMFAChallenge stores a two-step sign-in's challenge.
func (s *Store) CreateMFAChallenge(ctx context.Context, c auth.MFAChallenge) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO mfa_challenges (token_hash, user_id, security_stamp, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, c.Hash, c.UserID, c.Stamp, c.CreatedAt, c.ExpiresAt); err != nil {
		return fmt.Errorf("postgres: create mfa challenge: %w", err)
	}
	return nil
}

// TakeMFAAttempt counts one attempt against a live challenge: one conditional UPDATE.
func (s *Store) TakeMFAAttempt(ctx context.Context, hash []byte, maxAttempts int, now time.Time) (auth.MFAChallenge, error) {
	c, err := times.MFAChallenge(s.pool.QueryRow(ctx, `UPDATE mfa_challenges SET attempts = attempts + 1
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < $3
		RETURNING `+sqlshared.ChallengeCols, hash, now, maxAttempts))
	if err != nil {
		return auth.MFAChallenge{}, rowErr(err, "mfa attempt")
	}
	return c, nil
}

// ConsumeMFAChallenge marks a live challenge used: one conditional UPDATE.
func (s *Store) ConsumeMFAChallenge(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE mfa_challenges SET used_at = $2
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`, hash, now)
	if err != nil {
		return false, fmt.Errorf("postgres: consume mfa challenge: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// PurgeMFAChallenges deletes at most batch challenges that expired before before.
func (s *Store) PurgeMFAChallenges(ctx context.Context, before time.Time, batch int) (int64, error) {
	return s.deleteBatch(ctx, "purge mfa challenges", `DELETE FROM mfa_challenges WHERE token_hash IN
		(SELECT token_hash FROM mfa_challenges WHERE expires_at < $1 LIMIT $2)`, before, batch)
}
