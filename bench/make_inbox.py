#!/usr/bin/env python3
"""Build a public-inbox v2 inbox of N realistic kernel patch mails.

Python 3 stdlib + git + public-inbox-init only.

  bench/make_inbox.py [--messages N] [--epochs E] [--cache DIR] [--seed S]

prints the inbox directory on stdout (last line).  The inbox is cached at
/var/cache/xeci/bench/inbox-<N>-<hash of this file>[-e<E>]/ and reused when
present, so the same N (and the same make_inbox.py) gives the same inbox.

How the mail is made:
  * a subset of linux-source-6.12 (drivers/gpu/drm/xe, i915/gt, ttm,
    scheduler, drm core, mm, include/drm, ...) is read straight from
    /usr/src/linux-source-6.12.tar.xz and imported with `git fast-import`
    into a scratch repository, with a line of "upstream" commits on top
    (the bases that series are posted against);
  * topics (series) get 1-12 patches, each a commit that makes a small,
    plausible edit to a real file (document a function, change a constant
    or an errno, rename a local variable, add an include or an assertion);
    later versions (v2, v3, ...) reuse the topic's edits with changes, often
    on a newer base, carry review trailers, and b4 users put a `change-id:`
    in the cover;
  * each version is rendered by `git format-patch --stdout --thread
    --cover-letter -vN --base=<commit>`, then its headers are rewritten as a
    list archive would hold them (Received, List-Id, deterministic
    Message-IDs in git-send-email or b4 style, Dates of the posting);
  * replies: Reviewed-by/Acked-by/Tested-by quoting part of the patch,
    discussions (nested), CI bot results on the cover, "applied, thanks";
    some quoted-printable, some multipart/alternative, some UTF-8 names;
  * a few postings lose a patch (incomplete series), a few arrive out of
    order;
  * the inbox is made by `public-inbox-init -V2`, then every message is one
    commit on refs/heads/master of git/0.git written with `git fast-import`
    (tree = one blob `m`, author = From with the mail's Date, committer =
    the inbox ident with the arrival time, message = Subject), which is what
    public-inbox's own Import.pm writes.  public-inbox-index accepts it.

Besides the inbox, the cache directory holds (outside git/, invisible to
public-inbox): xeci-bench.json (figures) and incremental.eml, a new 1-patch
series posted after the last message, for the incremental benchmark.
"""
import argparse
import concurrent.futures
import email.header
import hashlib
import json
import os
import quopri
import random
import re
import shutil
import subprocess
import sys
import tarfile
import time
import unicodedata

SRC_TAR = '/usr/src/linux-source-6.12.tar.xz'
SUBSET = (
    'drivers/gpu/drm/xe/', 'drivers/gpu/drm/i915/gt/', 'drivers/gpu/drm/ttm/',
    'drivers/gpu/drm/scheduler/', 'drivers/gpu/drm/drm_', 'mm/', 'include/drm/',
    'include/uapi/drm/', 'kernel/dma/', 'lib/test_hmm', 'tools/testing/selftests/mm/',
)
LIST = 'intel-xe@lists.freedesktop.org'
INBOX_NAME = 'intel-xe'
START = 1709510400  # Mon 2024-03-04 00:00:00 UTC
MSGS_PER_DAY = 300

# --------------------------------------------------------------------------
# people

FIRST = ('Matthew Thomas Lucas Rodrigo Jani Ville Maarten Himal Nirmoy Matt '
         'Michal Lukasz Daniele John Ashutosh Badal Riana Tejas Balasubramani '
         'Francois Jonathan Oak Brian Stuart Alan Vinay Karthik Niranjana '
         'Priyanka Zhanjun Dnyaneshwar Shuicheng Gustavo Julia Chris Umesh '
         'Akshata Janusz Kamil Andrzej Piotr Jakub Krzysztof Mauro Jose Raag '
         'Aravind Suraj Ankit Animesh Imre Jouni Juha-Pekka Stanislav Tvrtko '
         'Christian Danilo Boris Dave Simona Sima Alex Felix Philipp Tomeu '
         'Javier Maxime Hans Jason Leon Ira Alistair Balbir Ralph Jerome David '
         'Peter Andrew Vlastimil Lorenzo Liam Mike Hugh Yosry Kefeng Baolin').split()
FIRST_U = ['Michał', 'Jérôme', 'Zoë', 'Björn', 'Łukasz', 'José', 'Maíra', 'Søren',
           'Rémi', 'Jiří', 'Gwan-gyeong', 'Ilpo', 'Joonas', 'Thomas']
LAST = ('Brost Auld Hellstrom Vivi Nikula Syrjala Lankhorst Ghimiray Das Roper '
        'Wajdeczko Laguna Ceraolo Harrison Dixit Nilawar Tauro Upadhyay Kumar '
        'Dugast Cavitt Zeng Welty Summers Previn Belgaumkar Vishwanathapura '
        'Bommu Chen Dhande Lin Sousa Bialynicka Piecielska Konieczny Hajda '
        'Zawiasa Kempczynski Chehab Souza Jain Kamble Ghimire Deak Hogander Pekka '
        'Lisovskiy Ursulin Koenig Krummrich Brezillon Airlie Vetter Deucher '
        'Kuehling Stanner Vizoso Canillas Ripard Verkuil Gunthorpe Romanovsky '
        'Weiny Popple Singh Campbell Glisse Hildenbrand Zijlstra Morton Babka '
        'Stoakes Howlett Rapoport Dickins Ahmed Wang Zhang Li Liu Yang Huang').split()
LAST_U = ['Hellström', 'Syrjälä', 'Wójcik', 'Hämäläinen', 'Müller', 'Nørgaard',
          'Kosiński', 'Lahtinen', 'Canal', 'Dvořák', 'Jürgens', 'Ferrière']
DOMAINS = (['intel.com'] * 12 + ['linux.intel.com'] * 3 +
           ['amd.com', 'redhat.com', 'suse.de', 'kernel.org', 'gmail.com',
            'collabora.com', 'nvidia.com', 'google.com', 'igalia.com', 'ffwll.ch',
            'linux-foundation.org', 'oracle.com', 'huawei.com', 'linaro.org'])
TRANSLIT = str.maketrans({'ł': 'l', 'Ł': 'L', 'ø': 'o', 'Ø': 'O', 'ß': 'ss', 'æ': 'ae'})
TZS = ['+0000', '+0100', '+0200', '+0300', '+0530', '+0800', '-0700', '-0800', '-0400', '+0900']

CI_BOTS = [('Patchwork', 'patchwork@emeril.freedesktop.org')]
CI_CHECKS = [
    ('✓', 'CI.Patch_applied', 'success'), ('✓', 'CI.checkpatch', 'success'),
    ('✗', 'CI.checkpatch', 'warning'), ('✓', 'CI.KUnit', 'success'),
    ('✓', 'CI.Build', 'success'), ('✓', 'CI.Hooks', 'success'),
    ('✓', 'CI.checksparse', 'success'), ('✓', 'Xe.CI.BAT', 'success'),
    ('✗', 'Xe.CI.BAT', 'failure'), ('✗', 'Xe.CI.Full', 'failure'),
    ('✓', 'Xe.CI.Full', 'success'),
]


class Person:
    __slots__ = ('name', 'email', 'tz', 'client', 'b4', 'pid')

    def __init__(self, name, email, tz, client, b4, pid):
        self.name, self.email, self.tz, self.client, self.b4, self.pid = name, email, tz, client, b4, pid

    def addr(self):
        return '%s <%s>' % (self.name, self.email)


def make_people(rng, n):
    people, seen = [], set()
    while len(people) < n:
        first = rng.choice(FIRST_U) if rng.random() < 0.08 else rng.choice(FIRST)
        last = rng.choice(LAST_U) if rng.random() < 0.08 else rng.choice(LAST)
        if rng.random() < 0.03:
            first, last = rng.choice(['伟', '芳', '敏', '静']), rng.choice(['王', '李', '张', '刘'])
        name = '%s %s' % (first, last)
        if name in seen:
            continue
        seen.add(name)
        dom = rng.choice(DOMAINS)
        local = (first + '.' + last).lower() if dom.endswith('intel.com') else (first[0] + last).lower()
        local = unicodedata.normalize('NFKD', local.translate(TRANSLIT)).encode('ascii', 'ignore').decode().replace(' ', '')
        if not local.strip('.'):
            local = 'user%d' % len(people)
        if dom == 'gmail.com':
            local = local.replace('.', '') + str(rng.randint(1, 99))
        client = rng.choices(['mutt', 'thunderbird', 'outlook', 'gmail', 'b4'], [30, 25, 20, 10, 15])[0]
        people.append(Person(name, '%s@%s' % (local, dom), rng.choice(TZS), client,
                             rng.random() < 0.3, rng.randint(1000, 4000000)))
    return people


