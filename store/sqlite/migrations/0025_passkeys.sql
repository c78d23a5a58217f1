-- Passkeys (WebAuthn credentials). A user's WebAuthn user handle is random (never the email)
-- and made at the first registration; it outlives the passkeys, so a passkey registered later
-- carries the same handle.
CREATE TABLE passkey_handles (
	user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	handle  BLOB NOT NULL UNIQUE
) STRICT;

-- credential_id is the authenticator's id, unique across every user. record is the WebAuthn
-- adapter's own encoding of the credential (public key, flags, attestation). sign_count is the
-- counter of the last use, checked against every assertion (clones).
CREATE TABLE passkeys (
	id            TEXT    PRIMARY KEY,
	user_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name          TEXT    NOT NULL,
	credential_id BLOB    NOT NULL UNIQUE,
	transports    TEXT    NOT NULL DEFAULT '', -- space-separated
	record        BLOB    NOT NULL,
	sign_count    INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	last_used_at  INTEGER -- NULL until the first sign-in
) STRICT;

-- ListPasskeys: a user's, oldest first.
CREATE INDEX passkeys_user_id ON passkeys (user_id, created_at);
