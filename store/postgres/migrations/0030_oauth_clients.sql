-- OAuth clients of other services (client_credentials, /introspect, /revocations). Only the
-- SHA-256 of a secret is stored.
CREATE TABLE oauth_clients (
	id          text COLLATE "C" PRIMARY KEY,
	name        text        NOT NULL,
	secret_hash bytea       NOT NULL,
	scopes      text[]      NOT NULL DEFAULT '{}',
	created_at  timestamptz NOT NULL,
	revoked_at  timestamptz -- NULL while active
);
