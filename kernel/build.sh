#!/usr/bin/env bash
# One sandboxed kernel build, as xecid runs it (a child process) and as
# `xeci build` runs it from a terminal.
#
#   kernel/build.sh --src SRC --obj OBJ --out OUT --config FRAGMENT...
#                   [--jobs N] [--timeout SECONDS] [--log-max BYTES]
#                   [--targets "bzImage modules"] [--ccache DIR]
#
# SRC   the kernel source, read-only inside the sandbox.
# OBJ   kbuild's output dir (make O=OBJ), kept from build to build for the
#       same tree and config so a build after a small patch is incremental.
# OUT   this build's own dir: build.log (streamed, capped) and the artifacts
#       bzImage, modules.tar.gz, config, System.map, kernelrelease, build-id,
#       hmm-tests (when the config has TEST_HMM).
# --ccache DIR: compile through ccache with its cache in DIR (writable in the
#       sandbox), when ccache is installed. Like OBJ, DIR is shared by the
#       builds of one tree and config, and trusted no more than OBJ is.
# A FRAGMENT names its base in a `# xeci-base: defconfig|kunit` line and may
# pull files of the tree in with `# xeci-include: PATH` (kernel/configs/).
#
# Everything that reads or runs the tree runs under bubblewrap (sandbox.sh).
# stdout carries only `xeci-step: NAME`, `xeci-progress: N` (files compiled)
# and a last `xeci-status: STATUS` line; the exit code says the same:
#   0 ok, 10 config-failed, 11 build-failed, 12 modules-failed,
#   13 selftests-failed, 14 package-failed, 124 timeout, 2 usage.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/sandbox.sh"

src= obj= out= ccache= jobs=$(nproc) timeout=7200 logmax=$((64 << 20)) inner=0
targets="bzImage modules"
configs=()
while [ $# -gt 0 ]; do
	case $1 in
	--src) src=$2; shift 2 ;;
	--obj) obj=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--config) configs+=("$2"); shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--log-max) logmax=$2; shift 2 ;;
	--targets) targets=$2; shift 2 ;;
	--ccache) ccache=$2; shift 2 ;;
	--inner) inner=1; shift ;;
	*) echo "build.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
usage() { echo "build.sh: $*" >&2; echo "xeci-status: usage"; exit 2; }

# ---- inside the sandbox --------------------------------------------------

kmake() {
	if [ -n "$ccache" ]; then
		CCACHE_DIR=$ccache make -C "$src" O="$obj" ARCH=x86_64 CC="ccache gcc" "$@"
	else
		make -C "$src" O="$obj" ARCH=x86_64 "$@"
	fi
}
step() { echo "xeci-step: $1"; }
fail() { echo "xeci-error: $2"; exit "$1"; }

inner_config() {
	step config
	local meta=$out/.xeci base=defconfig f inc
	base=$(sed -n 's/^# xeci-base: *//p' "$meta"/fragment-* | head -n1)
	: > "$meta/merge.config"
	case ${base:-defconfig} in
	defconfig)
		kmake -s defconfig || fail 10 "make defconfig failed"
		cp "$obj/.config" "$meta/merge.config" ;;
	kunit) ;;
	*) fail 10 "unknown xeci-base: $base" ;;
	esac
	for inc in $(sed -n 's/^# xeci-include: *//p' "$meta"/fragment-*); do
		case $inc in /*|*..*) fail 10 "xeci-include must be a path inside the tree: $inc" ;; esac
		[ -f "$src/$inc" ] || fail 10 "xeci-include: $inc: not in the tree"
		cat "$src/$inc" >> "$meta/merge.config"
	done
	cat "$meta"/fragment-* >> "$meta/merge.config"
	# Kconfig reads the file in order, the last assignment of a symbol wins.
	cp "$meta/merge.config" "$obj/.config"
	kmake -s olddefconfig || fail 10 "make olddefconfig failed"
	# Say which requested options Kconfig did not grant (a missing
	# dependency, an option this tree does not have).
	local line sym want got
	grep -hE '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)' "$meta"/fragment-* |
	while read -r line; do
		if [[ $line == "# "* ]]; then sym=${line#\# }; sym=${sym%% *}; want=n
		else sym=${line%%=*}; want=${line#*=}; fi
		got=$(sed -n "s/^$sym=//p" "$obj/.config" | tail -n1)
		[ -z "$got" ] && got=n
		[ "$want" = "$got" ] || echo "xeci-config-mismatch: $sym requested $want, got $got"
	done
}

inner_build() {
	step build
	# shellcheck disable=SC2086
	kmake -j"$jobs" $targets || fail 11 "make $targets failed"
}

inner_modules() {
	grep -q '^CONFIG_MODULES=y' "$obj/.config" || return 0
	step modules
	rm -rf "$out/.xeci/modroot"
	kmake -s INSTALL_MOD_PATH="$out/.xeci/modroot" INSTALL_MOD_STRIP=1 \
		modules_install || fail 12 "make modules_install failed"
	tar -C "$out/.xeci/modroot" -czf "$out/modules.tar.gz" --owner=0 --group=0 . ||
		fail 12 "modules tarball failed"
	rm -rf "$out/.xeci/modroot"
}

inner_selftests() {
	grep -qE '^CONFIG_TEST_HMM=(y|m)' "$obj/.config" || return 0
	step selftests
	# Static, so the guest's initramfs needs no libc (REFERENCE.md §1).
	gcc -O2 -static -I "$src" -U_FORTIFY_SOURCE -o "$out/hmm-tests" \
		"$src/tools/testing/selftests/mm/hmm-tests.c" -lrt -lpthread -lm ||
		fail 13 "hmm-tests failed to build"
}

inner_package() {
	step package
	cp "$obj/arch/x86/boot/bzImage" "$out/bzImage" || fail 14 "no bzImage"
	cp "$obj/.config" "$out/config" && cp "$obj/System.map" "$out/System.map" ||
		fail 14 "no .config or System.map"
	kmake -s kernelrelease > "$out/kernelrelease" || fail 14 "make kernelrelease failed"
	readelf -n "$obj/vmlinux" | sed -n 's/.*Build ID: *//p' > "$out/build-id"
}

