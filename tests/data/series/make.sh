#!/bin/sh
# Regenerates the .mbox files here from a scratch git repository with
# `git format-patch --thread --cover-letter -vN --base`; the odd cases are
# edited with sed. The .json beside each is `xeci series assemble` output,
# checked by hand (and against `b4 am -m` where b4 is right).
set -eu
out=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
git init -q r && cd r
git config user.name "A U Thor"; git config user.email author@example.com
export GIT_AUTHOR_DATE="2024-01-02T10:00:00Z" GIT_COMMITTER_DATE="2024-01-02T10:00:00Z"
mkdir -p drivers/gpu/drm/xe
echo base > drivers/gpu/drm/xe/xe.c; git add .; git commit -qm base
for i in 1 2 3; do
	echo "line $i" >> drivers/gpu/drm/xe/xe.c
	git commit -qam "drm/xe: change $i" -m "Why change $i." -m "Signed-off-by: A U Thor <author@example.com>"
done
fp() { git format-patch -q --thread --cover-letter --base=HEAD~3 "$@" HEAD~3..HEAD --stdout; }
v1=$(fp -v1 | sed 's/\*\*\* SUBJECT HERE \*\*\*/drm\/xe: three changes/')
echo "$v1" > "$tmp/v1"
cover=$(grep -m1 -i '^Message-ID:' "$tmp/v1" | sed 's/Message-I[dD]: <\(.*\)>/\1/')
p2=$(grep -i '^Message-ID:' "$tmp/v1" | sed -n 3p | sed 's/Message-I[dD]: <\(.*\)>/\1/')
reply() { # id irt subject from body
	printf 'From nobody Mon Sep 17 00:00:00 2001\nFrom: %s\nDate: Tue, 2 Jan 2024 12:00:00 +0000\nSubject: %s\nMessage-ID: <%s>\nIn-Reply-To: <%s>\nReferences: <%s>\n\n%s\n\n' "$4" "$3" "$1" "$2" "$2" "$5"
}
{ echo "$v1"; echo
  reply rev1@example.com "$cover" "Re: [PATCH v1 0/3] drm/xe: three changes" "Rev Iewer <rev@example.com>" "Looks good.

Reviewed-by: Rev Iewer <rev@example.com>"
  reply ack1@example.com "$p2" "Re: [PATCH v1 2/3] drm/xe: change 2" "Ack Er <ack@example.com>" "> quoted

Acked-by: Ack Er <ack@example.com>"
} > "$out/reviews.mbox"
# out of order: the same mails, patches before the cover, replies first
python3 - "$out/reviews.mbox" "$out/out-of-order.mbox" <<'PY'
import re, sys
msgs = re.split(r'(?m)^(?=From [^\n]*\d{4}\n)', open(sys.argv[1]).read())
msgs = [m for m in msgs if m.strip()]
open(sys.argv[2], 'w').write(''.join(m if m.endswith('\n\n') else m + '\n' for m in reversed(msgs)))
PY
# a missing patch: 2/3 never arrived
python3 - "$tmp/v1" "$out/missing.mbox" <<'PY'
import re, sys
msgs = [m for m in re.split(r'(?m)^(?=From [0-9a-f]{40} )', open(sys.argv[1]).read()) if m.strip()]
# its own Message-IDs and subject, so that it can sit in one inbox with the others
out = ''.join(m for m in msgs if '2/3]' not in m).replace('.git.author@', '.missing.author@')
open(sys.argv[2], 'w').write(out.replace('three changes', 'two of three changes'))
PY
# v2 posted in reply to v1's cover (patchwork#127)
git commit -q --amend -m "drm/xe: change 3" -m "Why change 3, better." -m "Signed-off-by: A U Thor <author@example.com>"
fp -v2 --in-reply-to="$cover" | sed 's/\*\*\* SUBJECT HERE \*\*\*/drm\/xe: three changes/; s/^Date: .*/Date: Wed, 3 Jan 2024 10:00:00 +0000/' > "$tmp/v2"
# new Message-IDs for v2 (format-patch made them from the same commits in the
# same second); the v2 cover still answers v1's cover
python3 - "$tmp/v2" "$cover" <<'PY'
import sys
t = open(sys.argv[1]).read().replace('.git.author@', '.v2.author@')
old = sys.argv[2].replace('.git.author@', '.v2.author@')
head, sep, rest = t.partition('\n\n')
head = head.replace('<' + old + '>', '<' + sys.argv[2] + '>').replace('Message-ID: <' + sys.argv[2], 'Message-ID: <' + old).replace('Message-Id: <' + sys.argv[2], 'Message-Id: <' + old)
open(sys.argv[1], 'w').write(head + sep + rest)
PY
{ echo "$v1"; echo; cat "$tmp/v2"; } > "$out/v2-reply-to-v1.mbox"
# a resend of the whole posting, as a new thread
{ echo "$v1"; echo; fp -v1 --subject-prefix="PATCH RESEND" | sed 's/\*\*\* SUBJECT HERE \*\*\*/drm\/xe: three changes/; s/^Date: .*/Date: Wed, 3 Jan 2024 10:00:00 +0000/; s/\.git\.author@/.resend.author@/'; } > "$out/resend.mbox"
# [PATCH1/8]: no space (patchwork#126), 8 patches threaded under the first, no cover
for i in 4 5 6 7 8; do echo "line $i" >> drivers/gpu/drm/xe/xe.c; git commit -qam "drm/xe: change $i"; done
git format-patch -q --thread --stdout HEAD~8..HEAD | sed 's/^Subject: \[PATCH \([0-9]\)\/8\]/Subject: [PATCH\1\/8]/; s/\.git\.author@/.p18.author@/' > "$out/patch1-8.mbox"
# tags in any order: [RFC v2 PATCH 2/3], [PATCH 3/3 v2], [v2 PATCH 0/3]
git format-patch -q --thread --cover-letter -v2 --stdout HEAD~3..HEAD | sed \
	-e 's/\*\*\* SUBJECT HERE \*\*\*/drm\/xe: three more/' \
	-e 's/^Subject: \[PATCH v2 0\/3\]/Subject: [v2 PATCH 0\/3]/' \
	-e 's/^Subject: \[PATCH v2 2\/3\]/Subject: [RFC v2 PATCH 2\/3]/' \
	-e 's/^Subject: \[PATCH v2 3\/3\]/Subject: [PATCH 3\/3 v2]/' -e 's/\.git\.author@/.tags.author@/' > "$out/tags-any-order.mbox"
