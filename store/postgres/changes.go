package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/internal/sqlshared"
	"github.com/jackc/pgx/v5"
)

// changeLogLock is the advisory lock every change-log writer holds until it commits. A
// sequence hands out values in call order but transactions commit in any order, so without it
// a poller could read seq 12 before seq 11 commits and, remembering 12, skip 11 forever.
// Holding one lock from before nextval until commit makes seq order commit order.
const changeLogLock int64 = 0x6761_7574_685f_6c67 // "gauth_lg"

// changeTx runs fn in a transaction that appends to the change log. The lock must be the
// transaction's first action: taking it after a row lock could deadlock with a writer that
// holds the lock and waits for that row.
func (s *Store) changeTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, changeLogLock); err != nil {
			return fmt.Errorf("postgres: change log lock: %w", err)
		}
		return fn(tx)
	})
}

// ChangesAfter returns up to limit entries with Seq > afterSeq and At >= notBefore, in Seq order.
func (s *Store) ChangesAfter(ctx context.Context, afterSeq int64, notBefore time.Time, limit int) ([]auth.Change, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+sqlshared.ChangeCols+` FROM changes
		WHERE seq > $1 AND at >= $2 ORDER BY seq LIMIT $3`, afterSeq, notBefore, limit)
	return listRows(rows, err, "changes", func(r pgx.Row) (auth.Change, error) { return times.Change(r) })
}

// LatestChangeSeq is the highest committed seq. Not the sequence's last_value: a writer may
// have drawn a value it has not committed yet, which a reader after it could then miss.
func (s *Store) LatestChangeSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM changes`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("postgres: latest change: %w", err)
	}
	return seq, nil
}

// PurgeChanges deletes at most batch entries with At before before, oldest first.
func (s *Store) PurgeChanges(ctx context.Context, before time.Time, batch int) (int64, error) {
	return s.deleteBatch(ctx, "purge changes", `DELETE FROM changes WHERE seq IN
		(SELECT seq FROM changes WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, batch)
}