# --------------------------------------------------------------------------
# RFC 2822 helpers

DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']
MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']


def tz_secs(tz):
    s = (int(tz[1:3]) * 3600 + int(tz[3:5]) * 60)
    return -s if tz[0] == '-' else s


def rfc_date(t, tz):
    g = time.gmtime(t + tz_secs(tz))
    return '%s, %d %s %d %02d:%02d:%02d %s' % (DAYS[g.tm_wday], g.tm_mday, MONTHS[g.tm_mon - 1],
                                               g.tm_year, g.tm_hour, g.tm_min, g.tm_sec, tz)


def stamp(t, fmt='%Y%m%d%H%M%S'):
    return time.strftime(fmt, time.gmtime(t))


def q_encode(s):
    """RFC 2047 Q-encoding of a display name when it is not ASCII."""
    try:
        s.encode('ascii')
        return s
    except UnicodeEncodeError:
        pass
    out = []
    for b in s.encode('utf-8'):
        c = chr(b)
        if c.isalnum() and b < 128:
            out.append(c)
        elif c == ' ':
            out.append('_')
        else:
            out.append('=%02X' % b)
    return '=?UTF-8?q?%s?=' % ''.join(out)


def fmt_addr(p):
    return '%s <%s>' % (q_encode(p.name), p.email)


def fold(name, value, width=78):
    """Fold a header at spaces, as mail clients do."""
    line = '%s: %s' % (name, value)
    if len(line) <= width:
        return line
    words, out, cur = line.split(' '), [], ''
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = ' ' + w
        else:
            cur = (cur + ' ' + w) if cur else w
    out.append(cur)
    return '\n'.join(out)


def unfold(v):
    return re.sub(r'\n[ \t]+', ' ', v)


# --------------------------------------------------------------------------
# edits to real files

FUNC_RE = re.compile(r'^(?:static\s+)?(?:inline\s+)?(?:const\s+)?[a-z_][\w \*]*?\b([a-z_]\w*)\(([^;]*)$')
DECL_RE = re.compile(r'^\t(?:const\s+)?(?:struct\s+\w+\s*\*|u8|u16|u32|u64|s32|s64|int|long|'
                     r'unsigned int|unsigned long|bool|size_t|dma_addr_t)\s*\*?\s*([a-z_]\w*)(?:\s*=[^;]*)?;$')
NUM_RE = re.compile(r'^(#define\s+([A-Z_][A-Z0-9_]+)\s+)(\d+)(\s*(?:/\*.*)?)$')
ERRNO = ['EINVAL', 'ENOMEM', 'EBUSY', 'EIO', 'ENODEV', 'EOPNOTSUPP', 'ENOSPC', 'EAGAIN', 'ETIMEDOUT', 'ENOENT']
ERRNO_RE = re.compile(r'-E(INVAL|NOMEM|BUSY|IO|NODEV|OPNOTSUPP|NOSPC|AGAIN|TIMEDOUT|NOENT)\b')
RENAMES = {'ret': 'err', 'err': 'ret', 'i': 'idx', 'idx': 'i', 'count': 'num', 'size': 'len',
           'len': 'size', 'addr': 'address', 'vm': 'xvm', 'bo': 'obj', 'q': 'queue', 'gt': 'xgt',
           'xe': 'xe_dev', 'flags': 'fl', 'val': 'value', 'reg': 'regval', 'tile': 't', 'page': 'pg'}
INCLUDES = ['linux/bitfield.h', 'linux/delay.h', 'linux/kernel.h', 'linux/slab.h', 'linux/types.h',
            'linux/minmax.h', 'linux/string.h', 'linux/bug.h', 'linux/lockdep.h', 'linux/sched.h']
ASSERTS = ['\tmight_sleep();', '\tlockdep_assert_held(&xe->lock);', '\txe_assert(xe, !IS_ERR(vm));',
           '\tWARN_ON_ONCE(!list_empty(&head));', '\tlockdep_assert_held_write(&vm->lock);']
COMMENTS = ['Nothing to do if the object is already idle.', 'Caller must hold the lock.',
            'Pairs with the barrier in the release path.', 'Keep this in sync with the GuC ABI.',
            'Do not fail here, the hardware may still be busy.', 'See the commit message for details.',
            'The reference is dropped by the caller.', 'This can race with a reset; retry once.']


def enclosing_func(lines, i):
    for j in range(i, max(-1, i - 400), -1):
        m = FUNC_RE.match(lines[j])
        if m and not lines[j].startswith(('#', ' ', '\t')):
            return m.group(1)
    return None


def func_defs(lines):
    out = []
    for i, l in enumerate(lines[:-1]):
        if l and l[0] not in '#\t /*}' and FUNC_RE.match(l):
            # the body opens on this line's last char or a following line starting with '{'
            for k in range(i, min(i + 6, len(lines))):
                if lines[k] == '{':
                    out.append((i, k, FUNC_RE.match(l).group(1)))
                    break
                if lines[k].endswith(';'):
                    break
    return out


def body_end(lines, k):
    for j in range(k + 1, len(lines)):
        if lines[j] == '}':
            return j
    return len(lines) - 1


class Analysis:
    """What try_edit looks for in one file text, computed once per distinct text."""
    __slots__ = ('lines', '_funcs', '_defines', '_errnos', '_returns', '_includes')

    def __init__(self, text):
        self.lines = text.split('\n')
        self._funcs = self._defines = self._errnos = self._returns = self._includes = None

    @property
    def funcs(self):
        if self._funcs is None:
            self._funcs = func_defs(self.lines)
        return self._funcs

    @property
    def defines(self):
        if self._defines is None:
            self._defines = [i for i, l in enumerate(self.lines) if l.startswith('#define') and NUM_RE.match(l)]
        return self._defines

    @property
    def errnos(self):
        if self._errnos is None:
            self._errnos = [i for i, l in enumerate(self.lines) if 'return' in l and ERRNO_RE.search(l)]
        return self._errnos

    @property
    def returns(self):
        if self._returns is None:
            self._returns = [i for i, l in enumerate(self.lines) if l.startswith(('\treturn ', '\t\treturn '))]
        return self._returns

    @property
    def includes(self):
        if self._includes is None:
            self._includes = [i for i, l in enumerate(self.lines) if l.startswith('#include <linux/')]
        return self._includes


_ANALYSIS = {}


def analyse(text):
    a = _ANALYSIS.get(text)
    if a is None:
        a = _ANALYSIS[text] = Analysis(text)
    return a


