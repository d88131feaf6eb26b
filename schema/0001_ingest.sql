-- Inboxes, their fetch cursors, and every message ever read (good or bad).

CREATE TABLE inboxes (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	url TEXT NOT NULL,
	transport TEXT NOT NULL DEFAULT 'git' CHECK (transport IN ('git', 'atom', 'local')),
	created_at INTEGER NOT NULL DEFAULT (unixepoch())
);

-- git transport: the last commit stored, per epoch.
CREATE TABLE inbox_cursors (
	inbox_id INTEGER NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
	epoch INTEGER NOT NULL,
	last_commit TEXT NOT NULL,
	updated_at INTEGER NOT NULL DEFAULT (unixepoch()),
	PRIMARY KEY (inbox_id, epoch)
);

-- Atom transport: conditional-GET validators and the ids seen in the last feed.
CREATE TABLE inbox_atom_state (
	inbox_id INTEGER PRIMARY KEY REFERENCES inboxes(id) ON DELETE CASCADE,
	etag TEXT,
	last_modified TEXT,
	seen_ids TEXT NOT NULL DEFAULT '[]', -- JSON array
	updated_at INTEGER NOT NULL DEFAULT (unixepoch())
);

-- One row per fetch attempt that failed (server errors, garbage, ...).
CREATE TABLE fetch_errors (
	id INTEGER PRIMARY KEY,
	inbox_id INTEGER REFERENCES inboxes(id) ON DELETE CASCADE,
	at INTEGER NOT NULL DEFAULT (unixepoch()),
	error TEXT NOT NULL
);

-- Every message read. status: ok (parsed), error (kept with the reason),
-- removed (public-inbox removed it: a commit holding d).
-- A message whose Message-ID is already stored with other bytes is kept as
-- an error row ("duplicate Message-ID with a different body").
CREATE TABLE messages (
	id INTEGER PRIMARY KEY,
	inbox_id INTEGER REFERENCES inboxes(id) ON DELETE CASCADE,
	message_id TEXT,                 -- without <>; NULL when the mail has none
	raw_sha256 TEXT NOT NULL,
	size INTEGER NOT NULL,
	raw BLOB,                        -- the bytes as received (NULL when over the size limit)
	source TEXT NOT NULL,            -- where it came from: epoch commit, URL, file#index
	epoch INTEGER,
	commit_oid TEXT,
	status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'removed')),
	error TEXT,                      -- why status is error
	parsed TEXT,                     -- xeci_mail_to_json, for status ok
	subject TEXT,
	author_email TEXT,
	date INTEGER,
	in_reply_to TEXT,
	has_patch INTEGER NOT NULL DEFAULT 0,
	received_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE UNIQUE INDEX messages_mid_ok ON messages(message_id) WHERE status = 'ok';
CREATE INDEX messages_mid ON messages(message_id);
CREATE INDEX messages_status ON messages(status) WHERE status != 'ok';
CREATE INDEX messages_inbox ON messages(inbox_id, id);
CREATE INDEX messages_sha ON messages(raw_sha256);

-- Thread links: every Message-ID a message names in In-Reply-To / References.
CREATE TABLE message_refs (
	message_rowid INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	ref_message_id TEXT NOT NULL,
	PRIMARY KEY (message_rowid, ref_message_id)
) WITHOUT ROWID;
CREATE INDEX message_refs_ref ON message_refs(ref_message_id);
