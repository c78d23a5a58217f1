-- The audit trail: every security event, kept for AUDIT_RETENTION. No foreign key to users:
-- the trail outlives accounts, and a failed login of an unknown email has no user.
-- As for the change log, writers take an advisory lock (auditLock in audit.go) before their
-- inserts, so seq order is commit order and a poller remembering the last seq misses nothing.
CREATE TABLE audit_events (
	seq        bigserial   PRIMARY KEY,
	type       text        NOT NULL,
	at         timestamptz NOT NULL,
	user_id    text COLLATE "C" NOT NULL DEFAULT '',
	session_id text COLLATE "C" NOT NULL DEFAULT '',
	ip_address text        NOT NULL DEFAULT '',
	user_agent text        NOT NULL DEFAULT '',
	reason     text        NOT NULL DEFAULT ''
);

-- ListAudit of one user, newest first.
CREATE INDEX audit_events_user ON audit_events (user_id, seq);
-- PurgeAudit deletes by age.
CREATE INDEX audit_events_at ON audit_events (at);

-- Housekeeping: PurgeSessions finds ended and expired sessions, CountLiveSessions live ones.
CREATE INDEX sessions_ended_at ON sessions (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX sessions_live_expires_at ON sessions (expires_at) WHERE ended_at IS NULL;

-- New audit rows wake the listeners (Store.ListenChanges) like change-log rows do, so other
-- instances deliver them to their subscribers at once. One notification per statement.
CREATE FUNCTION audit_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('auth_changes', 'audit');
	RETURN NULL;
END
$$;

CREATE TRIGGER audit_events_notify AFTER INSERT ON audit_events
	FOR EACH STATEMENT EXECUTE FUNCTION audit_events_notify();