def try_edit(rng, kind, an):
    """Return (new_lines, description) or None."""
    lines = an.lines if isinstance(an, Analysis) else an
    if not isinstance(an, Analysis):
        an = Analysis('\n'.join(lines))
    if kind == 'doc':
        fs = an.funcs
        fs = [f for f in fs if f[0] > 0 and not lines[f[0] - 1].endswith('*/')]
        if not fs:
            return None
        i, k, fn = rng.choice(fs)
        args = re.findall(r'(\w+)\s*[,)]', ' '.join(lines[i:k]))[:3]
        doc = ['/**', ' * %s() - %s' % (fn, rng.choice(['Helper for the fast path', 'Look up and pin the object',
                                                         'Tear down the state', 'Prepare the request',
                                                         'Handle the completion'])), ' *']
        doc += [' * @%s: the %s' % (a, rng.choice(['device', 'object', 'flags', 'context', 'index'])) for a in args]
        doc += [' *', ' * Return: 0 on success, negative error code on failure.', ' */']
        return lines[:i] + doc + lines[i:], ('document %s()' % fn, fn)
    if kind == 'define':
        cand = an.defines
        if not cand:
            return None
        i = rng.choice(cand)
        m = NUM_RE.match(lines[i])
        n = int(m.group(3))
        nn = n * 2 if n else 1
        new = lines[:i] + ['%s%d%s' % (m.group(1), nn, m.group(4))] + lines[i + 1:]
        return new, ('bump %s to %d' % (m.group(2), nn), m.group(2))
    if kind == 'errno':
        cand = an.errnos
        if not cand:
            return None
        i = rng.choice(cand)
        old = ERRNO_RE.search(lines[i]).group(1)
        new_e = rng.choice([e for e in ERRNO if e != 'E' + old])
        fn = enclosing_func(lines, i) or 'the error path'
        new = lines[:i] + [ERRNO_RE.sub('-' + new_e, lines[i], count=1)] + lines[i + 1:]
        return new, ('return -%s instead of -E%s in %s%s' % (new_e, old, fn, '()' if fn != 'the error path' else ''), fn)
    if kind == 'rename':
        fs = list(an.funcs)
        rng.shuffle(fs)
        for i, k, fn in fs[:30]:
            end = body_end(lines, k)
            for j in range(k + 1, min(end, k + 12)):
                m = DECL_RE.match(lines[j])
                if not m or m.group(1) not in RENAMES:
                    continue
                old, newn = m.group(1), RENAMES[m.group(1)]
                region = '\n'.join(lines[i:end + 1])
                if re.search(r'\b%s\b' % newn, region):
                    continue
                pat = re.compile(r'(?<![\w.>])%s\b' % old)
                new = lines[:i] + [pat.sub(newn, l) for l in lines[i:end + 1]] + lines[end + 1:]
                return new, ("rename '%s' to '%s' in %s()" % (old, newn, fn), fn)
        return None
    if kind == 'assert':
        fs = an.funcs
        if not fs:
            return None
        i, k, fn = rng.choice(fs)
        j = k + 1
        while j < len(lines) and DECL_RE.match(lines[j]):
            j += 1
        a = rng.choice(ASSERTS)
        return lines[:j] + [a] + lines[j:], ('add %s to %s()' % (a.strip().split('(')[0], fn), fn)
    if kind == 'comment':
        cand = an.returns
        if not cand:
            return None
        i = rng.choice(cand)
        ind = lines[i][:len(lines[i]) - len(lines[i].lstrip('\t'))]
        fn = enclosing_func(lines, i) or 'this function'
        return lines[:i] + [ind + '/* %s */' % rng.choice(COMMENTS)] + lines[i:], ('explain the return path in %s()' % fn, fn)
    if kind == 'include':
        cand = an.includes
        if not cand:
            return None
        inc = rng.choice(INCLUDES)
        if any(inc in l for l in lines[:cand[-1] + 1]):
            return None
        i = cand[-1] + 1
        return lines[:i] + ['#include <%s>' % inc] + lines[i:], ('include <%s> explicitly' % inc, inc)
    return None


EDIT_KINDS = ['doc', 'define', 'errno', 'rename', 'assert', 'comment', 'include']
EDIT_W = [14, 10, 16, 18, 14, 18, 10]


def subsystem(path):
    base = os.path.basename(path).rsplit('.', 1)[0]
    if path.startswith('drivers/gpu/drm/xe/'):
        if '/tests/' in path:
            return 'drm/xe/tests'
        if '/display/' in path:
            return 'drm/xe/display'
        if base.startswith('xe_'):
            comp = base[3:].split('_')[0]
            return 'drm/xe/' + comp if comp not in ('device', 'module', 'drv', 'pci') else 'drm/xe'
        return 'drm/xe'
    if path.startswith('drivers/gpu/drm/i915/gt/'):
        return 'drm/i915/gt'
    if path.startswith('drivers/gpu/drm/ttm/'):
        return 'drm/ttm'
    if path.startswith('drivers/gpu/drm/scheduler/'):
        return 'drm/sched'
    if path.startswith('drivers/gpu/drm/drm_'):
        return 'drm/' + base[4:]
    if path.startswith('include/uapi/drm/'):
        return 'drm/uapi'
    if path.startswith('include/drm/'):
        return 'drm/' + base.replace('drm_', '')
    if path.startswith('mm/'):
        return 'mm/' + base if '/' not in path[3:] else 'mm'
    if path.startswith('kernel/dma/'):
        return 'dma-mapping'
    if path.startswith('tools/testing/selftests/mm/'):
        return 'selftests/mm'
    if path.startswith('lib/'):
        return 'lib/' + base
    return base


TOPIC_VERB = ['Fix', 'Rework', 'Clean up', 'Add support for', 'Improve', 'Simplify', 'Document',
              'Harden', 'Refactor', 'Introduce', 'Convert', 'Drop', 'Optimize']
TOPIC_OBJ = ['userptr invalidation', 'GuC submission teardown', 'VM bind error handling', 'SVM prefetch',
             'page fault handling', 'BO eviction', 'exec queue reset', 'GT idle flows', 'TLB invalidation',
             'PXP session management', 'SR-IOV VF migration', 'OA stream lifetime', 'devcoredump capture',
             'hwmon power limits', 'GSC proxy init', 'migrate copy paths', 'HMM range walk',
             'mmu interval notifier usage', 'runtime PM references', 'display power wells', 'ccs metadata',
             'pat table programming', 'wedged mode', 'sched job timeouts', 'drm_gpuvm locking',
             'ttm pool shrinking', 'fence signalling annotations', 'MOCS programming', 'LRC layout']
WHY = ['The current code does not handle the case where the object is still in use, which can '
       'lead to a use-after-free under memory pressure.',
       'This was found while debugging intermittent failures in the fault mode tests.',
       'No functional change intended.',
       'This makes the code easier to follow and prepares for the following patches.',
       'Sparse and smatch complained about this path.',
       'The hardware specification requires this ordering; without it the GuC may hang.',
       'It is cheaper to do this once at init than on every submission.',
       'Reported by the CI on BMG and LNL machines.',
       'Holding the lock across the wait is not needed and triggers a lockdep splat.']


# --------------------------------------------------------------------------
# plan

class Msg:
    """One mail of the archive (rendered later)."""
    __slots__ = ('t', 'arrive', 'kind', 'who', 'ver', 'idx', 'parent', 'mid', 'extra', 'raw', 'subject',
                 'extra_body', 'subject_clean', 'subject_decoded')

    def __init__(self, t, kind, who, ver=None, idx=0, parent=None, extra=None):
        self.t, self.kind, self.who, self.ver, self.idx, self.parent, self.extra = t, kind, who, ver, idx, parent, extra
        self.arrive = t
        self.mid = self.raw = self.subject = None


class Version:
    __slots__ = ('topic', 'v', 'base', 't', 'patches', 'ref', 'mails', 'rfc', 'resend', 'prev', 'reply_to_prev',
                 'tag', 'slug', 'changes')


class Topic:
    __slots__ = ('id', 'author', 'prefix', 'obj', 'verb', 'b4', 'slug', 'changeid', 'versions', 'area')


def build_plan(rng, nmsgs, files_by_area, people, maintainers, nbases, span):
    """Topics, versions and the mail slots; stops once nmsgs are planned."""
    areas = list(files_by_area)
    area_w = [60 if a.startswith('drivers/gpu/drm/xe') else 6 for a in areas]
    msgs, topics = [], []
    # authors: a few prolific ones
    weights = [1.0 / (i + 1) ** 0.8 for i in range(len(people))]
    t_end = START + span
    tid = 0
    target = int(nmsgs * 1.08) + 40
    while len(msgs) < target:
        tid += 1
        tp = Topic()
        tp.id = tid
        tp.author = rng.choices(people, weights)[0]
        tp.area = rng.choices(areas, area_w)[0]
        tp.verb, tp.obj = rng.choice(TOPIC_VERB), rng.choice(TOPIC_OBJ)
        tp.b4 = tp.author.b4
        tp.slug = re.sub(r'[^a-z0-9]+', '-', ('%s %s' % (tp.verb, tp.obj)).lower()).strip('-')[:40]
        t0 = START + int(span * (len(msgs) / target)) + rng.randint(0, 6 * 3600)
        tp.changeid = '%s-%s-%s' % (stamp(t0, '%Y%m%d'), tp.slug, hashlib.sha1(('%d' % tid).encode()).hexdigest()[:12])
        r = rng.random()
        npat = 1 if r < 0.35 else rng.randint(2, 3) if r < 0.65 else rng.randint(4, 6) if r < 0.85 else rng.randint(7, 12)
        r = rng.random()
        nver = 1 if r < 0.55 else 2 if r < 0.80 else 3 if r < 0.92 else rng.randint(4, 5)
        tp.versions = []
        topics.append(tp)
        t = t0
        prev = None
        for v in range(1, nver + 1):
            if t > t_end + 86400 * 30:
                break
            ver = Version()
            ver.topic, ver.v, ver.t, ver.prev = tp, v, t, prev
            ver.base = min(nbases - 1, int(nbases * (t - START) / span) - rng.randint(0, 2)) if span else 0
            ver.base = max(0, ver.base)
            if v > 1:
                npat = max(1, npat + rng.choice([0, 0, 0, 1, -1]))
            ver.patches = []  # filled with edit specs
            ver.rfc = v == 1 and rng.random() < 0.06
            ver.resend = v > 1 and rng.random() < 0.03
            ver.reply_to_prev = prev is not None and rng.random() < 0.2
            ver.changes = []
            for i in range(npat):
                if prev and i < len(prev.patches) and rng.random() < 0.8:
                    ver.patches.append(dict(prev.patches[i], carried=list(prev.patches[i]['trailers']),
                                            trailers=list(prev.patches[i]['trailers'])))
                    if rng.random() < 0.3:
                        ver.patches[-1]['extra'] = ver.patches[-1].get('extra', 0) + 1
                        ver.changes.append(i + 1)
                else:
                    ver.patches.append({'seed': rng.getrandbits(48), 'trailers': [], 'carried': [], 'extra': 0})
            ver.mails = []
            tp.versions.append(ver)
            plan_version_mails(rng, ver, people, maintainers, msgs)
            prev = ver
            t += rng.randint(2 * 86400, 20 * 86400)
    return topics, msgs


