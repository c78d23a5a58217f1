package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/jackc/pgx/v5"
)

const sessionCols = `id, user_id, created_at, last_used_at, expires_at, user_agent, ip_address, ended_at, end_reason, amr, auth_time`

func scanSession(row pgx.Row) (auth.Session, error) {
	var (
		s     auth.Session
		ended *time.Time
		amr   string
	)
	if err := row.Scan(&s.ID, &s.UserID, &s.CreatedAt, &s.LastUsedAt, &s.ExpiresAt, &s.UserAgent, &s.IPAddress, &ended, &s.EndReason, &amr, &s.AuthTime); err != nil {
		return auth.Session{}, err
	}
	s.CreatedAt, s.LastUsedAt, s.ExpiresAt, s.AuthTime = utc(s.CreatedAt), utc(s.LastUsedAt), utc(s.ExpiresAt), utc(s.AuthTime)
	s.AMR = auth.DecodeAMR(amr)
	s.EndedAt = fromNullTime(ended)
	return s, nil
}

// CreateSession inserts sess and its first refresh token hash in one statement, provided the
// user is enabled and still has the security stamp stamp. FOR SHARE conflicts with the row lock
// of ChangeUserSecurity's UPDATE: while a change is in progress the statement waits for it and
// then re-checks the stamp on the committed row (READ COMMITTED re-evaluates a locked row), and
// while this statement holds the row the change waits, then ends the committed session. The
// foreign key's own lock (FOR KEY SHARE) would not conflict with an UPDATE of other columns.
func (s *Store) CreateSession(ctx context.Context, sess auth.Session, refresh auth.RefreshHash, stamp int64) error {
	tag, err := s.pool.Exec(ctx, `WITH u AS (
			SELECT id FROM users WHERE id = $2 AND security_stamp = $11 AND NOT disabled FOR SHARE
		), s AS (
			INSERT INTO sessions (`+sessionCols+`) SELECT $1, id, $3, $4, $5, $6, $7, $8, $9, $12, $13 FROM u RETURNING id
		)
		INSERT INTO refresh_tokens (hash, session_id, created_at) SELECT $10, id, $3 FROM s`,
		sess.ID, sess.UserID, sess.CreatedAt, sess.LastUsedAt, sess.ExpiresAt, sess.UserAgent, sess.IPAddress,
		nullTime(sess.EndedAt), sess.EndReason, refresh.Sum, stamp, auth.EncodeAMR(sess.AMR), sess.AuthTime)
	if err != nil {
		return fmt.Errorf("postgres: create session: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return auth.ErrUserChanged
	}
	return nil
}

// lockSessionSQL locks the session row before any token of it changes. Rotation, replacement
// and ending all take the session lock first (ending and replacement after the change-log
// lock), so they serialise per session without lock-order deadlocks, and a token retired by
// replaceToken cannot race a rotation into two current tokens.
const lockSessionSQL = `SELECT id, user_id, ended_at, expires_at FROM sessions WHERE id = %s FOR UPDATE`

// RotateRefreshToken retires old with a conditional UPDATE (WHERE rotated_at IS NULL), so of
// concurrent rotations of one token exactly one updates a row; the rest see it rotated. Every
// token keeps its row, named or not, so a retired one is always found by its hash.
func (s *Store) RotateRefreshToken(ctx context.Context, old, next auth.RefreshHash, now time.Time) (auth.Session, error) {
	oldHash, newHash := old.Sum, next.Sum
	var sess auth.Session
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var (
			sid, uid string
			ended    *time.Time
			expires  time.Time
		)
		err := tx.QueryRow(ctx, fmt.Sprintf(lockSessionSQL, `(SELECT session_id FROM refresh_tokens WHERE hash = $1)`),
			oldHash).Scan(&sid, &uid, &ended, &expires)
		if errors.Is(err, pgx.ErrNoRows) {
			return auth.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("postgres: rotate: %w", err)
		}
		// A session that is not live wins over an already-rotated token: nothing can be minted
		// from it either way, and the caller need not treat it as reuse.
		if ended != nil || !now.Before(expires) {
			return auth.ErrSessionEnded
		}
		sess, err = scanSession(tx.QueryRow(ctx, `WITH r AS (
				UPDATE refresh_tokens SET rotated_at = $3 WHERE hash = $1 AND rotated_at IS NULL RETURNING session_id
			), n AS (
				INSERT INTO refresh_tokens (hash, session_id, created_at) SELECT $2, session_id, $3 FROM r
			)
			UPDATE sessions SET last_used_at = $3 WHERE id = (SELECT session_id FROM r) RETURNING `+sessionCols,
			oldHash, newHash, now))
		if errors.Is(err, pgx.ErrNoRows) {
			var rotatedAt time.Time
			if err := tx.QueryRow(ctx, `SELECT rotated_at FROM refresh_tokens WHERE hash = $1`, oldHash).Scan(&rotatedAt); err != nil {
				return fmt.Errorf("postgres: rotate: %w", err)
			}
			return &auth.AlreadyRotatedError{SessionID: sid, UserID: uid, RotatedAt: utc(rotatedAt)}
		}
		if err != nil {
			return fmt.Errorf("postgres: rotate: %w", err)
		}
		return nil
	})
	if err != nil {
		return auth.Session{}, err
	}
	return sess, nil
}

