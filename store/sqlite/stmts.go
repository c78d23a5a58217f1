package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/example/gqlauth/store/internal/sqlshared"
)

// stmts are the hot statements, prepared once. Write statements are prepared on the single
// writer connection and bound to a transaction with tx.StmtContext, which reuses the prepared
// handle; read statements are prepared on the read pool (database/sql prepares them lazily on
// each pooled connection). Parsing SQL costs about as much as running these small statements.
type stmts struct {
	// writes (rotation)
	rotate    *sql.Stmt
	diagnose  *sql.Stmt
	addChange *sql.Stmt
	addAudit  *sql.Stmt

	// reads
	userByID      *sql.Stmt
	userByEmail   *sql.Stmt
	sessionByID   *sql.Stmt
	sessionByHash *sql.Stmt
	liveSessions  *sql.Stmt
	changesAfter  *sql.Stmt
	auditAfter    *sql.Stmt
}

func (st *stmts) prepare(ctx context.Context, wdb, rdb *sql.DB) error {
	list := []struct {
		db  *sql.DB
		dst **sql.Stmt
		sql string
	}{
		// Swaps the session's current hash ?2 for ?3 (naming the session when ?4) and touches
		// it, only while the session is live; the trigger sessions_refresh_rotated files ?2 as
		// rotated at ?1 when it named none. The caller diagnoses zero rows.
		{wdb, &st.rotate, `UPDATE sessions SET refresh_hash = ?3, refresh_created_at = ?1, last_used_at = ?1, refresh_named = ?4
			WHERE refresh_hash = ?2 AND ended_at IS NULL AND expires_at > ?1
			RETURNING ` + sessionCols},
		// A current token first (rotated_at NULL), else a filed rotated one, else, for a token
		// naming session ?2 (not ''), that session, retired when its current token was made.
		{wdb, &st.diagnose, `SELECT NULL, id, user_id, ended_at, expires_at FROM sessions WHERE refresh_hash = ?1
			UNION ALL
			SELECT t.rotated_at, s.id, s.user_id, s.ended_at, s.expires_at
			FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.hash = ?1
			UNION ALL
			SELECT refresh_created_at, id, user_id, ended_at, expires_at FROM sessions WHERE id = ?2 AND ?2 <> ''`},
		{wdb, &st.addChange, `INSERT INTO changes (kind, user_id, session_id, at) VALUES (?, ?, ?, ?)`},
		{wdb, &st.addAudit, `INSERT INTO audit_events (type, at, user_id, session_id, ip_address, user_agent, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?)`},

		{rdb, &st.userByID, `SELECT ` + userCols + ` FROM users WHERE id = ?`},
		{rdb, &st.userByEmail, `SELECT ` + userCols + ` FROM users WHERE email = ?`},
		{rdb, &st.sessionByID, `SELECT ` + sessionCols + ` FROM sessions WHERE id = ?`},
		{rdb, &st.sessionByHash, `SELECT ` + sessionCols + ` FROM sessions WHERE refresh_hash = ?1
			UNION ALL
			SELECT ` + sessionCols + ` FROM sessions WHERE id = (SELECT session_id FROM refresh_tokens WHERE hash = ?1)`},
		{rdb, &st.liveSessions, `SELECT ` + sessionCols + ` FROM sessions
			WHERE user_id = ?1 AND ended_at IS NULL AND expires_at > ?2
			ORDER BY created_at DESC, id DESC`},
		{rdb, &st.changesAfter, `SELECT ` + sqlshared.ChangeCols + ` FROM changes
			WHERE seq > ? AND at >= ? ORDER BY seq LIMIT ?`},
		{rdb, &st.auditAfter, `SELECT ` + auditCols + ` FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`},
	}
	for _, p := range list {
		stmt, err := p.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("sqlite: prepare %q: %w", p.sql, err)
		}
		*p.dst = stmt
	}
	return nil
}

func (st *stmts) close() {
	for _, s := range []*sql.Stmt{st.rotate, st.diagnose, st.addChange, st.addAudit,
		st.userByID, st.userByEmail, st.sessionByID, st.sessionByHash, st.liveSessions, st.changesAfter, st.auditAfter} {
		if s != nil {
			s.Close()
		}
	}
}
