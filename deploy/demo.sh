#!/usr/bin/env bash
# Runs xeci on its embedded defaults: installs what is missing, builds, seeds
# a local public-inbox (public-inbox-mda) with sample series made by
# git format-patch (a v1, a review, a v2 that supersedes it, a series with a
# missing patch), serves it with public-inbox-httpd on loopback, ingests it
# over HTTP (git epochs) and prints the series found.
# DEMO_DIR (default /var/tmp/xeci-demo) keeps the inbox and the database.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash deploy/install-deps.sh
build=${XECI_DEMO_BUILD:-$top/build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target xeci xecid >/dev/null

demo=${DEMO_DIR:-/var/tmp/xeci-demo}
rm -rf "$demo"
mkdir -p "$demo"
python3 - "$demo" <<'PY'
import os, sys
sys.path.insert(0, os.path.join(os.getcwd(), "tests/integration"))
import pi
state = sys.argv[1]
os.makedirs(state, exist_ok=True)
ib = pi.init_inbox(os.path.join(state, "config"), "intel-xe", os.path.join(state, "intel-xe"))
repo = os.path.join(state, "linux")
base = pi.make_repo(repo, ncommits=3)
v1 = pi.format_series(repo, base=base, version=1, to=ib.address, subject="drm/xe: fault-mode fixes")
for m in v1:
    ib.post(m)
ib.post(pi.review_reply(v1[0], "Reviewed-by", "Re Viewer <reviewer@xeci.test>"))
pi.git(repo, "commit", "-q", "--amend", "-m", "drm/xe: change 2 in xe_vm.c, reworked\n\nSigned-off-by: A U Thor <author@xeci.test>")
for m in pi.format_series(repo, base=base, version=2, to=ib.address, subject="drm/xe: fault-mode fixes"):
    ib.post(m)
pi.add_commits(repo, 2, tag="hmm")
other = pi.format_series(repo, base=pi.git(repo, "rev-parse", "HEAD~2"), version=1, to=ib.address,
                         subject="drm/xe: userptr via hmm")
for m in other[:-1]:   # the last patch never arrives
    ib.post(m)
PY
url=$(python3 "$top/tests/integration/pi.py" serve "$demo" --watch $$)
trap 'python3 "$top/tests/integration/pi.py" stop "$demo"' EXIT

echo "== public-inbox-httpd serving ${url}intel-xe/"
echo "== xeci ingest --inbox ${url}intel-xe/"
"$build/xeci" ingest --totals --inbox "${url}intel-xe/" --db "$demo/xeci.db"
echo
echo "== xeci series list"
"$build/xeci" series list --db "$demo/xeci.db"
echo
echo "database: $demo/xeci.db (try: $build/xeci series show 1 --db $demo/xeci.db)"
