package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/example/gqlauth/auth"
)

// CreateSession inserts sess and its first refresh token hash in one transaction, provided the
// user is enabled and still has the security stamp stamp. The write lock held from BEGIN
// orders it against every ChangeUserSecurity, in this process or another.
func (s *Store) CreateSession(ctx context.Context, sess auth.Session, refresh auth.RefreshHash, stamp int64) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`, refresh_hash, refresh_created_at, refresh_named)
			SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?11, ?12, ?13, ?3, ?14 FROM users
			WHERE id = ?2 AND security_stamp = ?10 AND disabled = 0`,
			sess.ID, sess.UserID, micros(sess.CreatedAt), micros(sess.LastUsedAt), micros(sess.ExpiresAt),
			sess.UserAgent, sess.IPAddress, nullMicros(sess.EndedAt), sess.EndReason, stamp,
			auth.EncodeAMR(sess.AMR), micros(sess.AuthTime), refresh.Sum, refresh.Named())
		if err != nil {
			return fmt.Errorf("sqlite: create session: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: create session: %w", err)
		} else if n == 0 {
			return auth.ErrUserChanged
		}
		return nil
	})
}

// RotateRefreshToken retires old and installs next: one conditional UPDATE of the session row
// that holds the current hash (the trigger sessions_refresh_rotated files the old one among the
// rotated tokens when it names no session; a named one needs no row). The write transaction holds SQLite's write lock from BEGIN
// (IMMEDIATE), so it cannot interleave with another rotation, in this process or another.
//
// Rotations are group-committed: they queue for one goroutine that runs every rotation waiting
// at that moment in one transaction (rotateBatch), so concurrent refreshes share a BEGIN and a
// COMMIT. Each caller returns only after the transaction holding its rotation committed, so an
// acknowledged rotation is as durable as before; alone, a rotation is a batch of one.
func (s *Store) RotateRefreshToken(ctx context.Context, old, next auth.RefreshHash, now time.Time) (auth.Session, error) {
	r := &rotation{ctx: ctx, old: old, next: next, now: now, done: make(chan struct{})}
	select {
	case s.rot.queue <- r:
	case <-s.rot.quit:
		return auth.Session{}, errors.New("sqlite: store closed")
	case <-ctx.Done():
		return auth.Session{}, ctx.Err()
	}
	<-r.done // always: once queued, the rotation may commit, and the answer must say so
	return r.sess, r.err
}

// rotation is one queued RotateRefreshToken call.
type rotation struct {
	ctx       context.Context
	old, next auth.RefreshHash
	now       time.Time

	sess auth.Session
	err  error
	done chan struct{}
}

// rotator is the group-commit queue of rotations.
type rotator struct {
	queue chan *rotation
	quit  chan struct{}
	done  chan struct{}
	stop  sync.Once
}

// maxRotationBatch bounds the rotations in one transaction (and so one commit's latency).
const maxRotationBatch = 64

func (s *Store) startRotator() {
	s.rot.queue, s.rot.quit, s.rot.done = make(chan *rotation), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.rot.done)
		batch := make([]*rotation, 0, maxRotationBatch)
		for {
			select {
			case <-s.rot.quit:
				return
			case r := <-s.rot.queue:
				batch = append(batch[:0], r)
			}
			// Let the callers that are runnable now queue too: one yield turns a burst of
			// concurrent refreshes into one transaction instead of a train of single ones.
			runtime.Gosched()
		collect:
			for len(batch) < maxRotationBatch {
				select {
				case r := <-s.rot.queue:
					batch = append(batch, r)
				default:
					break collect
				}
			}
			s.rotateBatch(batch)
			clear(batch)
		}
	}()
}

func (s *Store) stopRotator() {
	if s.rot.quit == nil {
		return
	}
	s.rot.stop.Do(func() { close(s.rot.quit) })
	<-s.rot.done
}

