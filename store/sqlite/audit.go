package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/internal/sqlshared"
)

const auditCols = sqlshared.AuditCols

// AppendAudit stores events in one write transaction. Writers are serialised by SQLite, so
// seq order is commit order.
func (s *Store) AppendAudit(ctx context.Context, events []auth.Event) error {
	if len(events) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		ins := tx.StmtContext(ctx, s.st.addAudit)
		for _, e := range events {
			if _, err := ins.ExecContext(ctx, string(e.Type), micros(e.At), e.UserID, e.SessionID,
				e.IPAddress, e.UserAgent, e.Reason); err != nil {
				return fmt.Errorf("sqlite: append audit: %w", err)
			}
		}
		return nil
	})
}

// ListAudit returns entries with Seq < beforeSeq (any when beforeSeq <= 0), newest first, of
// userID when it is not empty.
func (s *Store) ListAudit(ctx context.Context, userID string, beforeSeq int64, limit int) ([]auth.AuditEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	beforeSeq = sqlshared.SeqBefore(beforeSeq)
	// Two statements rather than `?1 = '' OR user_id = ?1`, which would keep SQLite from
	// using the (user_id, seq) index.
	if userID == "" {
		return s.queryAudit(ctx, `SELECT `+auditCols+` FROM audit_events WHERE seq < ? ORDER BY seq DESC LIMIT ?`, beforeSeq, limit)
	}
	return s.queryAudit(ctx, `SELECT `+auditCols+` FROM audit_events WHERE user_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
		userID, beforeSeq, limit)
}

// AuditAfter returns entries with Seq > afterSeq, in Seq order.
func (s *Store) AuditAfter(ctx context.Context, afterSeq int64, limit int) ([]auth.AuditEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.queryStmtAudit(ctx, s.st.auditAfter, afterSeq, limit)
}

func (s *Store) queryAudit(ctx context.Context, query string, args ...any) ([]auth.AuditEntry, error) {
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	return listRows(rows, err, "audit", times.AuditEntry)
}

func (s *Store) queryStmtAudit(ctx context.Context, stmt *sql.Stmt, args ...any) ([]auth.AuditEntry, error) {
	rows, err := stmt.QueryContext(ctx, args...)
	return listRows(rows, err, "audit", times.AuditEntry)
}

// PurgeAudit deletes at most batch entries older than before, oldest first.
func (s *Store) PurgeAudit(ctx context.Context, before time.Time, batch int) (int64, error) {
	return s.deleteBatch(ctx, "purge audit", `DELETE FROM audit_events WHERE seq IN
		(SELECT seq FROM audit_events WHERE at < ? ORDER BY at LIMIT ?)`, before, batch)
}

// deleteBatch runs one bounded DELETE in its own write transaction, so the writer lock is held
// only for one batch.
func (s *Store) deleteBatch(ctx context.Context, what, query string, before time.Time, batch int) (int64, error) {
	if batch <= 0 { // SQLite reads a negative LIMIT as none
		return 0, nil
	}
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, micros(before), batch)
		if err != nil {
			return fmt.Errorf("sqlite: %s: %w", what, err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
