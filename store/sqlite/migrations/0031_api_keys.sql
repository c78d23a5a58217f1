-- Personal API keys. Only the SHA-256 of a secret is stored; the hash is how a presented key is
-- found. Deleting a user deletes its keys.
CREATE TABLE api_keys (
	id           TEXT    PRIMARY KEY,
	user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT    NOT NULL,
	prefix       TEXT    NOT NULL,
	hash         BLOB    NOT NULL UNIQUE,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER, -- NULL: never
	last_used_at INTEGER, -- NULL: never used
	revoked_at   INTEGER  -- NULL while active
) STRICT;

-- ListAPIKeys and RevokeUserAPIKeys look keys up by user.
CREATE INDEX api_keys_user_id ON api_keys (user_id, created_at);
