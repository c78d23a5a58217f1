-- SQLite moves a session's current refresh token onto the session row (one statement per
-- rotation there); PostgreSQL rotates in one statement already and keeps its schema. This
-- file keeps both adapters' migration lists the same.
SELECT 1;
