#!/usr/bin/env python3
"""bench/db_canon.py: a canonical digest of what an ingest stored, to check
that an optimisation of the ingest changes no stored byte.

  bench/db_canon.py DB            # one line per table: rows, sha256
  bench/db_canon.py DB --dump F   # also the canonical rows, one a line, to F

Every table the ingest writes, rows sorted, with the clock columns left out
(received_at, created_at, updated_at; last_received_at is a received_at;
completed_at is kept as "set or not"), series and versions named by their
posting keys, not their ids: two ingests of the same inbox must give the
same lines. message_raw's bytes are digested wherever they are: in
the row, or the blob of a git epoch it points at (schema 0010; read with
git cat-file), so that rows and pointers give the same digest."""
import hashlib
import sqlite3
import subprocess
import sys

CLOCK = {'received_at', 'created_at', 'updated_at', 'last_received_at'}
TABLES = ['inboxes', 'inbox_cursors', 'messages', 'message_raw', 'message_refs', 'series',
          'series_versions', 'series_patches', 'series_trailers', 'fetch_errors']


def blobs(path, oids):
    """The bytes of blobs oids of the repository at path (git cat-file --batch)."""
    p = subprocess.run(['git', '--git-dir', path, 'cat-file', '--batch'], input=''.join(o + '\n' for o in oids).encode(),
                       capture_output=True, check=True)
    out, at = {}, 0
    for oid in oids:
        nl = p.stdout.index(b'\n', at)
        head = p.stdout[at:nl].split()
        if len(head) != 3:
            out[oid] = None  # missing: digested as empty, and so different
            at = nl + 1
            continue
        size = int(head[2])
        out[oid] = p.stdout[nl + 1:nl + 1 + size]
        at = nl + 1 + size + 1
    return out


def raw_rows(db):
    """(message_rowid, bytes) of message_raw: the bytes a row holds, or those of
    the blob it points at (schema 0010), so that both give the same digest."""
    cols = [r[1] for r in db.execute('PRAGMA table_info(message_raw)')]
    if 'blob_oid' not in cols:
        return list(db.execute('SELECT message_rowid, raw FROM message_raw'))
    rs = list(db.execute('SELECT r.message_rowid, r.raw, r.blob_oid, p.path FROM message_raw r'
                         ' LEFT JOIN raw_repos p ON p.id = r.repo_id'))
    wanted = {}
    for _, raw, oid, path in rs:
        if raw is None and oid and path:
            wanted.setdefault(path, []).append(oid)
    got = {path: blobs(path, oids) for path, oids in wanted.items()}
    return [(rowid, raw if raw is not None or not oid else got.get(path, {}).get(oid))
            for rowid, raw, oid, path in rs]


# Series and versions are numbered in the order the store created them,
# which follows how batches were grouped into transactions (the threads'
# timing): their ids are written as what names them, a version by its
# posting key, a series by its first version's.
SERIES_KEY = '(SELECT min(k.posting_key) FROM series_versions k WHERE k.series_id = %s)'
VERSION_KEY = '(SELECT k.posting_key FROM series_versions k WHERE k.id = %s)'
IDS = {
    ('series', 'id'): SERIES_KEY % 'series.id',
    ('series_versions', 'id'): None,  # the posting key is a column already
    ('series_versions', 'series_id'): SERIES_KEY % 'series_versions.series_id',
    ('series_patches', 'version_id'): VERSION_KEY % 'series_patches.version_id',
    ('series_trailers', 'version_id'): VERSION_KEY % 'series_trailers.version_id',
}


def rows(db, table):
    cols = [r[1] for r in db.execute('PRAGMA table_info(%s)' % table)]
    sel = []
    for c in cols:
        if c in CLOCK:
            continue
        if (table, c) in IDS:
            if IDS[(table, c)]:
                sel.append('quote(%s)' % IDS[(table, c)])
        elif c == 'completed_at':
            sel.append('completed_at IS NOT NULL')
        elif c == 'raw':
            sel.append('length(raw)')  # NULL since schema 0005: the bytes are in message_raw
        else:
            sel.append('quote(%s)' % c)
    out = []
    for r in db.execute('SELECT %s FROM %s' % (', '.join(sel), table)):
        out.append('|'.join(str(v) for v in r))
    if table == 'message_raw':  # the bytes themselves, by digest, wherever they are
        out = ['%d|%s' % (rowid, hashlib.sha256(raw or b'').hexdigest())
               for rowid, raw in raw_rows(db)]
    out.sort()
    return out


def main():
    db = sqlite3.connect(sys.argv[1])
    dump = open(sys.argv[sys.argv.index('--dump') + 1], 'w') if '--dump' in sys.argv else None
    for t in TABLES:
        try:
            rs = rows(db, t)
        except sqlite3.Error as e:
            print('%s: %s' % (t, e))
            continue
        h = hashlib.sha256('\n'.join(rs).encode()).hexdigest()
        print('%-16s %7d %s' % (t, len(rs), h[:16]))
        if dump:
            for r in rs:
                dump.write('%s: %s\n' % (t, r))
    return 0


if __name__ == '__main__':
    sys.exit(main())
