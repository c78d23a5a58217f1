-- Passkeys (WebAuthn credentials). A user's WebAuthn user handle is random (never the email)
-- and made at the first registration; it outlives the passkeys, so a passkey registered later
-- carries the same handle.
CREATE TABLE passkey_handles (
	user_id text COLLATE "C" PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	handle  bytea NOT NULL UNIQUE
);

-- credential_id is the authenticator's id, unique across every user. record is the WebAuthn
-- adapter's own encoding of the credential (public key, flags, attestation). sign_count is the
-- counter of the last use (an unsigned 32-bit value), checked against every assertion (clones).
CREATE TABLE passkeys (
	id            text COLLATE "C" PRIMARY KEY,
	user_id       text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name          text        NOT NULL,
	credential_id bytea       NOT NULL UNIQUE,
	transports    text        NOT NULL DEFAULT '', -- space-separated
	record        bytea       NOT NULL,
	sign_count    bigint      NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
	created_at    timestamptz NOT NULL,
	last_used_at  timestamptz -- NULL until the first sign-in
);

-- ListPasskeys: a user's, oldest first.
CREATE INDEX passkeys_user_id ON passkeys (user_id, created_at);
