#!/usr/bin/env bash
# Installs every Debian package that xeci's build, tests and demo need.
# Idempotent: does nothing (and needs no network) when all are present.
# Run as root on Debian 12.
set -euo pipefail

PACKAGES=(
	# build
	build-essential cmake pkg-config git
	libgit2-dev libgmime-3.0-dev libuv1-dev libjansson-dev libcurl4-openssl-dev
	libsqlite3-dev libssl-dev zlib1g-dev libdeflate-dev node-llhttp
	# tests: cmocka, sanitizers and libFuzzer (clang), real peers
	libcmocka-dev clang libclang-rt-14-dev
	public-inbox b4 python3 sqlite3 time
	# kernel builds: Debian's kernel source, its build tools, the sandbox
	linux-source-6.12 flex bison bc libelf-dev cpio xz-utils perl bubblewrap
	# booting the built kernel: QEMU and a static busybox for the initramfs
	qemu-system-x86 busybox-static
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing ${missing[*]}; run as root" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
