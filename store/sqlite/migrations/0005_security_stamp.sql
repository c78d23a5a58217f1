-- The security stamp: bumped by every change of an account that must end its sessions or void
-- a sign-in in flight (password, status). A session is inserted only while the stamp is still
-- the one its password check read, in the same transaction. Existing accounts start at 0.
ALTER TABLE users ADD COLUMN security_stamp INTEGER NOT NULL DEFAULT 0;
