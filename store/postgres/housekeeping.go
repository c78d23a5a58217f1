package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/example/gqlauth/auth"
)

var _ auth.HousekeepingLocker = (*Store)(nil)

// housekeepingLockClass is the first key of the session-level advisory lock one instance holds
// while it purges; the second is a hash of the schema, as for migrations.
const housekeepingLockClass = 0x6768 // "gh"

// TryHousekeepingLock takes the housekeeping lock on a dedicated pooled connection if no other
// instance holds it. release unlocks and returns the connection.
func (s *Store) TryHousekeepingLock(ctx context.Context) (func(), bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: housekeeping lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext(coalesce(current_schema(), '')))`,
		housekeepingLockClass).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("postgres: housekeeping lock: %w", err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	release := func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1, hashtext(coalesce(current_schema(), '')))`,
			housekeepingLockClass); err != nil {
			conn.Conn().Close(uctx) // closing the session releases its locks
		}
		conn.Release()
	}
	return release, true, nil
}

// dueSessions selects sessions that ended, or expired while live, before $1 (each disjunct
// matches one partial index of 0004_audit.sql).
const dueSessions = `SELECT id FROM sessions WHERE ended_at < $1 OR (ended_at IS NULL AND expires_at < $1)`

// PurgeSessions deletes at most batch rows: first refresh tokens of (at most batch) due
// sessions, then, once those have none left, the sessions themselves. Tokens go first and in bounded numbers because
// a long session can have thousands of rotated ones, which a cascade would delete in one go.
func (s *Store) PurgeSessions(ctx context.Context, before time.Time, batch int) (int64, error) {
	if batch <= 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM refresh_tokens WHERE hash IN
		(SELECT hash FROM refresh_tokens WHERE session_id IN (`+dueSessions+` LIMIT $2) LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		before, batch)
	if err != nil {
		return 0, fmt.Errorf("postgres: purge refresh tokens: %w", err)
	}
	n := tag.RowsAffected()
	if n >= int64(batch) {
		return n, nil
	}
	tag, err = s.pool.Exec(ctx, `DELETE FROM sessions WHERE id IN
		(`+dueSessions+` LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, int64(batch)-n)
	if err != nil {
		return n, fmt.Errorf("postgres: purge sessions: %w", err)
	}
	return n + tag.RowsAffected(), nil
}

// CountLiveSessions counts sessions not ended and not expired at now.
func (s *Store) CountLiveSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE ended_at IS NULL AND expires_at > $1`,
		now).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count live sessions: %w", err)
	}
	return n, nil
}
