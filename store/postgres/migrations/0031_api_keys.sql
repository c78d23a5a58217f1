-- Personal API keys. Only the SHA-256 of a secret is stored; the hash is how a presented key is
-- found. Deleting a user deletes its keys.
CREATE TABLE api_keys (
	id           text COLLATE "C" PRIMARY KEY,
	user_id      text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         text        NOT NULL,
	prefix       text        NOT NULL,
	hash         bytea       NOT NULL UNIQUE,
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz, -- NULL: never
	last_used_at timestamptz, -- NULL: never used
	revoked_at   timestamptz  -- NULL while active
);

-- ListAPIKeys and RevokeUserAPIKeys look keys up by user.
CREATE INDEX api_keys_user_id ON api_keys (user_id, created_at);