def plan_version_mails(rng, ver, people, maintainers, msgs):
    tp = ver.topic
    n = len(ver.patches)
    t = ver.t
    cover = None
    if n > 1:
        cover = Msg(t, 'cover', tp.author, ver, 0)
        ver.mails.append(cover)
    plist = []
    for i in range(n):
        m = Msg(t + i + 1, 'patch', tp.author, ver, i + 1, cover)
        ver.mails.append(m)
        plist.append(m)
    # delivery: mostly in order within seconds; sometimes a patch is late
    for m in ver.mails:
        m.arrive = m.t + rng.randint(1, 40)
        if rng.random() < 0.02:
            m.arrive += rng.randint(60, 1800)
    # a lost patch now and then
    if n > 2 and rng.random() < 0.01:
        ver.mails.remove(rng.choice(plist[1:]))
    root = cover or plist[0]
    replies = []
    # CI results on the cover (or the lone patch)
    if rng.random() < 0.6:
        ct = t + rng.randint(600, 4 * 3600)
        for _ in range(rng.randint(1, 4)):
            ct += rng.randint(60, 3 * 3600)
            replies.append(Msg(ct, 'ci', None, ver, 0, root, rng.choice(CI_CHECKS)))
    # reviews and discussion on patches
    for p in plist:
        if p not in ver.mails:
            continue
        r = rng.random()
        if r < 0.35:
            rv = rng.choice(maintainers if rng.random() < 0.5 else people)
            if rv is tp.author:
                continue
            rt = p.t + rng.randint(3600, 5 * 86400)
            kind = rng.choices(['Reviewed-by', 'Acked-by', 'Tested-by'], [80, 12, 8])[0]
            replies.append(Msg(rt, 'review', rv, ver, p.idx, p, kind))
            p_spec = ver.patches[p.idx - 1]
            p_spec['trailers'].append('%s: %s' % (kind, rv.addr()))
        elif r < 0.55:
            rv = rng.choice(maintainers if rng.random() < 0.5 else people)
            if rv is tp.author:
                continue
            rt = p.t + rng.randint(1800, 4 * 86400)
            d = Msg(rt, 'discuss', rv, ver, p.idx, p)
            replies.append(d)
            parent, who = d, tp.author
            while rng.random() < 0.55:
                rt += rng.randint(600, 2 * 86400)
                d2 = Msg(rt, 'discuss', who, ver, p.idx, parent)
                replies.append(d2)
                parent, who = d2, (rv if who is tp.author else tp.author)
            if rng.random() < 0.6:
                ver.patches[p.idx - 1]['trailers'].append('Reviewed-by: %s' % rv.addr())
    if cover is not None and rng.random() < 0.15:
        rv = rng.choice(maintainers)
        if rv is not tp.author:
            kind = rng.choice(['Acked-by', 'Tested-by', 'Reviewed-by'])
            replies.append(Msg(t + rng.randint(3600, 3 * 86400), 'review', rv, ver, 0, cover, kind))
    if rng.random() < 0.25:
        rv = rng.choice(maintainers)
        replies.append(Msg(t + rng.randint(86400, 10 * 86400), 'applied', rv, ver, 0, root))
    for m in replies:
        m.arrive = m.t + rng.randint(1, 90)
    ver.mails.extend(replies)
    msgs.extend(ver.mails)


# --------------------------------------------------------------------------
# scratch kernel repository

def read_subset():
    files = {}
    with tarfile.open(SRC_TAR, 'r:xz') as tf:
        for m in tf:
            if not m.isfile() or m.size > 300000:
                continue
            p = m.name.split('/', 1)[1]
            if not p.startswith(SUBSET) or not p.endswith(('.c', '.h')):
                continue
            data = tf.extractfile(m).read()
            try:
                files[p] = data.decode('utf-8')
            except UnicodeDecodeError:
                continue
    return files


def area_of(p):
    parts = p.split('/')
    if p.startswith('drivers/gpu/drm/xe/'):
        return '/'.join(parts[:5]) if len(parts) > 5 else 'drivers/gpu/drm/xe'
    if p.startswith('drivers/gpu/drm/drm_'):
        return 'drivers/gpu/drm'
    return '/'.join(parts[:-1])


class Repo:
    def __init__(self, path):
        self.path = path

    def git(self, *args, **kw):
        return subprocess.run(['git', '-C', self.path] + list(args), check=True, capture_output=True, **kw).stdout


def fi_data(b):
    return b'data %d\n' % len(b) + b + b'\n'


def apply_patch_spec(spec, files, overlay, area_files, all_files, topic_area):
    """Applies one patch spec (its seed) on top of overlay.

    Returns (path of the first edit, description, {path: new text}) or None.
    A patch makes 1 to 40 edits, mostly in one file, sometimes in 2-3."""
    rng = random.Random(spec['seed'])
    r = rng.random()
    nedits = 1 if r < 0.2 else rng.randint(2, 4) if r < 0.55 else rng.randint(5, 12) if r < 0.85 else rng.randint(13, 40)
    nedits += spec.get('extra', 0)
    for attempt in range(400):
        pool = area_files[topic_area] if rng.random() < 0.75 and attempt < 20 else all_files
        path = rng.choice(pool)
        text = overlay.get(path, files[path])
        kind = rng.choices(EDIT_KINDS, EDIT_W)[0]
        r = try_edit(rng, kind, analyse(text))
        if r is None:
            continue
        new, desc = r
        changed = {path: new}
        cur = path
        for _ in range(nedits - 1):
            if rng.random() < 0.2:
                cur = rng.choice(area_files[area_of(path)])
                if cur not in changed:
                    changed[cur] = analyse(overlay.get(cur, files[cur])).lines
            r2 = try_edit(rng, rng.choices(EDIT_KINDS, EDIT_W)[0], changed[cur])
            if r2:
                changed[cur] = r2[0]
        texts = {p: '\n'.join(l) for p, l in changed.items()}
        texts = {p: t for p, t in texts.items() if t != overlay.get(p, files[p])}
        if path in texts:
            return path, desc, texts
    return None


def commit_message(rng, path, desc, spec, ver):
    subj = '%s: %s' % (subsystem(path), desc[0])
    body = [subj, '']
    para = ' '.join(rng.sample(WHY, 2))
    body += wrap(para.replace('the object', 'the object in %s()' % desc[1] if rng.random() < 0.5 else 'the object'))
    if ver.v > 1 and rng.random() < 0.6:
        body += ['']
        for k in range(2, ver.v + 1):
            body.append('v%d: %s' % (k, rng.choice(['Rebase', 'Address review comments', 'Fix the error path',
                                                  'Drop the unneeded check', 'Reword commit message',
                                                  'Use the helper from the previous patch'])))
    body.append('')
    if rng.random() < 0.15:
        body.append('Fixes: %s ("%s")' % (hashlib.sha1(desc[0].encode()).hexdigest()[:12],
                                           '%s: %s' % (subsystem(path), rng.choice(TOPIC_OBJ))))
    if rng.random() < 0.1:
        body.append('Closes: https://gitlab.freedesktop.org/drm/xe/kernel/-/issues/%d' % rng.randint(1000, 4000))
    if rng.random() < 0.2:
        body.append('Cc: %s' % rng.choice(['Matthew Brost <matthew.brost@intel.com>',
                                          'Rodrigo Vivi <rodrigo.vivi@intel.com>', 'stable@vger.kernel.org']))
    body.append('Signed-off-by: %s' % ver.topic.author.addr())
    for tr in spec.get('carried', ()):
        body.append(tr)
    return '\n'.join(body) + '\n'


def wrap(text, width=72):
    out, cur = [], ''
    for w in text.split():
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = w
        else:
            cur = (cur + ' ' + w) if cur else w
    if cur:
        out.append(cur)
    return out


