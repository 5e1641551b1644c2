-- Why a bounce was classified as it was (issue 16): the status code,
-- reply code, command, phrase or rule that decided its reason and hard or
-- soft, and any caution applied, in words (`bounces show`). NULL for
-- bounces recorded before. Same statement for SQLite and PostgreSQL.
ALTER TABLE bounces ADD COLUMN evidence TEXT;
