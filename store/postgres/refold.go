package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/internal/sqlshared"
	"github.com/jackc/pgx/v5"
)

const storedEmailCols = sqlshared.StoredEmailCols

// refoldEmails is the auth.EmailRefoldMigration step: it brings every stored email to
// auth.NormalizeEmail's current form as auth.PlanEmailRefold decides, and appends a ChangeUser
// entry for each account it changes, so running instances drop their cached copies.
//
// Instances of an older version may be running on the same database, so the step locks out
// writers of users (readers go on) until it commits: otherwise an account registered between
// the scan and the updates could take a target address and fail the start. The change-log
// lock comes first, as for every change-log writer (changes.go).
func refoldEmails(ctx context.Context, tx pgx.Tx, log *slog.Logger) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, changeLogLock); err != nil {
		return fmt.Errorf("refold emails: change log lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("refold emails: %w", err)
	}
	var scan auth.EmailRefoldScan
	if err := scanEmails(ctx, tx, &scan); err != nil {
		return err
	}
	for _, target := range scan.Targets() { // the accounts already holding a target take part too
		a, err := times.StoredEmail(tx.QueryRow(ctx, `SELECT `+storedEmailCols+` FROM users WHERE email = $1`, target))
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("refold emails: %w", err)
		}
		scan.AddHolder(a)
	}
	plan := scan.Plan()
	now := time.Now()
	for _, u := range plan.Updates {
		if _, err := tx.Exec(ctx, `WITH u AS (UPDATE users SET email = $2, updated_at = $3 WHERE id = $1 RETURNING id)
			INSERT INTO changes (kind, user_id, at) SELECT '`+string(auth.ChangeUser)+`', id, $3 FROM u`,
			u.UserID, u.Email, now); err != nil {
			return fmt.Errorf("refold emails: %w", err)
		}
	}
	plan.Warn(log)
	return nil
}

// scanEmails passes every account to scan.
func scanEmails(ctx context.Context, tx pgx.Tx, scan *auth.EmailRefoldScan) error {
	rows, err := tx.Query(ctx, `SELECT `+storedEmailCols+` FROM users`)
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
