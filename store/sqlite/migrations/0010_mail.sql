-- Mail: whether each account's address is verified, the mail tokens (only their SHA-256), the
-- transactional outbox and the development mailbox. Accounts from before this migration count
-- as verified: nobody asked them to prove their address, and EMAIL_VERIFICATION=required must
-- not lock them out.
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
UPDATE users SET email_verified = 1;

CREATE TABLE mail_tokens (
	hash       BLOB    PRIMARY KEY,
	user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind       TEXT    NOT NULL,
	email      TEXT    NOT NULL, -- where the link went (an email change: the new address)
	stamp      INTEGER NOT NULL, -- the user's security stamp at issue (a reset dies with a password change)
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
) STRICT;
CREATE INDEX mail_tokens_user ON mail_tokens (user_id, kind);
CREATE INDEX mail_tokens_expiry ON mail_tokens (expires_at);

-- data holds what the template shows (the link included) until the mail is finished; then it
-- is cleared, and housekeeping deletes the row a day later.
CREATE TABLE mail_outbox (
	id            TEXT    PRIMARY KEY,
	template      TEXT    NOT NULL,
	kind          TEXT    NOT NULL DEFAULT '',
	user_id       TEXT    NOT NULL DEFAULT '',
	recipient     TEXT    NOT NULL,
	data          TEXT    NOT NULL DEFAULT '{}',
	prepared      INTEGER NOT NULL DEFAULT 0,
	status        TEXT    NOT NULL,
	created_at    INTEGER NOT NULL,
	next_attempt  INTEGER NOT NULL,
	attempts      INTEGER NOT NULL DEFAULT 0,
	last_error    TEXT    NOT NULL DEFAULT '',
	claimed_until INTEGER NOT NULL DEFAULT 0,
	finished_at   INTEGER
) STRICT;
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt);
CREATE INDEX mail_outbox_finished ON mail_outbox (finished_at);

CREATE TABLE dev_mailbox (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	id        TEXT    NOT NULL,
	recipient TEXT    NOT NULL,
	subject   TEXT    NOT NULL,
	text_body TEXT    NOT NULL,
	html_body TEXT    NOT NULL,
	sent_at   INTEGER NOT NULL
) STRICT;
