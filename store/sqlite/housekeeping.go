package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// dueSessions selects sessions that ended, or expired while live, before ?1. Each disjunct
// matches one partial index of 0004_audit.sql.
const dueSessions = `SELECT id FROM sessions WHERE ended_at < ?1
	UNION ALL SELECT id FROM sessions WHERE ended_at IS NULL AND expires_at < ?1`

// PurgeSessions deletes at most batch rows: first refresh tokens of (at most batch) due
// sessions (rotated ones, then current ones), then, once those have none left, the sessions
// themselves. Tokens go first and in bounded numbers because a long session can have thousands
// of rotated ones, which a cascade would delete in one go.
func (s *Store) PurgeSessions(ctx context.Context, before time.Time, batch int) (int64, error) {
	if batch <= 0 {
		return 0, nil
	}
	var total int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE hash IN
			(SELECT hash FROM refresh_tokens WHERE session_id IN (`+dueSessions+` LIMIT ?2) LIMIT ?2)`, micros(before), batch)
		if err != nil {
			return fmt.Errorf("sqlite: purge refresh tokens: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		total = n
		if n >= int64(batch) {
			return nil
		}
		// A session's current token lives on its row; it is cleared, and counted, as a row of
		// its own, as when it was a row of refresh_tokens.
		res, err = tx.ExecContext(ctx, `UPDATE sessions SET refresh_hash = NULL WHERE id IN
			(SELECT id FROM (`+dueSessions+`) WHERE id IN (SELECT id FROM sessions WHERE refresh_hash IS NOT NULL) LIMIT ?2)`,
			micros(before), int64(batch)-n)
		if err != nil {
			return fmt.Errorf("sqlite: purge refresh tokens: %w", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		total += n
		if total >= int64(batch) {
			return nil
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE id IN (`+dueSessions+` LIMIT ?2)`,
			micros(before), int64(batch)-total)
		if err != nil {
			return fmt.Errorf("sqlite: purge sessions: %w", err)
		}
		n, err = res.RowsAffected()
		total += n
		return err
	})
	return total, err
}

// CountLiveSessions counts sessions not ended and not expired at now.
func (s *Store) CountLiveSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE ended_at IS NULL AND expires_at > ?`,
		micros(now)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count live sessions: %w", err)
	}
	return n, nil
}
