#!/usr/bin/env bash
# Turns Debian's linux-source-6.12 tarball into a bare git repository with
# one commit, cached under CACHE (default /var/cache/xeci) and keyed by the
# tarball's sha256, so every test and bench on a machine shares it and a new
# tarball makes a new one. The commit's author, committer and dates are
# fixed: the same tarball gives the same commit id on every machine.
#
# Usage: kernel/linux-source-git.sh [TARBALL] [CACHE]
# Prints the repository's path on stdout.
set -euo pipefail

tarball=${1:-/usr/src/linux-source-6.12.tar.xz}
cache=${2:-${XECI_CACHE:-/var/cache/xeci}}
[ -r "$tarball" ] || { echo "linux-source-git: $tarball: not readable (apt-get install linux-source-6.12)" >&2; exit 1; }

key=$(sha256sum "$tarball" | cut -c1-12)
name=$(basename "$tarball" .tar.xz)
repo="$cache/$name-$key.git"
if [ -f "$repo/xeci-complete" ]; then
	echo "$repo"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.$name-$key.lock"
flock 9
if [ -f "$repo/xeci-complete" ]; then
	echo "$repo"
	exit 0
fi

rm -rf "$repo" "$repo.tmp" "$repo.src"
mkdir -p "$repo.src"
echo "linux-source-git: unpacking $tarball" >&2
tar -xf "$tarball" -C "$repo.src" --strip-components=1
git init -q --bare "$repo.tmp"
export GIT_DIR="$repo.tmp" GIT_WORK_TREE="$repo.src"
export GIT_AUTHOR_NAME="Debian linux-source" GIT_AUTHOR_EMAIL="debian-kernel@lists.debian.org"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
export GIT_AUTHOR_DATE="2025-01-01T00:00:00Z" GIT_COMMITTER_DATE="2025-01-01T00:00:00Z"
echo "linux-source-git: committing $(basename "$repo.src")" >&2
git -c core.autocrlf=false -c core.safecrlf=false add -A -f
git -c core.autocrlf=false commit -q -m "$name from $(basename "$tarball")" 
git branch -m master 2>/dev/null || true
git symbolic-ref HEAD refs/heads/master
git repack -adq --window=0  # one commit: deltas gain little, a pack beats 92k loose objects
unset GIT_DIR GIT_WORK_TREE
rm -rf "$repo.src"
touch "$repo.tmp/xeci-complete"
mv "$repo.tmp" "$repo"
echo "$repo"
