-- Dispatch: agents on devices under test, the jobs they lease, the results
-- they send back.

-- One agent per DUT. The token is shown once by `xeci agent add` and kept
-- here only as its sha256.
-- state: active | quarantined (3 infrastructure failures in a row, until
-- `xeci agent release`) | removed (kept for the history of its results)
CREATE TABLE agents (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	platform TEXT NOT NULL,                -- bmg, lnl, ..., qemu, sim
	token_sha256 TEXT NOT NULL UNIQUE,
	state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'quarantined', 'removed')),
	facts TEXT,                            -- JSON from register: hostname, PCI ids, GPU count, IGT version, kernel
	capabilities TEXT NOT NULL DEFAULT '[]', -- JSON array, e.g. ["fault-mode"]
	infra_failures INTEGER NOT NULL DEFAULT 0, -- infrastructure failures in a row
	quarantine_reason TEXT,
	registered_at INTEGER,
	last_seen_at INTEGER,
	created_at INTEGER NOT NULL DEFAULT (unixepoch())
);

-- A job: one built kernel (a series' build, or a base build: a baseline),
-- one test plan, one platform, one shard of the plan's tests.
-- state:
--   queued      waiting for an agent of its platform and capabilities
--   leased      an agent holds the current lease (lease_id, its deadline)
--   done        results received (result: pass | fail)
--   incomplete  no verdict: the machine was lost (leases expired max_attempts
--               times), the kernel did not boot, ... (reason says); an
--               infrastructure status, never a test failure
--   cancelled   a newer version of the series came
CREATE TABLE jobs (
	id INTEGER PRIMARY KEY,
	build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
	version_id INTEGER REFERENCES series_versions(id) ON DELETE CASCADE, -- NULL: a baseline
	testplan TEXT NOT NULL,
	platform TEXT NOT NULL,
	capabilities TEXT NOT NULL DEFAULT '[]', -- what the agent must have
	suites TEXT NOT NULL,                  -- JSON array: ["igt:kernel/testlists/x.testlist", "kunit:xe", ...]
	shard INTEGER NOT NULL DEFAULT 0,
	shards INTEGER NOT NULL DEFAULT 1,
	state TEXT NOT NULL CHECK (state IN ('queued', 'leased', 'done', 'incomplete', 'cancelled')),
	priority INTEGER NOT NULL DEFAULT 0,
	attempts INTEGER NOT NULL DEFAULT 0,   -- leases given
	max_attempts INTEGER NOT NULL DEFAULT 3,
	lease_id INTEGER,                      -- the current lease (fencing token)
	lease_deadline INTEGER,                -- unixepoch ms
	agent_id INTEGER REFERENCES agents(id),
	result TEXT,                           -- pass | fail, for done
	reason TEXT,                           -- why incomplete / cancelled
	current_test TEXT,                     -- from heartbeats
	tests_done INTEGER NOT NULL DEFAULT 0,
	tests_total INTEGER NOT NULL DEFAULT 0,
	queued_at INTEGER NOT NULL DEFAULT (unixepoch()),
	started_at INTEGER,
	finished_at INTEGER,
	UNIQUE (build_id, testplan, platform, shard)
);
CREATE INDEX jobs_queue ON jobs(state, platform, priority);
CREATE INDEX jobs_lease ON jobs(state, lease_deadline) WHERE state = 'leased';

-- Every lease given, for the history (which machine ran what, when it was
-- lost). A lease id is a fencing token: only the job's current lease may
-- heartbeat or upload.
CREATE TABLE leases (
	id INTEGER PRIMARY KEY,
	job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	agent_id INTEGER NOT NULL REFERENCES agents(id),
	state TEXT NOT NULL CHECK (state IN ('active', 'expired', 'completed', 'released')),
	created_at INTEGER NOT NULL DEFAULT (unixepoch()),
	ended_at INTEGER
);
CREATE INDEX leases_job ON leases(job_id);

-- Per test of a job: its status and excerpts; the full logs are files.
CREATE TABLE job_results (
	job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	test TEXT NOT NULL,                    -- igt@bin@subtest[@dynamic], kunit suite.case, hmm-tests case
	lease_id INTEGER NOT NULL,
	suite TEXT,
	status TEXT NOT NULL,                  -- pass, fail, skip, crash, timeout, incomplete, abort,
	                                       -- dmesg-warn, dmesg-fail, warn, notrun
	duration_ms INTEGER,
	out_excerpt TEXT,
	err_excerpt TEXT,
	dmesg_excerpt TEXT,
	log_path TEXT,
	PRIMARY KEY (job_id, test)
) WITHOUT ROWID;
