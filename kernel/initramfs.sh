#!/usr/bin/env bash
# The initramfs that xeci-agent's qemu back-end boots a built kernel with
# (REFERENCE.md §1): busybox-static and its applet links, the build's
# modules (modules.tar.gz, so test_hmm.ko), the hmm-tests selftest, and an
# /init that runs the suites named on the kernel command line.
#
#   kernel/initramfs.sh ARTIFACT_DIR OUT.cpio.gz
#
# ARTIFACT_DIR holds a build's artifacts (bzImage, modules.tar.gz,
# hmm-tests); a missing modules.tar.gz or hmm-tests leaves them out (the
# init then reports the suite as unable to run). OUT is written atomically.
#
# The init reads `xeci.suites=S1,S2` from /proc/cmdline (default:
# kunit:xe,ktap:hmm-tests). KUnit runs in the kernel before /init
# (kunit.enable=1); `ktap:hmm-tests` loads test_hmm.ko and runs
# /hmm-tests, whose kselftest TAP goes to the console between
#   xeci-suite-begin: ktap:hmm-tests
#   xeci-suite-end: ktap:hmm-tests rc=N
# lines. `xeci-init: start` and `xeci-init: done` bracket the init's work,
# then it powers the machine off (poweroff -f).
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: initramfs.sh ARTIFACT_DIR OUT.cpio.gz" >&2; exit 2; }
arts=$1 out=$2
busybox=${XECI_BUSYBOX:-/bin/busybox}
[ -d "$arts" ] || { echo "initramfs.sh: $arts: not a directory" >&2; exit 1; }
file "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	{ echo "initramfs.sh: $busybox is not a static busybox (Debian: busybox-static)" >&2; exit 1; }

root=$(mktemp -d "${TMPDIR:-/tmp}/xeci-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,lib/modules}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
# cpio needs these before devtmpfs is mounted, for the first messages
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$root/dev/null" c 1 3 2>/dev/null || true

if [ -f "$arts/modules.tar.gz" ]; then
	tar -C "$root" -xzf "$arts/modules.tar.gz" --no-same-owner
fi
if [ -f "$arts/hmm-tests" ]; then
	install -m 755 "$arts/hmm-tests" "$root/hmm-tests"
fi

cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox mount -t tmpfs tmpfs /tmp
export PATH=/bin:/sbin
echo "xeci-init: start"
suites=$(sed -n 's/.*xeci\.suites=\([^ ]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
[ -n "$suites" ] || suites="kunit:xe ktap:hmm-tests"

hmm_tests() {
	ko=$(find /lib/modules -name 'test_hmm.ko*' 2>/dev/null | head -n1)
	if [ ! -x /hmm-tests ]; then
		echo "xeci: no hmm-tests in this build"; return 125
	fi
	if [ -z "$ko" ] || ! insmod "$ko"; then
		echo "xeci: cannot load test_hmm.ko"; return 125
	fi
	# kernel info messages would interleave with the TAP on the console;
	# warnings, oopses and panics still show
	echo 5 > /proc/sys/kernel/printk
	/hmm-tests
	rc=$?
	echo 7 > /proc/sys/kernel/printk
	return $rc
}

for s in $suites; do
	case $s in
	kunit:*) ;; # ran in the kernel before /init
	ktap:hmm-tests)
		echo "xeci-suite-begin: $s"
		hmm_tests
		echo "xeci-suite-end: $s rc=$?" ;;
	*) echo "xeci-suite-unknown: $s" ;;
	esac
done
echo "xeci-init: done"
sync
poweroff -f
INIT
chmod 755 "$root/init"

tmp="$out.tmp.$$"
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0 | gzip -6) > "$tmp"
mv "$tmp" "$out"
