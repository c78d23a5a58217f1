-- The second step of a sign-in whose password was right (the mfaToken, stored as its SHA-256
-- hash), so that any instance can finish it. security_stamp is the user's when the password was
-- checked; attempts counts the codes tried (at most 5); used_at marks the finished sign-in.
CREATE TABLE mfa_challenges (
	token_hash     BLOB    PRIMARY KEY,
	user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	security_stamp INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	expires_at     INTEGER NOT NULL,
	attempts       INTEGER NOT NULL DEFAULT 0,
	used_at        INTEGER
) STRICT, WITHOUT ROWID;

-- Housekeeping deletes expired challenges; an admin reset deletes a user's.
CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at);
CREATE INDEX mfa_challenges_user_id ON mfa_challenges (user_id);
