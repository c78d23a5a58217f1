-- Mail: whether each account's address is verified, the mail tokens (only their SHA-256), the
-- transactional outbox and the development mailbox. Accounts from before this migration count
-- as verified (a constant default, so no table rewrite; new accounts state theirs).
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT true;
ALTER TABLE users ALTER COLUMN email_verified SET DEFAULT false;

CREATE TABLE mail_tokens (
	hash       bytea       PRIMARY KEY,
	user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind       text        NOT NULL,
	email      text        NOT NULL, -- where the link went (an email change: the new address)
	stamp      bigint      NOT NULL, -- the user's security stamp at issue (a reset dies with a password change)
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz
);
CREATE INDEX mail_tokens_user ON mail_tokens (user_id, kind);
CREATE INDEX mail_tokens_expiry ON mail_tokens (expires_at);

-- data holds what the template shows (the link included) until the mail is finished; then it
-- is cleared, and housekeeping deletes the row a day later.
CREATE TABLE mail_outbox (
	id            text COLLATE "C" PRIMARY KEY,
	template      text        NOT NULL,
	kind          text        NOT NULL DEFAULT '',
	user_id       text        NOT NULL DEFAULT '',
	recipient     text        NOT NULL,
	data          jsonb       NOT NULL DEFAULT '{}',
	prepared      boolean     NOT NULL DEFAULT false,
	status        text        NOT NULL,
	created_at    timestamptz NOT NULL,
	next_attempt  timestamptz NOT NULL,
	attempts      integer     NOT NULL DEFAULT 0,
	last_error    text        NOT NULL DEFAULT '',
	claimed_until timestamptz NOT NULL DEFAULT '-infinity',
	finished_at   timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt) WHERE status = 'queued';
CREATE INDEX mail_outbox_finished ON mail_outbox (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE dev_mailbox (
	seq       bigserial   PRIMARY KEY,
	id        text        NOT NULL,
	recipient text        NOT NULL,
	subject   text        NOT NULL,
	text_body text        NOT NULL,
	html_body text        NOT NULL,
	sent_at   timestamptz NOT NULL
);
