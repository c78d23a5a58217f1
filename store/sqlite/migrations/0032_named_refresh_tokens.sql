-- Refresh tokens now name their session under a tag the service checks, so a retired named
-- token is known to be a retired one without a row of its own (its session is live and it is
-- not the current token). Only tokens without a name, those issued before this migration, are
-- still filed among the rotated tokens when they are retired; the table stops growing with
-- every rotation. refresh_named says which kind a session's current token is.
ALTER TABLE sessions ADD COLUMN refresh_named INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER sessions_refresh_rotated;

-- Replacing a session's unnamed hash by another retires the old one, rotated at the new one's
-- creation. Clearing it (housekeeping, before deleting the session) retires nothing.
CREATE TRIGGER sessions_refresh_rotated AFTER UPDATE OF refresh_hash ON sessions
	WHEN OLD.refresh_named = 0 AND OLD.refresh_hash IS NOT NULL AND NEW.refresh_hash IS NOT NULL
		AND NEW.refresh_hash <> OLD.refresh_hash
BEGIN
	INSERT INTO refresh_tokens (hash, session_id, created_at, rotated_at)
	VALUES (OLD.refresh_hash, OLD.id, OLD.refresh_created_at, NEW.refresh_created_at);
END;
