-- Started passkey ceremonies (registration or sign-in), kept in the database so that any
-- instance can finish what another started and a restart loses none. A row is deleted when it
-- is used (single use) or, unused, by housekeeping after it expired. No foreign key: a sign-in
-- challenge usually has no user yet.
CREATE TABLE passkey_challenges (
	id         TEXT    PRIMARY KEY,
	purpose    TEXT    NOT NULL,
	user_id    TEXT    NOT NULL DEFAULT '',
	state      BLOB    NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;

-- PurgePasskeyChallenges deletes by age.
CREATE INDEX passkey_challenges_expires_at ON passkey_challenges (expires_at);
