package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/example/gqlauth/auth"
)

// appendChange adds a change log entry inside the caller's write transaction. Writers are
// serialised by SQLite, so seq order is commit order and pollers reading seq > last miss nothing.
func (s *Store) appendChange(ctx context.Context, tx *sql.Tx, kind auth.ChangeKind, userID, sessionID string, at time.Time) error {
	if _, err := tx.StmtContext(ctx, s.st.addChange).ExecContext(ctx, string(kind), userID, sessionID, micros(at)); err != nil {
		return fmt.Errorf("sqlite: append change: %w", err)
	}
	return nil
}

// ChangesAfter returns up to limit entries with Seq > afterSeq and At >= notBefore, in Seq order.
func (s *Store) ChangesAfter(ctx context.Context, afterSeq int64, notBefore time.Time, limit int) ([]auth.Change, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.st.changesAfter.QueryContext(ctx, afterSeq, micros(notBefore), limit)
	return listRows(rows, err, "changes", times.Change)
}

// LatestChangeSeq reads AUTOINCREMENT's counter, which is written in the appending
// transaction, so it names committed entries only and survives the log being emptied.
func (s *Store) LatestChangeSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)`).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("sqlite: latest change: %w", err)
	}
	return seq, nil
}

// PurgeChanges deletes at most batch entries with At before before, oldest first.
func (s *Store) PurgeChanges(ctx context.Context, before time.Time, batch int) (int64, error) {
	return s.deleteBatch(ctx, "purge changes", `DELETE FROM changes WHERE seq IN
		(SELECT seq FROM changes WHERE at < ? ORDER BY at LIMIT ?)`, before, batch)
}
