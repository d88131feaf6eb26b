#!/usr/bin/env python3
"""bench/db_canon.py: a canonical digest of what an ingest stored, to check
that an optimisation of the ingest changes no stored byte.

  bench/db_canon.py DB            # one line per table: rows, sha256
  bench/db_canon.py DB --dump F   # also the canonical rows, one a line, to F

Every table the ingest writes, rows sorted, with the clock columns left out
(received_at, created_at, updated_at; last_received_at is a received_at;
completed_at is kept as "set or not"): two ingests of the same inbox must
give the same lines."""
import hashlib
import sqlite3
import sys

CLOCK = {'received_at', 'created_at', 'updated_at', 'last_received_at'}
TABLES = ['inboxes', 'inbox_cursors', 'messages', 'message_raw', 'message_refs', 'series',
          'series_versions', 'series_patches', 'series_trailers', 'fetch_errors']


def rows(db, table):
    cols = [r[1] for r in db.execute('PRAGMA table_info(%s)' % table)]
    sel = []
    for c in cols:
        if c in CLOCK:
            continue
        if c == 'completed_at':
            sel.append('completed_at IS NOT NULL')
        elif c == 'raw':
            sel.append('length(raw)')  # NULL since schema 0005: the bytes are in message_raw
        else:
            sel.append('quote(%s)' % c)
    out = []
    for r in db.execute('SELECT %s FROM %s' % (', '.join(sel), table)):
        out.append('|'.join(str(v) for v in r))
    if table == 'message_raw':  # the bytes themselves, by digest
        out = ['%d|%s' % (r[0], hashlib.sha256(r[1] or b'').hexdigest())
               for r in db.execute('SELECT message_rowid, raw FROM message_raw')]
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
