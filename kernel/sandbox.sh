# Sourced by kernel/*.sh: runs untrusted code (a kernel tree from a public
# list, its Makefiles, its scripts) under bubblewrap.
#
#   xeci_sandbox RO_DIRS RW_DIRS -- CMD ARGS...
#
# RO_DIRS and RW_DIRS are colon-separated lists of absolute paths. Inside:
# no network (a loopback of its own), its own pid/ipc/uts namespaces, /usr
# and the few /etc files a toolchain needs read-only, a private /tmp and
# HOME, nothing else of the host: not the xeci database, not its config, not
# /root. The only writable places are RW_DIRS (the build's output) and /tmp.
# The sandbox dies with its parent, so killing the caller kills the build.
# It replaces the calling shell (exec): call it from a subshell or `bash -c`.

xeci_sandbox() {
	local ro=$1 rw=$2
	shift 3
	local args=(
		--unshare-all --die-with-parent --new-session
		--ro-bind /usr /usr
		--symlink usr/bin /bin --symlink usr/lib /lib
		--symlink usr/lib64 /lib64 --symlink usr/sbin /sbin
		--proc /proc --dev /dev --tmpfs /tmp --dir /tmp/home
		--clearenv
		--setenv PATH /usr/local/bin:/usr/bin:/bin
		--setenv HOME /tmp/home --setenv TMPDIR /tmp
		--setenv LANG C.UTF-8 --setenv LC_ALL C.UTF-8
		--setenv KBUILD_BUILD_USER xeci --setenv KBUILD_BUILD_HOST xeci
	)
	local f
	for f in /etc/alternatives /etc/ld.so.cache /etc/ld.so.conf /etc/ld.so.conf.d \
		/etc/passwd /etc/group /etc/perl /etc/localtime; do
		[ -e "$f" ] && args+=(--ro-bind "$f" "$f")
	done
	local d IFS=:
	for d in $ro; do
		[ -n "$d" ] && args+=(--ro-bind "$d" "$d")
	done
	for d in $rw; do
		[ -n "$d" ] && args+=(--bind "$d" "$d")
	done
	unset IFS
	exec bwrap "${args[@]}" "$@"
}

# Copies stdin to FILE, at most MAX bytes (then one note, and the rest is
# read and dropped, so the writer never gets SIGPIPE), flushing each line so
# a reader tailing FILE sees the build as it runs. Prints "xeci-progress: N"
# on stdout every 50 compiled files (kbuild's "  CC" lines), and copies the
# script's own xeci-step/-error/-config-mismatch lines there too.
xeci_log_capped() {
	local file=$1 max=$2
	perl -e '
		my ($file, $max) = @ARGV;
		open(my $fh, ">>", $file) or die "$file: $!\n";
		$fh->autoflush(1); STDOUT->autoflush(1);
		my ($n, $cut, $cc) = (-s $file || 0, 0, 0);
		while (my $l = <STDIN>) {
			print $l if $l =~ /^xeci-(step|error|config-mismatch):/;
			if ($l =~ /^  CC /) { $cc++; print "xeci-progress: $cc\n" if $cc % 50 == 0; }
			if ($n + length($l) <= $max) { print $fh $l; $n += length($l); }
			elsif (!$cut) { print $fh "[xeci: log cut at $max bytes]\n"; $cut = 1; }
		}
		print "xeci-progress: $cc\n";
	' "$file" "$max"
}
