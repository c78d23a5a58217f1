CREATE TABLE sessions (
	id           TEXT    PRIMARY KEY,
	user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	user_agent   TEXT    NOT NULL DEFAULT '',
	ip_address   TEXT    NOT NULL DEFAULT '',
	ended_at     INTEGER, -- NULL while live
	end_reason   TEXT    NOT NULL DEFAULT ''
) STRICT;

-- ListLiveSessions and EndUserSessions look sessions up by user, newest first.
CREATE INDEX sessions_user_id ON sessions (user_id, created_at);

-- Only hashes are stored. WITHOUT ROWID: the hash is the key, so no second b-tree.
CREATE TABLE refresh_tokens (
	hash       BLOB    PRIMARY KEY,
	session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	rotated_at INTEGER -- NULL for the session's current token
) STRICT, WITHOUT ROWID;

-- Needed by the ON DELETE CASCADE from sessions, which would otherwise scan.
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

-- The invariant "at most one current token per session", enforced rather than hoped for.
CREATE UNIQUE INDEX refresh_tokens_one_current ON refresh_tokens (session_id) WHERE rotated_at IS NULL;
