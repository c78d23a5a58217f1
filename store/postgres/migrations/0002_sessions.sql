CREATE TABLE sessions (
	id           text COLLATE "C" PRIMARY KEY,
	user_id      text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at   timestamptz NOT NULL,
	last_used_at timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	user_agent   text        NOT NULL DEFAULT '',
	ip_address   text        NOT NULL DEFAULT '',
	ended_at     timestamptz, -- NULL while live
	end_reason   text        NOT NULL DEFAULT ''
);

-- ListLiveSessions and EndUserSessions look sessions up by user, newest first.
CREATE INDEX sessions_user_id ON sessions (user_id, created_at);

-- Only hashes are stored.
CREATE TABLE refresh_tokens (
	hash       bytea PRIMARY KEY,
	session_id text COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL,
	rotated_at timestamptz -- NULL for the session's current token
);

-- Needed by the ON DELETE CASCADE from sessions, which would otherwise scan.
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

-- The invariant "at most one current token per session", enforced rather than hoped for.
CREATE UNIQUE INDEX refresh_tokens_one_current ON refresh_tokens (session_id) WHERE rotated_at IS NULL;
