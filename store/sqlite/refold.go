package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/internal/sqlshared"
)

const storedEmailCols = sqlshared.StoredEmailCols

// refoldEmails is the auth.EmailRefoldMigration step: it brings every stored email to
// auth.NormalizeEmail's current form as auth.PlanEmailRefold decides, and appends a ChangeUser
// entry for each account it changes, so running instances drop their cached copies. It runs
// in the migration's write transaction, so no other writer interleaves.
func refoldEmails(ctx context.Context, tx *sql.Tx, log *slog.Logger) error {
	var scan auth.EmailRefoldScan
	if err := scanEmails(ctx, tx, &scan); err != nil {
		return err
	}
	for _, target := range scan.Targets() { // the accounts already holding a target take part too
		a, err := times.StoredEmail(tx.QueryRowContext(ctx, `SELECT `+storedEmailCols+` FROM users WHERE email = ?`, target))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("refold emails: %w", err)
		}
		scan.AddHolder(a)
	}
	plan := scan.Plan()
	now := micros(time.Now())
	for _, u := range plan.Updates {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET email = ?, updated_at = ? WHERE id = ?`, u.Email, now, u.UserID); err != nil {
			return fmt.Errorf("refold emails: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO changes (kind, user_id, at) VALUES (?, ?, ?)`,
			string(auth.ChangeUser), u.UserID, now); err != nil {
			return fmt.Errorf("refold emails: %w", err)
		}
	}
	plan.Warn(log)
	return nil
}

// scanEmails passes every account to scan.
func scanEmails(ctx context.Context, tx *sql.Tx, scan *auth.EmailRefoldScan) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+storedEmailCols+` FROM users`)
	if err != nil {
		return fmt.Errorf("refold emails: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := times.StoredEmail(rows)
		if err != nil {
			return fmt.Errorf("refold emails: %w", err)
		}
		scan.Add(a)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("refold emails: %w", err)
	}
	return nil
}
