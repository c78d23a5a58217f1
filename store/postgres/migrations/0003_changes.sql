-- A sequence never hands out a value twice, so seq keeps growing after PurgeChanges. Sequence
-- values are not committed in order across concurrent transactions, though: every writer takes
-- pg_advisory_xact_lock(changeLogLock) first, making seq order commit order (see changes.go).
CREATE TABLE changes (
	seq        bigserial   PRIMARY KEY,
	kind       text        NOT NULL,
	user_id    text        NOT NULL DEFAULT '',
	session_id text        NOT NULL DEFAULT '',
	at         timestamptz NOT NULL
);

-- PurgeChanges deletes by age.
CREATE INDEX changes_at ON changes (at);

-- Every append wakes the listeners (Store.ListenChanges) when its transaction commits, whoever
-- inserted the row.
CREATE FUNCTION changes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('auth_changes', NEW.seq::text);
	RETURN NULL;
END
$$;

CREATE TRIGGER changes_notify AFTER INSERT ON changes
	FOR EACH ROW EXECUTE FUNCTION changes_notify();
