-- Fewer B-trees to update per stored message.
--
-- messages_mid (every row by Message-ID): the store looks a new message up by
-- its bytes (messages_sha) and its Message-ID among parsed rows
-- (messages_mid_ok, which keeps parsed Message-IDs unique); the thread walk
-- asks for parsed rows only. messages_inbox (inbox_id, id): no query orders
-- an inbox's rows by id; messages_author_date starts with inbox_id and serves
-- the inbox's ON DELETE CASCADE.
DROP INDEX messages_mid;
DROP INDEX messages_inbox;

-- message_refs keyed by the Message-ID referred to (what the thread walk
-- asks: who answers this message). What a message itself refers to is in
-- its parse, so the (message_rowid, ref) key and its second index go.
CREATE TABLE message_refs_new (
	message_rowid INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	ref_message_id TEXT NOT NULL,
	PRIMARY KEY (ref_message_id, message_rowid)
) WITHOUT ROWID;
INSERT INTO message_refs_new(message_rowid, ref_message_id)
	SELECT message_rowid, ref_message_id FROM message_refs;
DROP TABLE message_refs;
ALTER TABLE message_refs_new RENAME TO message_refs;
-- Nothing deletes messages rows; if something ever does, the cascade to
-- message_refs scans the table (no index on message_rowid).
