package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/example/gqlauth/auth"
	"github.com/example/gqlauth/store/internal/sqlshared"
	"github.com/jackc/pgx/v5"
)

// auditLock is the advisory lock every audit writer holds until it commits, for the reason
// changeLogLock exists (changes.go): it makes seq order commit order, so a poller reading
// AuditAfter(last) never skips a row that commits late.
const auditLock int64 = 0x6761_7574_685f_6175 // "gauth_au"

const auditCols = sqlshared.AuditCols

// AppendAudit stores events in one transaction and one statement, in order.
func (s *Store) AppendAudit(ctx context.Context, events []auth.Event) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	var (
		types   = make([]string, n)
		ats     = make([]time.Time, n)
		users   = make([]string, n)
		sids    = make([]string, n)
		ips     = make([]string, n)
		agents  = make([]string, n)
		reasons = make([]string, n)
	)
	for i, e := range events {
		types[i], ats[i], users[i], sids[i] = string(e.Type), e.At, e.UserID, e.SessionID
		ips[i], agents[i], reasons[i] = e.IPAddress, e.UserAgent, e.Reason
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, auditLock); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO audit_events (type, at, user_id, session_id, ip_address, user_agent, reason)
			SELECT t, a, u, s, i, ua, r
			FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
				WITH ORDINALITY AS x(t, a, u, s, i, ua, r, n)
			ORDER BY n`, types, ats, users, sids, ips, agents, reasons)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: append audit: %w", err)
	}
	return nil
}

// ListAudit returns entries with Seq < beforeSeq (any when beforeSeq <= 0), newest first, of
// userID when it is not empty.
func (s *Store) ListAudit(ctx context.Context, userID string, beforeSeq int64, limit int) ([]auth.AuditEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	beforeSeq = sqlshared.SeqBefore(beforeSeq)
	if userID == "" {
		return s.queryAudit(ctx, `SELECT `+auditCols+` FROM audit_events WHERE seq < $1 ORDER BY seq DESC LIMIT $2`,
			beforeSeq, limit)
	}
	return s.queryAudit(ctx, `SELECT `+auditCols+` FROM audit_events WHERE user_id = $1 AND seq < $2
		ORDER BY seq DESC LIMIT $3`, userID, beforeSeq, limit)
}

// AuditAfter returns entries with Seq > afterSeq, in Seq order.
func (s *Store) AuditAfter(ctx context.Context, afterSeq int64, limit int) ([]auth.AuditEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	return s.queryAudit(ctx, `SELECT `+auditCols+` FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`, afterSeq, limit)
}

func (s *Store) queryAudit(ctx context.Context, query string, args ...any) ([]auth.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	return listRows(rows, err, "audit", func(r pgx.Row) (auth.AuditEntry, error) { return times.AuditEntry(r) })
}

// PurgeAudit deletes at most batch entries older than before, oldest first.
func (s *Store) PurgeAudit(ctx context.Context, before time.Time, batch int) (int64, error) {
	return s.deleteBatch(ctx, "purge audit", `DELETE FROM audit_events WHERE seq IN
		(SELECT seq FROM audit_events WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, batch)
}

// deleteBatch runs one bounded DELETE. The inner SELECT skips rows another instance is
// deleting at the same time, so concurrent purges share the work instead of queueing.
func (s *Store) deleteBatch(ctx context.Context, what, query string, before time.Time, batch int) (int64, error) {
	if batch <= 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, query, before, batch)
	if err != nil {
		return 0, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return tag.RowsAffected(), nil
}