def build_repo(repo_dir, files, topics, versions_needed, nbases, span, rng):
    """fast-imports the subset, the upstream bases and every needed version's commits."""
    os.makedirs(repo_dir)
    subprocess.run(['git', 'init', '-q', '-b', 'master', repo_dir], check=True)
    repo = Repo(repo_dir)
    all_files = sorted(files)
    area_files = {}
    for p in all_files:
        area_files.setdefault(area_of(p), []).append(p)
    ident = b'Upstream Maintainer <maintainer@kernel.org>'
    out = []
    mark = 1
    # base 0: the subset as is
    t = START - 30 * 86400
    out.append(b'commit refs/heads/master\nmark :%d\n' % mark)
    out.append(b'author %s %d +0000\ncommitter %s %d +0000\n' % (ident, t, ident, t))
    out.append(fi_data(b'Import a subset of Linux 6.12\n'))
    for p in all_files:
        out.append(b'M 100644 inline %s\n' % p.encode() + fi_data(files[p].encode()))
    out.append(b'\n')
    base_marks = [mark]
    base_overlay = [{}]
    overlay = {}
    urng = random.Random(rng.getrandbits(32))
    for b in range(1, nbases):
        mark += 1
        t = START + span * (b - 1) // max(1, nbases - 1)
        overlay = dict(overlay)
        changed = []
        for _ in range(urng.randint(1, 3)):
            r = apply_patch_spec({'seed': urng.getrandbits(48)}, files, overlay, area_files, all_files,
                                 urng.choice(list(area_files)))
            if r:
                overlay.update(r[2])
                changed += [(p, r[1][0]) for p in r[2]]
        out.append(b'commit refs/heads/master\nmark :%d\n' % mark)
        out.append(b'author %s %d +0000\ncommitter %s %d +0000\n' % (ident, t, ident, t))
        out.append(fi_data(('Merge tag \'drm-xe-next-%s\'\n\n%s\n' % (
            stamp(t, '%Y-%m-%d'), '\n'.join('  %s: %s' % (subsystem(p), d) for p, d in changed))).encode()))
        out.append(b'from :%d\n' % (mark - 1))
        for p in sorted(set(p for p, _ in changed)):
            out.append(b'M 100644 inline %s\n' % p.encode() + fi_data(overlay[p].encode()))
        out.append(b'\n')
        base_marks.append(mark)
        base_overlay.append(overlay)
    for b, bm in enumerate(base_marks):
        out.append(b'reset refs/tags/base-%d\nfrom :%d\n\n' % (b, bm))
    # series versions
    for ver in versions_needed:
        tp = ver.topic
        vr = random.Random(tp.id * 1000 + ver.v)
        ov = dict(base_overlay[ver.base])
        parent = base_marks[ver.base]
        ver.ref = 'refs/heads/t%d-v%d' % (tp.id, ver.v)
        a = tp.author
        for i, spec in enumerate(ver.patches):
            r = apply_patch_spec(spec, files, ov, area_files, all_files, tp.area)
            if r is None:
                raise RuntimeError('no edit found for topic %d v%d patch %d' % (tp.id, ver.v, i + 1))
            path, desc, texts = r
            ov.update(texts)
            mark += 1
            at = ver.t - vr.randint(3600, 10 * 86400)
            msg = commit_message(vr, path, desc, spec, ver)
            spec['subject'] = msg.split('\n', 1)[0]
            out.append(b'commit %s\nmark :%d\n' % (ver.ref.encode(), mark))
            out.append(('author %s <%s> %d %s\n' % (a.name, a.email, at, a.tz)).encode())
            out.append(('committer %s <%s> %d %s\n' % (a.name, a.email, at + 60, a.tz)).encode())
            out.append(fi_data(msg.encode()))
            out.append(b'from :%d\n' % parent)
            for p in sorted(texts):
                out.append(b'M 100644 inline %s\n' % p.encode() + fi_data(texts[p].encode()))
            out.append(b'\n')
            parent = mark
    stream = b''.join(out)
    subprocess.run(['git', '-C', repo_dir, 'fast-import', '--quiet', '--done'], input=stream + b'done\n', check=True)
    bases = repo.git('for-each-ref', '--format=%(refname:short) %(objectname)', 'refs/tags/').decode().split('\n')
    base_sha = {}
    for l in bases:
        if l:
            n, s = l.split()
            base_sha[int(n.split('-')[1])] = s
    return base_sha


def format_patch(repo_dir, ver, base_sha):
    tp = ver.topic
    args = ['git', '-C', repo_dir, '-c', 'core.abbrev=12', '-c', 'format.signature=2.4%d.0' % (tp.id % 7),
            'format-patch', '--stdout', '--thread=shallow', '--base=' + base_sha[ver.base]]
    if len(ver.patches) > 1:
        args.append('--cover-letter')
    if ver.v > 1:
        args.append('-v%d' % ver.v)
    prefix = 'RFC PATCH' if ver.rfc else 'PATCH RESEND' if ver.resend else 'PATCH'
    args += ['--subject-prefix=' + prefix, 'refs/tags/base-%d..%s' % (ver.base, ver.ref)]
    env = dict(os.environ, GIT_COMMITTER_NAME=tp.author.name, GIT_COMMITTER_EMAIL=tp.author.email,
               GIT_COMMITTER_DATE='%d +0000' % ver.t, GIT_AUTHOR_DATE='%d +0000' % ver.t)
    out = subprocess.run(args, check=True, capture_output=True, env=env).stdout.decode('utf-8')
    parts = re.split(r'^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001\n', out, flags=re.M)
    return [p for p in parts if p]


def split_mail(text):
    head, _, body = text.partition('\n\n')
    fields = []
    for line in head.split('\n'):
        if line[:1] in (' ', '\t') and fields:
            fields[-1][1] += '\n' + line
        else:
            k, _, v = line.partition(':')
            fields.append([k, v.lstrip(' ')])
    return fields, body


# --------------------------------------------------------------------------
# rendering

B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'


def b64junk(rng, n):
    return ''.join(rng.choice(B64) for _ in range(n))


def sender_headers(who_email, t, rng):
    """DKIM signature and the anti-spam stamps a corporate relay adds."""
    dom = who_email.split('@')[1]
    h = ['DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=%s; i=@%s;\n'
         ' q=dns/txt; s=%s; t=%d; x=%d;\n'
         ' h=from:to:cc:subject:date:message-id:in-reply-to:references:\n'
         '   mime-version:content-transfer-encoding;\n'
         ' bh=%s=;\n b=%s\n  %s\n  %s\n  %s\n  %s==;' % (
             dom, dom, 'Intel' if 'intel' in dom else 'selector1', t, t + 31536000, b64junk(rng, 43),
             b64junk(rng, 68), b64junk(rng, 68), b64junk(rng, 68), b64junk(rng, 68), b64junk(rng, 66))]
    if 'intel' in dom:
        h += ['X-CSE-ConnectionGUID: %s==' % b64junk(rng, 22), 'X-CSE-MsgGUID: %s==' % b64junk(rng, 22),
              'X-IronPort-AV: E=McAfee;i="6700,10204,%d"; a="%d"' % (rng.randint(11000, 11300), rng.randint(10 ** 8, 10 ** 9)),
              'X-IronPort-AV: E=Sophos;i="6.%02d,%d,%d"; \n   d="scan\'208";a="%d"' % (
                  rng.randint(1, 20), rng.randint(100, 400), t - t % 86400, rng.randint(10 ** 8, 10 ** 9)),
              'X-ExtLoop1: 1']
    return h


