-- Second factors. A user's TOTP secret is stored sealed (AES-GCM, the application's MFA key;
-- the database never sees it in the clear); confirmed_at is NULL while the setup is pending.
-- last_step is the last RFC 6238 time step whose code was accepted: a code of that step or an
-- earlier one is a replay, refused by a conditional UPDATE.
CREATE TABLE totp_secrets (
	user_id      text COLLATE "C" PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret       bytea       NOT NULL,
	created_at   timestamptz NOT NULL,
	confirmed_at timestamptz,
	last_step    bigint      NOT NULL DEFAULT 0
);

-- Recovery codes, only as SHA-256 hashes (they carry 80 random bits); used_at marks a spent one.
CREATE TABLE recovery_codes (
	user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash  bytea       NOT NULL,
	created_at timestamptz NOT NULL,
	used_at    timestamptz,
	PRIMARY KEY (user_id, code_hash)
);

-- Kept on the user's row, so that reading a user (which every login does) says whether the
-- password needs a second step without another query; changed in the same transaction as
-- totp_secrets.
ALTER TABLE users ADD COLUMN mfa_enabled boolean NOT NULL DEFAULT false;
