-- Times are integer unix microseconds in UTC: compact, fast, and they sort correctly.
CREATE TABLE users (
	id            TEXT    PRIMARY KEY,
	email         TEXT    NOT NULL UNIQUE, -- already normalised by the caller
	password_hash TEXT    NOT NULL,
	roles         TEXT    NOT NULL DEFAULT '', -- comma-separated, order preserved
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;