def list_headers(who_email, t, rng):
    host = rng.choice(['mga09.intel.com', 'mail-wr1-f54.google.com', 'mx0a-00069f02.pphosted.com',
                       'smtp-out.example.net', 'mgamail.intel.com'])
    return [
        'Return-Path: <intel-xe-bounces@lists.freedesktop.org>',
        'Received: from gabe.freedesktop.org (gabe.freedesktop.org [131.252.210.177])\n'
        '\tby smtp.lore.kernel.org (Postfix) with ESMTPS id %X\n\tfor <intel-xe@archiver.kernel.org>; %s'
        % (rng.getrandbits(40), rfc_date(t + 2, '+0000')),
        'Received: from %s (%s [192.0.2.%d])\n\tby gabe.freedesktop.org (Postfix) with ESMTPS id %X\n'
        '\tfor <intel-xe@lists.freedesktop.org>; %s' % (host, host, rng.randint(1, 254), rng.getrandbits(40),
                                                         rfc_date(t + 1, '+0000')),
    ] + sender_headers(who_email, t, rng), [
        'X-BeenThere: intel-xe@lists.freedesktop.org',
        'X-Mailman-Version: 2.1.29',
        'Precedence: list',
        'List-Id: Intel Xe graphics driver <intel-xe.lists.freedesktop.org>',
        'List-Unsubscribe: <https://lists.freedesktop.org/mailman/options/intel-xe>,\n'
        ' <mailto:intel-xe-request@lists.freedesktop.org?subject=unsubscribe>',
        'List-Archive: <https://lists.freedesktop.org/archives/intel-xe>',
        'List-Post: <mailto:intel-xe@lists.freedesktop.org>',
        'List-Help: <mailto:intel-xe-request@lists.freedesktop.org?subject=help>',
        'List-Subscribe: <https://lists.freedesktop.org/mailman/listinfo/intel-xe>,\n'
        ' <mailto:intel-xe-request@lists.freedesktop.org?subject=subscribe>',
        'Errors-To: intel-xe-bounces@lists.freedesktop.org',
        'Sender: "Intel-xe" <intel-xe-bounces@lists.freedesktop.org>',
    ]


def make_mid(m, rng):
    ver = m.ver
    if m.kind in ('cover', 'patch'):
        tp = ver.topic
        if tp.b4:
            return '%s-%s-v%d-%d-%s@%s' % (stamp(ver.t, '%Y%m%d'), tp.slug, ver.v, m.idx,
                                          hashlib.sha1(('%d/%d' % (tp.id, ver.v)).encode()).hexdigest()[:12],
                                          tp.author.email.split('@')[1])
        return '%s.%d-%d-%s' % (stamp(ver.t), tp.author.pid + ver.v, m.idx + (len(ver.patches) > 1 or m.idx == 0),
                                tp.author.email)
    if m.kind == 'ci':
        return '%d.%d.%d@%x' % (m.t * 1000 + rng.randint(0, 999), rng.randint(1000, 9999),
                                rng.getrandbits(60), rng.getrandbits(40))
    c = m.who.client
    dom = m.who.email.split('@')[1]
    if c == 'outlook':
        box = 'BN9PR11MB%04d' % rng.randint(1000, 9999)
        return '%s%X@%s.namprd11.prod.outlook.com' % (box, rng.getrandbits(64), box)
    if c == 'gmail':
        return 'CA+%s@mail.gmail.com' % ''.join(rng.choice('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-=')
                                                for _ in range(44))
    if c == 'thunderbird':
        h = '%032x' % rng.getrandbits(128)
        return '%s-%s-%s-%s-%s@%s' % (h[:8], h[8:12], h[12:16], h[16:20], h[20:], dom)
    return '%s.%s@%s' % (stamp(m.t), ''.join(rng.choice('abcdefghijklmnopqrstuvwxyz0123456789') for _ in range(10)),
                         'intel.com' if 'intel' in dom else dom)


def strip_re(s):
    return re.sub(r'^(?:(?:re|RE|Re|AW|Aw)\s*:\s*)+', '', s)


def refs_of(m):
    chain = []
    p = m.parent
    while p is not None:
        chain.append(p)
        p = p.parent
    chain.reverse()
    out = []
    # a v2 posted in reply to v1 keeps v1's cover in its references
    ver = m.ver
    if ver is not None and ver.reply_to_prev and ver.prev and ver.prev.mails:
        out.append(ver.prev.mails[0].mid)
    return out + [c.mid for c in chain]


def quote(lines, n0, n1):
    return ['> ' + l if l else '>' for l in lines[n0:n1]]


def attribution(parent, who):
    pw = parent.who
    if pw is None:
        pname = 'Patchwork'
    else:
        pname = pw.name
    c = who.client
    if c == 'gmail':
        return 'On %s, %s <%s> wrote:' % (rfc_date(parent.t, '+0000')[:-6], pname, pw.email if pw else '')
    if c == 'mutt' or c == 'b4':
        return 'On %s, %s wrote:' % (time.strftime('%a, %b %d, %Y at %I:%M:%S%p', time.gmtime(parent.t)) + ' +0000', pname)
    return 'On %s, %s wrote:' % (time.strftime('%d/%m/%Y %H:%M', time.gmtime(parent.t)), pname)


def reply_body(rng, m):
    parent = m.parent
    pbody = parent.extra_body
    plines = pbody.split('\n')
    who = m.who
    out = []
    if m.kind == 'review':
        if parent.kind == 'cover':
            out = [attribution(parent, who)] + quote(plines, 0, min(8, len(plines))) + ['>', '> [...]', '']
            out += ['For the series:', '', '%s: %s' % (m.extra, who.addr()), '']
        else:
            # quote the commit message and the first hunk
            try:
                d = plines.index('---')
            except ValueError:
                d = min(10, len(plines))
            h = next((i for i, l in enumerate(plines) if l.startswith('@@')), d)
            out = [attribution(parent, who)] + quote(plines, 0, min(d, 12)) + ['> ---']
            out += quote(plines, h, min(h + rng.randint(6, 16), len(plines)))
            out += ['', rng.choice(['LGTM.', 'Looks good to me.', 'Makes sense.', '', 'Nice cleanup.']), '',
                    '%s: %s' % (m.extra, who.addr()), '']
    elif m.kind == 'discuss':
        h = next((i for i, l in enumerate(plines) if l.startswith('@@')), 0)
        k = rng.randint(h, max(h, len(plines) - 6))
        out = [attribution(parent, who)] + quote(plines, k, min(k + rng.randint(3, 10), len(plines)))
        out += [''] + wrap(rng.choice([
            'Is this safe against a concurrent reset? I think we can still get here with the queue '
            'being torn down.',
            'Why not do this in the caller instead? Then the error path stays in one place.',
            'Good point, will fix in the next revision.',
            'This needs a Fixes: tag, and probably Cc stable as well.',
            'I tested this on BMG and LNL and the fault mode tests pass now.',
            'Hmm, I am not sure about this. The GuC might still reference the context at this point.',
            'Agreed. Let me respin with that change.',
            'Can you split this into two patches? The rename is unrelated to the fix.'])) + ['']
        if rng.random() < 0.3:
            out += ['Thanks,', who.name.split()[0], '']
    elif m.kind == 'applied':
        out = [attribution(parent, who)] + quote(plines, 0, 6) + ['>', '> [...]', '']
        out += wrap('Pushed to drm-xe-next, thanks for the patch%s and the reviews.' %
                    ('es' if len(m.ver.patches) > 1 else '')) + ['', who.name.split()[0], '']
    elif m.kind == 'ci':
        mark, check, res = m.extra
        ser = m.ver.topic.obj
        out = ['== Series Details ==', '', 'Series: %s' % parent.subject_clean,
               'URL   : https://patchwork.freedesktop.org/series/%d/' % (130000 + m.ver.topic.id),
               'State : %s' % res, '', '== Summary ==', '']
        if check == 'CI.checkpatch' and res == 'warning':
            out += ['+ KERNEL=/kernel', '-:27: WARNING:LONG_LINE: line length of 104 exceeds 100 columns',
                    '', 'total: 0 errors, 1 warnings, 0 checks, %d lines checked' % rng.randint(10, 300)]
        elif check.startswith('Xe.CI'):
            out += ['CI Bug Log - changes from xe-%d-%s_BAT -> xe-pw-%dv%d_BAT' % (
                rng.randint(2000, 3000), '%040x' % rng.getrandbits(160), 130000 + m.ver.topic.id, m.ver.v), '',
                '====================================================', '',
                'Summary', '-------', '', '  **%s**' % ('SUCCESS' if res == 'success' else 'FAILURE'), '',
                '  %s' % ('No regressions found.' if res == 'success' else
                          'Serious unknown changes coming with xe-pw-%d as a result of this series.'
                          % (130000 + m.ver.topic.id)), '']
            if res != 'success':
                out += ['### IGT changes ###', '', '#### Possible regressions ####', '']
                for k in range(rng.randint(1, 25) if check == 'Xe.CI.BAT' else rng.randint(20, 120)):
                    out += ['  * igt@%s@%s:' % (rng.choice(['xe_exec_fault_mode', 'xe_exec_system_allocator',
                                                             'xe_vm', 'xe_evict', 'xe_exec_threads', 'kms_flip']),
                                                 rng.choice(['twice-userptr-invalidate', 'many-execqueues-rebind',
                                                             'once-bindexecqueue-imm', 'threads-mixed-fd-basic'])),
                            '    - shard-%s-%d:         [PASS][%d] -> [FAIL][%d]' % (
                                rng.choice(['bmg', 'lnl', 'dg2']), rng.randint(1, 9), 2 * k + 1, 2 * k + 2), '']
                out += ['  [%d]: https://intel-gfx-ci.01.org/tree/intel-xe/xe-pw-%d/shard-bmg-%d/igt@xe_vm.html'
                        % (k + 1, 130000 + m.ver.topic.id, k % 9) for k in range(rng.randint(2, 30))]
        else:
            out += ['%s %s for %s' % (check, res, ser), '']
    body = '\n'.join(out) + '\n'
    return body


