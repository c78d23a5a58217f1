-- AUTOINCREMENT so a seq is never reused after PurgeChanges empties the table: pollers
-- remember the last seq they saw and would otherwise miss new entries.
-- SQLite serialises writers, so seq order is commit order.
CREATE TABLE changes (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	kind       TEXT    NOT NULL,
	user_id    TEXT    NOT NULL DEFAULT '',
	session_id TEXT    NOT NULL DEFAULT '',
	at         INTEGER NOT NULL
) STRICT;

-- PurgeChanges deletes by age.
CREATE INDEX changes_at ON changes (at);
