-- SQLite stops filing retired refresh tokens that name their session (see its 0032); PostgreSQL
-- keeps a row for every token, current and retired, and needs no change of schema. This file
-- keeps both adapters' migration lists the same.
SELECT 1;