def render_all(rng, msgs, fp_out, maintainers):
    """Renders every planned mail to m.raw (bytes)."""
    for m in msgs:  # plan order: parents first
        m.mid = make_mid(m, rng)
    for m in msgs:
        ver = m.ver
        tp = ver.topic
        mime = ['MIME-Version: 1.0', 'Content-Type: text/plain; charset=UTF-8', 'Content-Transfer-Encoding: 8bit']
        if m.kind in ('cover', 'patch'):
            parts = fp_out[id(ver)]
            cov = len(ver.patches) > 1
            text = parts[m.idx if cov else m.idx - 1]
            fields, body = split_mail(text)
            subj = next(v for k, v in fields if k == 'Subject')
            mime = [('%s: %s' % (k, v)) for k, v in fields if k in ('MIME-Version', 'Content-Type', 'Content-Transfer-Encoding')]
            if m.kind == 'cover':
                title = '%s: %s %s' % (subsystem(tp.area + '/x.c') if 'xe' not in tp.area else 'drm/xe',
                                       tp.verb, tp.obj)
                subj = subj.replace('*** SUBJECT HERE ***', title)
                blurb = wrap('This series %s %s. %s' % (tp.verb.lower(), tp.obj, ' '.join(rng.sample(WHY, 2))))
                if ver.v > 1:
                    blurb += ['', 'Changes in v%d:' % ver.v]
                    blurb += ['- %s' % rng.choice(['Rebase on drm-xe-next', 'Address review comments (Matt)',
                                                  'Fix the error path in patch %d' % rng.randint(1, len(ver.patches)),
                                                  'Collect Reviewed-by tags', 'Drop the RFC tag'])
                              for _ in range(rng.randint(1, 3))]
                    if tp.b4 and ver.prev and ver.prev.mails:
                        blurb.append('- Link to v%d: https://lore.kernel.org/r/%s' % (ver.prev.v, ver.prev.mails[0].mid))
                body = body.replace('*** BLURB HERE ***', '\n'.join(blurb))
                if tp.b4:
                    body = re.sub(r'^(base-commit: [0-9a-f]+)$', r'\1\nchange-id: %s' % tp.changeid, body, flags=re.M)
            elif not cov and tp.b4:
                body = re.sub(r'^(base-commit: [0-9a-f]+)$', r'\1\nchange-id: %s' % tp.changeid, body, flags=re.M)
            m.subject = subj
        else:
            psub = unfold(m.parent.subject)
            if m.kind == 'ci':
                c = m.extra
                m.subject = email.header.Header('%s %s: %s for %s' % (c[0], c[1], c[2], strip_re(re.sub(
                    r'^\[[^\]]*\]\s*', '', psub))), 'utf-8', header_name='Subject').encode()
                mime = ['MIME-Version: 1.0', 'Content-Type: text/plain; charset="utf-8"',
                        'Content-Transfer-Encoding: 8bit']
            else:
                m.subject = fold('Subject', 'Re: ' + strip_re(psub))[9:]
            body = reply_body(rng, m)
            m.extra_body = body
            if m.who and m.who.client == 'outlook' and rng.random() < 0.5:
                b = quopri.encodestring(body.encode('utf-8')).decode('ascii')
                mime = ['Content-Type: text/plain; charset="utf-8"', 'Content-Transfer-Encoding: quoted-printable',
                        'MIME-Version: 1.0']
                body = b
            elif m.who and m.who.client == 'gmail' and rng.random() < 0.5:
                bnd = '000000000000%012x' % rng.getrandbits(48)
                html = '<div dir="ltr">%s</div>' % body.replace('&', '&amp;').replace('<', '&lt;').replace('\n', '<br>\n')
                body = ('--%s\nContent-Type: text/plain; charset="UTF-8"\nContent-Transfer-Encoding: quoted-printable\n\n'
                        '%s\n--%s\nContent-Type: text/html; charset="UTF-8"\nContent-Transfer-Encoding: quoted-printable\n\n'
                        '%s\n--%s--\n') % (bnd, quopri.encodestring(body.encode()).decode(), bnd,
                                           quopri.encodestring(html.encode()).decode(), bnd)
                mime = ['MIME-Version: 1.0', 'Content-Type: multipart/alternative; boundary="%s"' % bnd]
        if m.kind in ('cover', 'patch'):
            m.extra_body = body
        # clean subject for CI bodies
        m.subject_clean = re.sub(r'^\[[^\]]*\]\s*', '', unfold(m.subject))
        who = m.who or Person(CI_BOTS[0][0], CI_BOTS[0][1], '+0000', 'ci', False, 0)
        tz = who.tz
        pre, post = list_headers(who.email, m.arrive, rng)
        h = list(pre)
        h.append('From: %s' % fmt_addr(who))
        to = [LIST] if m.kind != 'ci' else [fmt_addr(tp.author)]
        h.append(fold('To', ', '.join(to)))
        cc = []
        if m.kind in ('cover', 'patch'):
            cc = [fmt_addr(x) for x in maintainers[:2 + tp.id % 3] if x is not tp.author]
        elif m.kind != 'ci':
            cc = [fmt_addr(tp.author)] if who is not tp.author else []
            cc.append(LIST)
        else:
            cc = [LIST]
        if cc:
            h.append(fold('Cc', ', '.join(cc)))
        h.append('Subject: ' + m.subject)
        h.append('Date: ' + rfc_date(m.t, tz))
        h.append('Message-ID: <%s>' % m.mid)
        refs = refs_of(m)
        if refs:
            h.append('In-Reply-To: <%s>' % refs[-1])
            h.append(fold('References', ' '.join('<%s>' % r for r in refs)))
        if m.kind in ('cover', 'patch'):
            h.append('X-Mailer: %s' % ('b4 0.14.2' if tp.b4 else 'git-send-email 2.4%d.0' % (tp.id % 7)))
        elif who.client == 'thunderbird':
            h.append('User-Agent: Mozilla Thunderbird')
        elif who.client == 'mutt':
            h.append('User-Agent: Mutt/2.2.12 (2023-09-09)')
        elif who.client == 'outlook':
            h += ['Thread-Topic: ' + unfold(m.subject)[:70], 'Accept-Language: en-US', 'X-MS-Has-Attach:']
        h += mime
        h += post
        m.raw = ('\n'.join(h) + '\n\n' + body).encode('utf-8')


def author_line(m):
    who = m.who or Person(CI_BOTS[0][0], CI_BOTS[0][1], '+0000', 'ci', False, 0)
    name = who.name.replace('<', '').replace('>', '')
    return '%s <%s> %d %s' % (name, who.email, m.t, who.tz)


