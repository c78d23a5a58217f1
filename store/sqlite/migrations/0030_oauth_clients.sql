-- OAuth clients of other services (client_credentials, /introspect, /revocations). Only the
-- SHA-256 of a secret is stored; scopes are space-separated RFC 6749 scope tokens.
CREATE TABLE oauth_clients (
	id          TEXT    PRIMARY KEY,
	name        TEXT    NOT NULL,
	secret_hash BLOB    NOT NULL,
	scopes      TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	revoked_at  INTEGER -- NULL while active
) STRICT;
