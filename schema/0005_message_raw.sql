-- The bytes of a message as received, in a table of their own: messages rows
-- (read by the thread walk and the listings) stay a few hundred bytes and
-- dense in their pages. messages.raw stays, NULL for every row.
CREATE TABLE message_raw (
	message_rowid INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
	raw BLOB                         -- the bytes as received
);
INSERT INTO message_raw(message_rowid, raw) SELECT id, raw FROM messages WHERE raw IS NOT NULL;
UPDATE messages SET raw = NULL WHERE raw IS NOT NULL;
