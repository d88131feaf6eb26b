-- As 0009 did for the dispatch tables: SQLite evaluates a CHECK of the form
-- `x IN ('a', 'b', 'c')` (more than two constants) by building a temporary
-- b-tree of the list for every row written. messages.status and
-- series_versions.state are written for every stored message and every
-- version a batch touches: ~5% of the ingest's store thread. The same
-- constraints as comparisons, evaluated in place. Only the text changes, not
-- what the constraints accept, so no row needs checking again (SQLite's
-- documented way to change a CHECK in place: ALTER TABLE, "Making Other
-- Kinds Of Table Schema Changes"); a connection still holding the old text
-- checks the same thing.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (status IN (''ok'', ''error'', ''removed''))',
	'CHECK (status = ''ok'' OR status = ''error'' OR status = ''removed'')')
	WHERE type = 'table' AND name = 'messages';
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (state IN (''incomplete'', ''complete'', ''superseded'', ''ignored'', ''expired''))',
	'CHECK (state = ''incomplete'' OR state = ''complete'' OR state = ''superseded'' OR ' ||
	'state = ''ignored'' OR state = ''expired'')')
	WHERE type = 'table' AND name = 'series_versions';
PRAGMA writable_schema = OFF;
