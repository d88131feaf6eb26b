-- Patch series: what the series stage assembled from the stored messages.

-- A series across its versions (v1, v2, ... of one piece of work). Versions
-- are linked by b4's change-id, else by a new version posted in reply to the
-- old one, else by the same subject and author.
CREATE TABLE series (
	id INTEGER PRIMARY KEY,
	inbox_id INTEGER REFERENCES inboxes(id) ON DELETE CASCADE,
	subject TEXT,                    -- subject_clean of the first version's cover, else patch 1
	author TEXT,                     -- author_email
	change_id TEXT,                  -- b4's change-id, when the author uses b4
	created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX series_change_id ON series(inbox_id, change_id) WHERE change_id IS NOT NULL;
CREATE INDEX series_author_subject ON series(inbox_id, author, subject);

-- One posting of a series: a cover and/or patches sent together.
-- state:
--   incomplete  not all N of N received yet; `missing` lists the indexes
--   complete    all N of N received; completed_at is set once, when it
--               became complete: that transition is what the build stage takes
--   superseded  a newer version of the same series exists (completed_at kept)
--   ignored     stored, never tested; ignored_reason says why (pull request,
--               the inbox filter)
--   expired     was incomplete for longer than the wait; `missing` kept, so a
--               report can name what never arrived; a late patch reopens it
CREATE TABLE series_versions (
	id INTEGER PRIMARY KEY,
	series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
	inbox_id INTEGER REFERENCES inboxes(id) ON DELETE CASCADE,
	posting_key TEXT NOT NULL,       -- cover Message-ID, else what the patches answer, else patch 1's
	version INTEGER NOT NULL,
	subject TEXT,
	author TEXT,
	cover_message_id TEXT,
	root_parent_id TEXT,             -- the message the cover (else patch 1) answers
	total INTEGER NOT NULL,
	received INTEGER NOT NULL,       -- patches received (distinct indexes)
	base_commit TEXT,
	change_id TEXT,
	prerequisite_ids TEXT NOT NULL DEFAULT '[]', -- JSON: prerequisite-patch-id values
	depends_on TEXT NOT NULL DEFAULT '[]',       -- JSON: Depends-on values
	state TEXT NOT NULL CHECK (state IN ('incomplete', 'complete', 'superseded', 'ignored', 'expired')),
	ignored_reason TEXT,
	missing TEXT NOT NULL DEFAULT '[]', -- JSON array of indexes not received
	first_date INTEGER,              -- oldest Date of its mails
	last_date INTEGER,               -- newest Date of its mails
	last_received_at INTEGER,        -- newest messages.received_at: expiry counts from here
	created_at INTEGER NOT NULL DEFAULT (unixepoch()),
	completed_at INTEGER,
	UNIQUE (inbox_id, posting_key)
);
CREATE INDEX series_versions_series ON series_versions(series_id, version);
CREATE INDEX series_versions_state ON series_versions(state, last_received_at);
CREATE INDEX series_versions_cover ON series_versions(cover_message_id) WHERE cover_message_id IS NOT NULL;

CREATE TABLE series_patches (
	version_id INTEGER NOT NULL REFERENCES series_versions(id) ON DELETE CASCADE,
	idx INTEGER NOT NULL,
	message_rowid INTEGER REFERENCES messages(id) ON DELETE SET NULL,
	message_id TEXT NOT NULL,
	subject TEXT,                    -- subject_clean
	patch_sha256 TEXT,
	PRIMARY KEY (version_id, idx)
) WITHOUT ROWID;
CREATE INDEX series_patches_mid ON series_patches(message_id);

-- Trailers as they go into each patch's commit message (the patch's own,
-- then those from replies to it, then those from replies to the cover), in
-- order. idx 0: a trailer given to the whole version (a reply to the cover).
CREATE TABLE series_trailers (
	version_id INTEGER NOT NULL REFERENCES series_versions(id) ON DELETE CASCADE,
	idx INTEGER NOT NULL,
	pos INTEGER NOT NULL,
	name TEXT NOT NULL,
	value TEXT NOT NULL,
	from_message_rowid INTEGER REFERENCES messages(id) ON DELETE SET NULL,
	PRIMARY KEY (version_id, idx, pos)
) WITHOUT ROWID;

-- Unthreaded patches are grouped by author and time (patchwork's markers).
CREATE INDEX messages_author_date ON messages(inbox_id, author_email, date);