// rotateBatch runs batch in one write transaction and answers each rotation after the commit.
// A rotation that finds its token unknown, rotated or of an ended session wrote nothing, so the
// others still commit. Any other failure rolls the batch back and runs each rotation on its own,
// as an unbatched rotation would have run.
//
// A batch's transaction runs under no deadline: the callers' own deadlines are not the batch's,
// and with any deadline at all the driver starts a goroutine per statement to interrupt it, and
// database/sql one per query and per transaction (about a sixth of a rotation's allocations and
// a fifth of its bytes). What could wait is bounded all the same: BEGIN IMMEDIATE waits for
// another process's write lock at most busyTimeoutMS; under the write lock the statements are
// lookups by key that wait for nothing, and a WAL commit takes no other lock.
func (s *Store) rotateBatch(batch []*rotation) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	if len(batch) == 1 {
		s.rotateAlone(batch[0])
		return
	}
	ctx := context.Background() // no deadline: see above
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		for _, r := range batch {
			r.err = fmt.Errorf("sqlite: begin: %w", err)
		}
		return
	}
	bound := &txStmts{tx: tx}
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil { // its caller gave up before it ran: nothing written
			r.err = err
			continue
		}
		r.sess, r.err = s.rotateInTx(ctx, bound, r.old, r.next, r.now)
		if r.err != nil && !nothingWritten(r.err) {
			_ = tx.Rollback()
			for _, r := range batch {
				s.rotateAlone(r)
			}
			return
		}
	}
	if err := tx.Commit(); err != nil {
		for _, r := range batch {
			if r.err == nil {
				r.sess, r.err = auth.Session{}, fmt.Errorf("sqlite: commit: %w", err)
			}
		}
	}
}

// rotateAlone runs one rotation in its own transaction.
func (s *Store) rotateAlone(r *rotation) {
	if err := r.ctx.Err(); err != nil {
		r.sess, r.err = auth.Session{}, err
		return
	}
	ctx := context.WithoutCancel(r.ctx) // its values, no deadline: see rotateBatch
	var sess auth.Session
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		sess, err = s.rotateInTx(ctx, &txStmts{tx: tx}, r.old, r.next, r.now)
		return err
	})
	if err != nil {
		sess = auth.Session{}
	}
	r.sess, r.err = sess, err
}

// nothingWritten reports whether err is rotateInTx's answer for a rotation that updated no row.
func nothingWritten(err error) bool {
	var rotated *auth.AlreadyRotatedError
	return errors.Is(err, auth.ErrNotFound) || errors.Is(err, auth.ErrSessionEnded) || errors.As(err, &rotated)
}

// txStmts binds the prepared rotation statements to one transaction on first use, so that the
// rotations of a batch share one binding each (Tx.StmtContext costs a few allocations and
// locks per call). database/sql closes them with the transaction.
type txStmts struct {
	tx               *sql.Tx
	rotate, diagnose *sql.Stmt
}

func (b *txStmts) bind(ctx context.Context, dst **sql.Stmt, prepared *sql.Stmt) *sql.Stmt {
	if *dst == nil {
		*dst = b.tx.StmtContext(ctx, prepared)
	}
	return *dst
}

// rotateInTx is one rotation inside tx's transaction.
func (s *Store) rotateInTx(ctx context.Context, tx *txStmts, old, next auth.RefreshHash, now time.Time) (auth.Session, error) {
	sess, err := scanSession(tx.bind(ctx, &tx.rotate, s.st.rotate).QueryRowContext(ctx, micros(now), old.Sum, next.Sum, next.Named()))
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Session{}, s.whyNotRotated(ctx, tx, old, now)
	}
	if err != nil {
		return auth.Session{}, fmt.Errorf("sqlite: rotate: %w", err)
	}
	return sess, nil
}

// whyNotRotated explains a rotation that updated nothing. A session that is not live wins over
// an already-rotated token: nothing can be minted from it either way, and the caller need not
// treat it as reuse. A named token that is neither current nor filed is a retired one of the
// session it names, retired at the latest when the current token was made.
func (s *Store) whyNotRotated(ctx context.Context, tx *txStmts, old auth.RefreshHash, now time.Time) error {
	var (
		rotated, ended sql.NullInt64
		sid, uid       string
		expires        int64
	)
	err := tx.bind(ctx, &tx.diagnose, s.st.diagnose).QueryRowContext(ctx, old.Sum, old.SessionID).Scan(&rotated, &sid, &uid, &ended, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return auth.ErrNotFound
	case err != nil:
		return fmt.Errorf("sqlite: rotate: %w", err)
	case ended.Valid || expires <= micros(now):
		return auth.ErrSessionEnded
	case rotated.Valid:
		return &auth.AlreadyRotatedError{SessionID: sid, UserID: uid, RotatedAt: fromMicros(rotated.Int64)}
	default:
		// Impossible under the write lock: the UPDATE's conditions are exactly the above.
		return fmt.Errorf("sqlite: rotate: token of session %s neither rotated nor ended", sid)
	}
}

