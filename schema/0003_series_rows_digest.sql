-- A digest of the series_patches and series_trailers rows last written for a
-- version: a batch that re-assembles a thread without changing a version's
-- patches or trailers (a reply without trailers, a neighbour in the thread)
-- leaves those rows alone instead of deleting and inserting them again.
-- NULL (rows written before this column): written again the next time.
ALTER TABLE series_versions ADD COLUMN rows_digest TEXT;
