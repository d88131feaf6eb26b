-- The build stage: a complete series version applied to its tree and built,
-- and the base builds its warnings are compared with.

-- One build: a series version (version_id) or a base commit of a tree
-- (version_id NULL: the base build the version's new warnings are counted
-- against), for one config (kernel/configs/NAME.config).
-- state:
--   queued        waiting; the queue takes the newest completed_at first
--   applying      the apply stage is running
--   building      the sandboxed build is running (progress: files compiled)
--   passed        built; artifacts recorded
--   failed        the build failed (status says how, error names the first error)
--   apply-failed  the series did not apply: never built, never tested
--   cancelled     a newer version came, or an operator cancelled it
--   error         xeci could not do its part (no tree, a mirror that fails);
--                 the series is not to blame
-- A daemon that stops mid-build finds applying/building rows at start and
-- queues them again (attempts counts the runs).
CREATE TABLE builds (
	id INTEGER PRIMARY KEY,
	version_id INTEGER REFERENCES series_versions(id) ON DELETE CASCADE,
	tree TEXT NOT NULL,
	config TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('queued', 'applying', 'building', 'passed', 'failed',
					     'apply-failed', 'cancelled', 'error')),
	priority INTEGER NOT NULL DEFAULT 0,  -- the version's completed_at: newest first
	base_commit TEXT,
	base_method TEXT,                     -- base-commit | blobs | branch-head
	commit_id TEXT,                       -- what was built (the applied series' last commit)
	ref TEXT,                             -- refs/xeci/series/<series>/v<N> in the mirror
	apply_failed_index INTEGER,
	apply_failed_file TEXT,
	status TEXT,                          -- kernel/build.sh's: ok, build-failed, timeout, ...
	error TEXT,                           -- one line: why it did not pass
	progress INTEGER NOT NULL DEFAULT 0,  -- files compiled so far
	warnings INTEGER,                     -- compiler warnings in this build's log
	new_warnings INTEGER,                 -- of them, not in the base build
	out_dir TEXT,                         -- DATA/builds/<id>: build.log and the artifacts
	attempts INTEGER NOT NULL DEFAULT 0,
	queued_at INTEGER NOT NULL DEFAULT (unixepoch()),
	started_at INTEGER,
	finished_at INTEGER,
	duration_ms INTEGER
);
CREATE UNIQUE INDEX builds_version_config ON builds(version_id, config) WHERE version_id IS NOT NULL;
CREATE INDEX builds_state ON builds(state, priority);
CREATE INDEX builds_base ON builds(tree, config, commit_id) WHERE version_id IS NULL;

CREATE TABLE build_artifacts (
	build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
	name TEXT NOT NULL,                   -- bzImage, modules.tar.gz, config, System.map, hmm-tests, ...
	path TEXT NOT NULL,
	size INTEGER NOT NULL,
	sha256 TEXT NOT NULL,
	PRIMARY KEY (build_id, name)
) WITHOUT ROWID;

-- Checks beside the build, one row each:
--   checkpatch  scripts/checkpatch.pl --strict on one patch (patch_idx)
--   warnings    the new compiler warnings of the build (patch_idx 0)
--   per-patch   the incremental build after each patch ([build] perPatch)
CREATE TABLE build_checks (
	id INTEGER PRIMARY KEY,
	build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
	kind TEXT NOT NULL CHECK (kind IN ('checkpatch', 'warnings', 'per-patch')),
	patch_idx INTEGER NOT NULL DEFAULT 0,
	result TEXT NOT NULL CHECK (result IN ('pass', 'warn', 'fail', 'error')),
	errors INTEGER NOT NULL DEFAULT 0,
	warnings INTEGER NOT NULL DEFAULT 0,
	checks INTEGER NOT NULL DEFAULT 0,
	summary TEXT,                         -- one line
	text TEXT,                            -- the tool's output (capped)
	UNIQUE (build_id, kind, patch_idx)
);
