#!/usr/bin/env bash
# scripts/checkpatch.pl --strict on one patch mail, sandboxed like a build.
#
#   kernel/checkpatch.sh --scripts DIR --patch FILE [--timeout SECONDS]
#
# DIR holds checkpatch.pl, spelling.txt and const_structs.checkpatch taken
# from the base commit (not from the patched tree: a patch could rewrite
# checkpatch.pl to pass itself). checkpatch runs without the tree
# (--no-tree), so it reads nothing but its own files and the patch.
# Its report goes to stdout; the exit code is checkpatch's (0 clean, 1 when
# it found problems), 124 on timeout, 2 usage.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/sandbox.sh"

scripts= patch= timeout=300
while [ $# -gt 0 ]; do
	case $1 in
	--scripts) scripts=$2; shift 2 ;;
	--patch) patch=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	*) echo "checkpatch.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
[ -f "$scripts/checkpatch.pl" ] && [ -f "$patch" ] || { echo "checkpatch.sh: --scripts DIR with checkpatch.pl and --patch FILE" >&2; exit 2; }
scripts=$(cd "$scripts" && pwd)
patch=$(cd "$(dirname "$patch")" && pwd)/$(basename "$patch")

# --foreground: timeout stays in the caller's process group
timeout --foreground -s KILL "$timeout" bash -c '
	. "$1/sandbox.sh"
	xeci_sandbox "$1:$2:$3" "" -- perl "$2/checkpatch.pl" --no-tree --strict --show-types \
		--no-color --no-summary-file "$4"
' _ "$here" "$scripts" "$patch" "$patch" </dev/null
rc=$?
[ $rc = 137 ] && rc=124
exit $rc
