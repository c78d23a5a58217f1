-- The security stamp: bumped by every change of an account that must end its sessions or void
-- a sign-in in flight (password, status). A session is inserted only while the stamp is still
-- the one its password check read, under a lock on the user's row. Existing accounts start at 0
-- (a constant default: no table rewrite).
ALTER TABLE users ADD COLUMN security_stamp bigint NOT NULL DEFAULT 0;