// replaceToken retires the current token of userID's live session sessionID and installs
// newHash, inside tx; auth.ErrSessionEnded when the session is not live (or not the user's).
func replaceToken(ctx context.Context, tx pgx.Tx, userID, sessionID string, next auth.RefreshHash, now time.Time) error {
	newHash := next.Sum
	var (
		sid, uid string
		ended    *time.Time
		expires  time.Time
	)
	err := tx.QueryRow(ctx, fmt.Sprintf(lockSessionSQL, `$1`), sessionID).Scan(&sid, &uid, &ended, &expires)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && (uid != userID || ended != nil || !now.Before(expires)) {
		return auth.ErrSessionEnded
	}
	if err != nil {
		return fmt.Errorf("postgres: replace token: %w", err)
	}
	// Two statements, in this order: the partial unique index allows one current token.
	if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET rotated_at = $2 WHERE session_id = $1 AND rotated_at IS NULL`,
		sessionID, now); err != nil {
		return fmt.Errorf("postgres: replace token: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES ($1, $2, $3)`,
		newHash, sessionID, now); err != nil {
		return fmt.Errorf("postgres: replace token: %w", err)
	}
	return nil
}

// SessionByRefreshHash finds the session of a current or rotated token.
func (s *Store) SessionByRefreshHash(ctx context.Context, hash []byte) (auth.Session, error) {
	return oneSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE id = (SELECT session_id FROM refresh_tokens WHERE hash = $1)`, hash))
}

// SessionByID returns a session, ended or not.
func (s *Store) SessionByID(ctx context.Context, id string) (auth.Session, error) {
	return oneSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = $1`, id))
}

func oneSession(row pgx.Row) (auth.Session, error) { return one(row, scanSession, "session") }

// one scans a single row, translating "no rows" into auth.ErrNotFound.
func one[T any](row pgx.Row, scan func(pgx.Row) (T, error), what string) (T, error) {
	v, err := scan(row)
	if errors.Is(err, pgx.ErrNoRows) {
		var zero T
		return zero, auth.ErrNotFound
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return v, nil
}

// ListLiveSessions returns sessions not ended and not expired at now, newest first.
func (s *Store) ListLiveSessions(ctx context.Context, userID string, now time.Time) ([]auth.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE user_id = $1 AND ended_at IS NULL AND expires_at > $2
		ORDER BY created_at DESC, id DESC`, userID, now)
	return listRows(rows, err, "live sessions", scanSession)
}

// endSQL ends the sessions matched by a WHERE clause and logs one entry per session, in id
// order, returning the ended ids.
const endSQL = `WITH e AS (
		UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE %s RETURNING id, user_id
	), c AS (
		INSERT INTO changes (kind, user_id, session_id, at)
		SELECT '` + string(auth.ChangeSessionEnded) + `', user_id, id, $1 FROM e ORDER BY id
		RETURNING session_id
	)
	SELECT session_id FROM c ORDER BY session_id`

func (s *Store) endSessions(ctx context.Context, where string, args ...any) ([]string, error) {
	var ids []string
	err := s.changeTx(ctx, func(tx pgx.Tx) error {
		var err error
		ids, err = endSessionsInTx(ctx, tx, where, args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// endSessionsInTx runs endSQL inside tx, a change-log transaction.
func endSessionsInTx(ctx context.Context, tx pgx.Tx, where string, args ...any) ([]string, error) {
	rows, err := tx.Query(ctx, fmt.Sprintf(endSQL, where), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: end sessions: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: end sessions: %w", err)
	}
	return ids, nil
}

// EndSession ends a session that has not been ended yet. An expired session is ended too: an
// explicit end must take effect even for access tokens minted just before expiry.
func (s *Store) EndSession(ctx context.Context, id string, reason string, now time.Time) (bool, error) {
	ids, err := s.endSessions(ctx, `id = $3 AND ended_at IS NULL`, now, reason, id)
	return len(ids) > 0, err
}

// EndUserSessions ends the user's live sessions except exceptID and returns their ids, sorted.
func (s *Store) EndUserSessions(ctx context.Context, userID, exceptID, reason string, now time.Time) ([]string, error) {
	return s.endSessions(ctx, `user_id = $3 AND id <> $4 AND ended_at IS NULL AND expires_at > $1`, now, reason, userID, exceptID)
}
