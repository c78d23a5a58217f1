-- How each session's sign-in was made: the RFC 8176 methods (space-separated, e.g. "pwd" or
-- "pwd otp mfa") and when (auth_time). A refresh keeps both, so every access token of a
-- session says how its sign-in was made. Sessions from before this migration were password
-- sign-ins made when they were created.
ALTER TABLE sessions ADD COLUMN amr text NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN auth_time timestamptz;
UPDATE sessions SET amr = 'pwd', auth_time = created_at;
ALTER TABLE sessions ALTER COLUMN auth_time SET NOT NULL;
