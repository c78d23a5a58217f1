-- Started passkey ceremonies (registration or sign-in), kept in the database so that any
-- instance can finish what another started and a restart loses none. A row is deleted when it
-- is used (single use) or, unused, by housekeeping after it expired. No foreign key: a sign-in
-- challenge usually has no user yet.
CREATE TABLE passkey_challenges (
	id         text COLLATE "C" PRIMARY KEY,
	purpose    text        NOT NULL,
	user_id    text COLLATE "C" NOT NULL DEFAULT '',
	state      bytea       NOT NULL,
	expires_at timestamptz NOT NULL
);

-- PurgePasskeyChallenges deletes by age.
CREATE INDEX passkey_challenges_expires_at ON passkey_challenges (expires_at);