if [ $inner = 1 ]; then
	inner_config
	inner_build
	inner_modules
	inner_selftests
	inner_package
	exit 0
fi

# ---- outside: check, set up, run the sandbox with a wall-clock limit ------

[ -n "$src" ] && [ -n "$obj" ] && [ -n "$out" ] || usage "--src, --obj and --out are required"
[ ${#configs[@]} -gt 0 ] || usage "at least one --config FRAGMENT"
[ -f "$src/Makefile" ] || usage "$src: not a kernel tree (no Makefile)"
mkdir -p "$obj" "$out/.xeci" || usage "cannot create $obj or $out"
src=$(cd "$src" && pwd) obj=$(cd "$obj" && pwd) out=$(cd "$out" && pwd)
case $obj/ in "$src"/*) usage "--obj must be outside the source" ;; esac
i=0
for c in "${configs[@]}"; do
	[ -f "$c" ] || usage "$c: no such config fragment"
	cp "$c" "$out/.xeci/fragment-$i-$(basename "$c")"
	i=$((i + 1))
done
rm -f "$out/build.log"
if [ -n "$ccache" ]; then
	if command -v ccache >/dev/null; then
		mkdir -p "$ccache" && ccache=$(cd "$ccache" && pwd)
	else
		ccache=
	fi
fi

# One build at a time in a kbuild dir (two daemons, a daemon and a
# terminal): the second waits.
exec 8>"$obj/.xeci-build.lock"
flock -w "$timeout" 8 || { echo "xeci-error: $obj is busy"; echo "xeci-status: timeout"; exit 124; }

# When whoever started us dies (xecid killed -9), the build dies too rather
# than run on, orphaned, into a kbuild dir the next daemon reuses. Our
# caller made us a session leader, so the group is everything we started.
if [ "$(cut -d' ' -f6 /proc/$$/stat)" = "$$" ]; then
	(
		while [ "$(cut -d' ' -f4 /proc/$$/stat 2>/dev/null)" = "$PPID" ]; do sleep 2; done
		kill -KILL -- -$$
	) </dev/null >/dev/null 2>&1 &
	watchdog=$!
fi

run_sandboxed() {
	# --foreground: timeout stays in our process group, so killing the group
	# (xeci's own limit, a cancel, the watchdog) reaches the sandbox too
	timeout --foreground -s KILL "$timeout" bash -c '
		. "$1/sandbox.sh"; shift
		xeci_sandbox "$1:$2" "$3:$4:$5" -- bash "$2/build.sh" --inner "${@:6}"
	' _ "$here" "$src" "$here" "$obj" "$out" "$ccache" \
		--src "$src" --obj "$obj" --out "$out" --jobs "$jobs" --targets "$targets" \
		${ccache:+--ccache "$ccache"} </dev/null 2>&1
}
run_sandboxed | xeci_log_capped "$out/build.log" "$logmax"
rc=${PIPESTATUS[0]}
case $rc in
0) status=ok ;; 10) status=config-failed ;; 11) status=build-failed ;;
12) status=modules-failed ;; 13) status=selftests-failed ;; 14) status=package-failed ;;
124 | 137) status=timeout; rc=124; echo "[xeci: killed after ${timeout}s]" >> "$out/build.log" ;;
*) status=sandbox-failed ;;
esac
[ -n "${watchdog:-}" ] && kill "$watchdog" 2>/dev/null
echo "xeci-status: $status"
exit "$rc"