def write_inbox(inbox, msgs, epochs):
    """git fast-import every message into the inbox's epochs, in arrival order."""
    ident = '%s <%s>' % (INBOX_NAME, LIST)
    n = len(msgs)
    split = [n] if epochs <= 1 else [n - max(1, n // 50), n]
    start = 0
    for e, stop in enumerate(split):
        gdir = os.path.join(inbox, 'git', '%d.git' % e)
        if not os.path.isdir(gdir):
            init_epoch(inbox, e)
        out = []
        for k, m in enumerate(msgs[start:stop]):
            out.append(b'commit refs/heads/master\n')
            out.append(b'author ' + author_line(m).encode('utf-8') + b'\n')
            out.append(('committer %s %d +0000\n' % (ident, m.arrive)).encode())
            out.append(fi_data(unfold(m.subject_decoded).encode('utf-8') + b'\n'))
            if k == 0:
                pass
            out.append(b'M 100644 inline m\n' + fi_data(m.raw))
            out.append(b'\n')
        subprocess.run(['git', '-C', gdir, 'fast-import', '--quiet', '--done'], input=b''.join(out) + b'done\n',
                       check=True)
        start = stop


def append_message(inbox, raw, subject, author, at, tz, ct):
    """Appends one message to the newest epoch (used by bench/ingest for the incremental run)."""
    epochs = sorted(int(d.split('.')[0]) for d in os.listdir(os.path.join(inbox, 'git')) if d.endswith('.git'))
    gdir = os.path.join(inbox, 'git', '%d.git' % epochs[-1])
    s = [b'commit refs/heads/master\n', ('author %s %d %s\n' % (author, at, tz)).encode('utf-8'),
         ('committer %s <%s> %d +0000\n' % (INBOX_NAME, LIST, ct)).encode(),
         fi_data(subject.encode('utf-8') + b'\n'), b'from refs/heads/master^0\n',
         b'M 100644 inline m\n' + fi_data(raw), b'\n', b'done\n']
    subprocess.run(['git', '-C', gdir, 'fast-import', '--quiet', '--done'], input=b''.join(s), check=True)


def init_epoch(inbox, e):
    """A new epoch as V2Writable makes it: bare repo including all.git's config, listed in all.git's alternates."""
    gdir = os.path.join(inbox, 'git', '%d.git' % e)
    subprocess.run(['git', 'init', '-q', '--bare', '-b', 'master', gdir], check=True)
    subprocess.run(['git', 'config', '-f', os.path.join(gdir, 'config'), 'include.path', '../../all.git/config'], check=True)
    alt = os.path.join(inbox, 'all.git', 'objects', 'info', 'alternates')
    have = open(alt).read().split('\n') if os.path.exists(alt) else []
    line = '../../git/%d.git/objects' % e
    if line not in have:
        with open(alt, 'a') as f:
            f.write(line + '\n')


def decode_subject(s):
    s = unfold(s)
    try:
        return str(email.header.make_header(email.header.decode_header(s)))
    except Exception:
        return s


# --------------------------------------------------------------------------

def generate(inbox, nmsgs, seed, epochs, workdir, log):
    t_start = time.time()
    rng = random.Random(seed)
    log('reading %s ...' % SRC_TAR)
    files = read_subset()
    log('  %d files (%.1f MB) in %.1f s' % (len(files), sum(map(len, files.values())) / 1e6, time.time() - t_start))
    files_by_area = {}
    for p in sorted(files):
        files_by_area.setdefault(area_of(p), []).append(p)
    people = make_people(rng, 420)
    maintainers = people[:8]
    span = max(7 * 86400, int(nmsgs / MSGS_PER_DAY * 86400))
    nbases = max(2, min(60, span // (4 * 86400)))
    # one extra message planned beyond N: the incremental one is made separately
    topics, msgs = build_plan(rng, nmsgs, files_by_area, people, maintainers, nbases, span)
    msgs.sort(key=lambda m: (m.arrive, m.t))
    # a reply never arrives before its parent is posted (t is after the parent's t by construction)
    msgs = msgs[:nmsgs]
    keep = set(map(id, msgs))
    needed = []
    seen = set()
    for m in msgs:
        if id(m.ver) not in seen:
            seen.add(id(m.ver))
            needed.append(m.ver)
    # the incremental series: one new 1-patch topic after the last message
    last_t = max(m.arrive for m in msgs)
    inc = incremental_topic(rng, people, maintainers, last_t + 600, nbases)
    needed.append(inc.versions[0])
    log('plan: %d messages, %d versions, %d topics, %d bases' % (len(msgs), len(needed), len({id(v.topic) for v in needed}), nbases))
    repo_dir = os.path.join(workdir, 'kernel')
    t1 = time.time()
    base_sha = build_repo(repo_dir, files, topics, needed, nbases, span, rng)
    log('scratch repo: %.1f s' % (time.time() - t1))
    t1 = time.time()
    fp_out = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        futs = {ex.submit(format_patch, repo_dir, v, base_sha): v for v in needed}
        for f in futs:
            fp_out[id(futs[f])] = f.result()
    log('format-patch: %d versions in %.1f s' % (len(needed), time.time() - t1))
    for v in needed:
        n = len(fp_out[id(v)]) - (1 if len(v.patches) > 1 else 0)
        assert n == len(v.patches), (v.topic.id, v.v, n, len(v.patches))
    t1 = time.time()
    allm = [m for v in needed for m in v.mails]  # plan order: parents before replies
    render_all(random.Random(seed + 1), allm, fp_out, maintainers)
    for m in allm:
        m.subject_decoded = decode_subject(m.subject)
    log('render: %.1f s' % (time.time() - t1))
    msgs = [m for m in msgs if id(m) in keep]
    t1 = time.time()
    write_inbox(inbox, msgs, epochs)
    log('inbox fast-import: %.1f s' % (time.time() - t1))
    im = inc.versions[0].mails[0]
    with open(os.path.join(inbox, 'incremental.eml'), 'wb') as f:
        f.write(im.raw)
    kinds = {}
    for m in msgs:
        kinds[m.kind] = kinds.get(m.kind, 0) + 1
    versions = {}
    for m in msgs:
        versions.setdefault(id(m.ver), m.ver)
    pv = {}
    for m in msgs:
        if m.kind == 'patch':
            pv.setdefault(id(m.ver), set()).add(m.idx)
    complete = sum(1 for v in versions.values() if len(pv.get(id(v), ())) == len(v.patches))
    meta = {
        'messages': len(msgs), 'bytes': sum(len(m.raw) for m in msgs), 'kinds': kinds,
        'series_versions': len(pv), 'series_versions_complete': complete, 'epochs': epochs,
        'first_date': rfc_date(msgs[0].t, '+0000'), 'last_date': rfc_date(msgs[-1].t, '+0000'),
        'seed': seed, 'generator_sha256': file_hash(), 'generation_seconds': round(time.time() - t_start, 1),
        'incremental': {'message_id': im.mid, 'subject': decode_subject(im.subject),
                        'author': author_line(im).rsplit(' ', 2)[0], 'date': im.t, 'tz': im.who.tz,
                        'arrive': im.arrive},
    }
    with open(os.path.join(inbox, 'xeci-bench.json'), 'w') as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
    return meta


def incremental_topic(rng, people, maintainers, t, nbases):
    tp = Topic()
    tp.id = 999999
    tp.author = people[rng.randrange(len(people))]
    tp.area = 'drivers/gpu/drm/xe'
    tp.verb, tp.obj = 'Fix', 'userptr invalidation'
    tp.b4 = False
    tp.slug = 'incremental'
    tp.changeid = None
    ver = Version()
    ver.topic, ver.v, ver.t, ver.prev = tp, 1, t, None
    ver.base = nbases - 1
    ver.patches = [{'seed': 424242, 'trailers': [], 'extra': 0}]
    ver.rfc = ver.resend = ver.reply_to_prev = False
    ver.changes = []
    m = Msg(t, 'patch', tp.author, ver, 1, None)
    m.arrive = t + 5
    ver.mails = [m]
    tp.versions = [ver]
    return tp


def file_hash():
    with open(os.path.abspath(__file__), 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--messages', type=int, default=50000)
    ap.add_argument('--epochs', type=int, default=1, choices=[1, 2],
                    help='2: the last 2%% of the messages go to a second epoch (git/1.git)')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--cache', default='/var/cache/xeci/bench')
    ap.add_argument('--force', action='store_true', help='rebuild even when cached')
    ap.add_argument('-q', '--quiet', action='store_true')
    a = ap.parse_args()

    def log(s):
        if not a.quiet:
            print('make_inbox: ' + s, file=sys.stderr, flush=True)

    name = 'inbox-%d-%s%s%s' % (a.messages, file_hash()[:12], '-e%d' % a.epochs if a.epochs > 1 else '',
                               '-s%d' % a.seed if a.seed != 1 else '')
    final = os.path.join(a.cache, name)
    if os.path.exists(os.path.join(final, 'xeci-bench.json')) and not a.force:
        log('cached: %s' % final)
        print(final)
        return 0
    if not os.path.exists(SRC_TAR):
        sys.exit('make_inbox: %s missing: apt-get install linux-source-6.12' % SRC_TAR)
    os.makedirs(a.cache, exist_ok=True)
    tmp = final + '.tmp%d' % os.getpid()
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    inbox = os.path.join(tmp, 'inbox')
    env = dict(os.environ, PI_CONFIG=os.path.join(tmp, 'pi_config'))
    subprocess.run(['public-inbox-init', '-V2', INBOX_NAME, inbox, 'http://127.0.0.1/' + INBOX_NAME, LIST],
                   check=True, env=env)
    try:
        meta = generate(inbox, a.messages, a.seed, a.epochs, tmp, log)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if os.path.exists(final):
        shutil.rmtree(final)
    os.rename(inbox, final)
    shutil.rmtree(tmp)
    log('%d messages, %.1f MB, in %.1f s -> %s' % (meta['messages'], meta['bytes'] / 1e6, meta['generation_seconds'], final))
    print(final)
    return 0


if __name__ == '__main__':
    sys.exit(main())
