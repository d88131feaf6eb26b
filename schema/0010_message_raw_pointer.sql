-- A message read from a public-inbox git epoch is stored as a pointer to its
-- blob (the epoch's repository and the blob's id) instead of a copy of its
-- bytes: the epoch already holds them, and copying ~4 KB a message through
-- the WAL and again into the database was a third of the store's writes.
-- Rows keep their bytes (raw) when the message came from anywhere else (an
-- mbox, a maildir, Atom) or was kept as an error (its bytes are evidence).
-- Readers go through xeci_msgraw_get (daemon/msgraw.c), which reads either.
-- Existing rows keep their bytes: nothing to migrate.
CREATE TABLE raw_repos (
	id INTEGER PRIMARY KEY,
	path TEXT NOT NULL UNIQUE        -- absolute path of a bare repository (an epoch, N.git)
);
ALTER TABLE message_raw ADD COLUMN repo_id INTEGER REFERENCES raw_repos(id);
ALTER TABLE message_raw ADD COLUMN blob_oid TEXT; -- hex id of the blob in repo_id; raw is NULL then