# a pull request (git request-pull), and a thread without patches
{ printf 'From nobody Mon Sep 17 00:00:00 2001\nFrom: Maint Ainer <maint@example.com>\nDate: Thu, 4 Jan 2024 10:00:00 +0000\nSubject: [GIT PULL] drm-xe-next\nMessage-ID: <pull1@example.com>\n\nHi Dave,\n\n'
  git request-pull HEAD~3 https://example.com/xe.git HEAD 2>/dev/null || true; echo; } > "$out/pull-request.mbox"
{ reply q1@example.com none@example.com "How do I enable fault mode?" "User <user@example.com>" "Question." | sed '/^In-Reply-To/d; /^References/d'
  reply q2@example.com q1@example.com "Re: How do I enable fault mode?" "Dev <dev@example.com>" "Answer.

Reviewed-by: Dev <dev@example.com>"; } > "$out/no-patches.mbox"
# b4 postings by one author under one subject, months apart, each with its own
# change-id: two series, not two versions of one. The first one's patches
# arrive before its cover (the series learns its change-id late); a CI report
# on it has trailer-shaped lines that are no review ("total: ...", a Link: to
# a URL), a reviewer's reply has one.
b4mail() { # id irt subject date body [change-id]
	printf 'From nobody Mon Sep 17 00:00:00 2001\nFrom: Lu Cas <lucas@example.com>\nDate: %s\nSubject: %s\nMessage-ID: <%s>\n' "$4" "$3" "$1"
	[ -n "$2" ] && printf 'In-Reply-To: <%s>\nReferences: <%s>\n' "$2" "$2"
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset="utf-8"\n\n%s\n' "$5"
	[ -n "${6:-}" ] && printf '\n---\nchange-id: %s\n\nBest regards,\n-- \nLu Cas <lucas@example.com>\n' "$6"
	echo
}
b4patch() { # n total cover date tag
	git format-patch -q --stdout -1 HEAD~$((3 - $1)) | sed -n '/^---$/,$p' > "$tmp/diff"
	b4mail "${3%%-0-*}-$1-$5@example.com" "$3" "[PATCH $1/$2] drm/xe: change $1" "$4" "Why change $1.

Signed-off-by: Lu Cas <lucas@example.com>
$(cat "$tmp/diff")"
}
{ c1=20240407-bo-eviction-v1-0-aaaa@example.com
  b4patch 1 2 $c1 "Sun, 7 Apr 2024 10:00:01 +0000" aaaa
  b4patch 2 2 $c1 "Sun, 7 Apr 2024 10:00:02 +0000" aaaa
  b4mail $c1 "" "[PATCH 0/2] drm/xe: Improve BO eviction" "Sun, 7 Apr 2024 10:00:00 +0000" "Two changes." 20240407-bo-eviction-aaaa11112222
  printf 'From nobody Mon Sep 17 00:00:00 2001\nFrom: Patchwork <patchwork@emeril.example.org>\nDate: Sun, 7 Apr 2024 11:00:00 +0000\nSubject: =?utf-8?q?=E2=9C=93_CI=2Echeckpatch=3A_success_for_drm/xe=3A_Improve_BO_eviction?=\nMessage-ID: <ci1@emeril.example.org>\nIn-Reply-To: <%s>\nReferences: <%s>\n\n== Series Details ==\n\nSeries: drm/xe: Improve BO eviction\nURL   : https://patchwork.example.org/series/1/\nState : success\n\n== Summary ==\n\ntotal: 0 errors, 1 warnings, 0 checks, 57 lines checked\nLink: https://patchwork.example.org/series/1/\n\n' "$c1" "$c1"
  reply rev2@example.com "20240407-bo-eviction-v1-2-aaaa@example.com" "Re: [PATCH 2/2] drm/xe: change 2" "Rev Iewer <rev@example.com>" "> quoted

Reviewed-by: Rev Iewer <rev@example.com>"
  c2=20240701-bo-eviction-v1-0-bbbb@example.com
  b4mail $c2 "" "[PATCH 0/1] drm/xe: Improve BO eviction" "Mon, 1 Jul 2024 10:00:00 +0000" "Another take." 20240701-bo-eviction-bbbb33334444
  b4patch 1 1 $c2 "Mon, 1 Jul 2024 10:00:01 +0000" bbbb
} > "$out/b4-same-subject.mbox"
# one author, one title, two topics without change-ids (one's v1 posted
# between the other's v2 and v3): each version joins the series whose newest
# version comes just below it, posted before it; a v1 after a v2 starts anew
same_title() { # id version date n
	git format-patch -q --stdout -1 HEAD~$4 | sed -n '/^---$/,$p' > "$tmp/diff"
	printf 'From nobody Mon Sep 17 00:00:00 2001\nFrom: Ti Tle <title@example.com>\nDate: %s\nSubject: [PATCH v%s] drm/xe: Improve hwmon power limits\nMessage-ID: <%s@example.com>\n\nVersion %s of %s.\n\nSigned-off-by: Ti Tle <title@example.com>\n%s\n\n' \
		"$3" "$2" "$1" "$2" "$1" "$(cat "$tmp/diff")"
}
{ same_title a1 1 "Sat, 30 Mar 2024 10:00:00 +0000" 1
  same_title a2 2 "Tue, 9 Apr 2024 10:00:00 +0000" 2
  same_title b1 1 "Sat, 20 Apr 2024 10:00:00 +0000" 3
  same_title a3 3 "Sun, 21 Apr 2024 10:00:00 +0000" 4
  same_title b2 2 "Thu, 25 Apr 2024 10:00:00 +0000" 5
} > "$out/same-title.mbox"
