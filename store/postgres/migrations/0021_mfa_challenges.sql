-- The second step of a sign-in whose password was right (the mfaToken, stored as its SHA-256
-- hash), so that any instance can finish it. security_stamp is the user's when the password was
-- checked; attempts counts the codes tried (at most 5); used_at marks the finished sign-in.
CREATE TABLE mfa_challenges (
	token_hash     bytea PRIMARY KEY,
	user_id        text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	security_stamp bigint      NOT NULL,
	created_at     timestamptz NOT NULL,
	expires_at     timestamptz NOT NULL,
	attempts       integer     NOT NULL DEFAULT 0,
	used_at        timestamptz
);

-- Housekeeping deletes expired challenges; an admin reset deletes a user's.
CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at);
CREATE INDEX mfa_challenges_user_id ON mfa_challenges (user_id);
