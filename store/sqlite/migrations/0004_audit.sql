-- The audit trail: every security event, kept for AUDIT_RETENTION. No foreign key to users:
-- the trail outlives accounts, and a failed login of an unknown email has no user.
-- AUTOINCREMENT so a seq is never reused after a purge (pollers remember the last seq they saw);
-- SQLite serialises writers, so seq order is commit order.
CREATE TABLE audit_events (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	type       TEXT    NOT NULL,
	at         INTEGER NOT NULL,
	user_id    TEXT    NOT NULL DEFAULT '',
	session_id TEXT    NOT NULL DEFAULT '',
	ip_address TEXT    NOT NULL DEFAULT '',
	user_agent TEXT    NOT NULL DEFAULT '',
	reason     TEXT    NOT NULL DEFAULT ''
) STRICT;

-- ListAudit of one user, newest first.
CREATE INDEX audit_events_user ON audit_events (user_id, seq);
-- PurgeAudit deletes by age.
CREATE INDEX audit_events_at ON audit_events (at);

-- Housekeeping: PurgeSessions finds ended and expired sessions, CountLiveSessions live ones.
CREATE INDEX sessions_ended_at ON sessions (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX sessions_live_expires_at ON sessions (expires_at) WHERE ended_at IS NULL;
