-- COLLATE "C": IDs compare by bytes, as ListUsers' cursor (id > afterID) and SQLite expect;
-- a locale collation would order mixed-case or punctuated IDs differently.
CREATE TABLE users (
	id            text COLLATE "C" PRIMARY KEY,
	email         text        NOT NULL, -- already normalised by the caller
	password_hash text        NOT NULL,
	roles         text[]      NOT NULL DEFAULT '{}', -- order preserved
	disabled      boolean     NOT NULL DEFAULT false,
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL,
	-- The adapter maps a violation of this constraint (by name) to auth.ErrEmailTaken.
	CONSTRAINT users_email_key UNIQUE (email)
);