// replaceToken retires the current token of userID's live session sessionID and installs
// next, inside tx (the trigger sessions_refresh_rotated files the old one as rotated at now
// when it names no session); auth.ErrSessionEnded when the session is not live (or not the
// user's).
func (s *Store) replaceToken(ctx context.Context, tx *sql.Tx, userID, sessionID string, next auth.RefreshHash, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE sessions SET refresh_hash = ?1, refresh_created_at = ?2, refresh_named = ?5
		WHERE id = ?3 AND user_id = ?4 AND ended_at IS NULL AND expires_at > ?2`,
		next.Sum, micros(now), sessionID, userID, next.Named())
	if err != nil {
		return fmt.Errorf("sqlite: replace token: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: replace token: %w", err)
	} else if n == 0 {
		return auth.ErrSessionEnded
	}
	return nil
}

// SessionByRefreshHash finds the session of a current or rotated token.
func (s *Store) SessionByRefreshHash(ctx context.Context, hash []byte) (auth.Session, error) {
	return oneSession(s.st.sessionByHash.QueryRowContext(ctx, hash))
}

// SessionByID returns a session, ended or not.
func (s *Store) SessionByID(ctx context.Context, id string) (auth.Session, error) {
	return oneSession(s.st.sessionByID.QueryRowContext(ctx, id))
}

func oneSession(row *sql.Row) (auth.Session, error) {
	sess, err := scanSession(row)
	if err != nil {
		return auth.Session{}, rowErr(err, "session")
	}
	return sess, nil
}

// ListLiveSessions returns sessions not ended and not expired at now, newest first.
func (s *Store) ListLiveSessions(ctx context.Context, userID string, now time.Time) ([]auth.Session, error) {
	rows, err := s.st.liveSessions.QueryContext(ctx, userID, micros(now))
	return listRows(rows, err, "live sessions", scanSession)
}

// EndSession ends a session that has not been ended yet. An expired session is ended too: an
// explicit end must take effect even for access tokens minted just before expiry.
func (s *Store) EndSession(ctx context.Context, id string, reason string, now time.Time) (bool, error) {
	ended := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		var uid string
		err := tx.QueryRowContext(ctx, `UPDATE sessions SET ended_at = ?, end_reason = ?
			WHERE id = ? AND ended_at IS NULL RETURNING user_id`, micros(now), reason, id).Scan(&uid)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sqlite: end session: %w", err)
		}
		ended = true
		return s.appendChange(ctx, tx, auth.ChangeSessionEnded, uid, id, now)
	})
	return ended, err
}

// EndUserSessions ends the user's live sessions except exceptID and returns their ids, sorted.
func (s *Store) EndUserSessions(ctx context.Context, userID, exceptID, reason string, now time.Time) ([]string, error) {
	var ids []string
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = s.endUserSessions(ctx, tx, userID, exceptID, reason, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// endUserSessions is EndUserSessions inside tx.
func (s *Store) endUserSessions(ctx context.Context, tx *sql.Tx, userID, exceptID, reason string, now time.Time) ([]string, error) {
	var ids []string
	rows, err := tx.QueryContext(ctx, `UPDATE sessions SET ended_at = ?1, end_reason = ?2
		WHERE user_id = ?3 AND id <> ?4 AND ended_at IS NULL AND expires_at > ?1
		RETURNING id`, micros(now), reason, userID, exceptID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: end user sessions: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: end user sessions: %w", err)
		}
		ids = append(ids, id)
	}
	// Finish reading before the next statement on this connection.
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("sqlite: end user sessions: %w", err)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := s.appendChange(ctx, tx, auth.ChangeSessionEnded, userID, id, now); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
