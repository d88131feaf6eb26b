-- SQLite checks `state IN ('a', 'b', 'c')` (a list of more than two
-- constants) in a CHECK constraint by building a temporary b-tree of the
-- list (a pager of its own, malloc'd and freed) for every row it writes:
-- two for each job leased and two more when its results come, ~10% of
-- xecid's CPU flat out. The same constraints as comparisons, which it
-- evaluates in place. Only the text of the constraints changes, not what
-- they accept, so no row needs checking again: this is SQLite's documented
-- way to change a CHECK in place (ALTER TABLE, "Making Other Kinds Of
-- Table Schema Changes"). A connection that still holds the old text
-- checks the same thing.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (state IN (''active'', ''quarantined'', ''removed''))',
	'CHECK (state = ''active'' OR state = ''quarantined'' OR state = ''removed'')')
	WHERE type = 'table' AND name = 'agents';
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (state IN (''queued'', ''leased'', ''done'', ''incomplete'', ''cancelled''))',
	'CHECK (state = ''queued'' OR state = ''leased'' OR state = ''done'' OR state = ''incomplete'' OR ' ||
	'state = ''cancelled'')')
	WHERE type = 'table' AND name = 'jobs';
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (state IN (''active'', ''expired'', ''completed'', ''released''))',
	'CHECK (state = ''active'' OR state = ''expired'' OR state = ''completed'' OR state = ''released'')')
	WHERE type = 'table' AND name = 'leases';
PRAGMA writable_schema = OFF;
