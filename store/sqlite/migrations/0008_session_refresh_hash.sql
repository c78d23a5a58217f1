-- A session's current refresh token moves onto its row (refresh_hash, refresh_created_at), so a
-- rotation is one conditional UPDATE of the session: it checks liveness, swaps the hash and
-- touches last_used_at at once, and the trigger below files the retired hash among the rotated
-- ones (refresh_tokens), where reuse is still detected. Before, a rotation ran three statements
-- (retire the old row, insert the new one, touch the session) and kept a partial unique index on
-- the token table in step. The "one current token per session" invariant now holds by shape.
ALTER TABLE sessions ADD COLUMN refresh_hash BLOB;
ALTER TABLE sessions ADD COLUMN refresh_created_at INTEGER;

UPDATE sessions SET (refresh_hash, refresh_created_at) =
	(SELECT hash, created_at FROM refresh_tokens t WHERE t.session_id = sessions.id AND t.rotated_at IS NULL);
DELETE FROM refresh_tokens WHERE rotated_at IS NULL;
DROP INDEX refresh_tokens_one_current;

CREATE UNIQUE INDEX sessions_refresh_hash ON sessions (refresh_hash);

-- Replacing a session's hash by another retires the old one, rotated at the new one's creation.
-- Clearing it (housekeeping, before deleting the session) retires nothing.
CREATE TRIGGER sessions_refresh_rotated AFTER UPDATE OF refresh_hash ON sessions
	WHEN OLD.refresh_hash IS NOT NULL AND NEW.refresh_hash IS NOT NULL AND NEW.refresh_hash <> OLD.refresh_hash
BEGIN
	INSERT INTO refresh_tokens (hash, session_id, created_at, rotated_at)
	VALUES (OLD.refresh_hash, OLD.id, OLD.refresh_created_at, NEW.refresh_created_at);
END;
