#!/usr/bin/env python3
"""Real public-inbox peers for tests (stdlib only).

As a module:

    import pi
    with pi.Scratch() as s:                      # temp dir, removed at exit
        ib = s.inbox("test")                     # v2 inbox (public-inbox-init -V2)
        mid = ib.post(pi.make_mail("hello", "<a@xeci.test>"))
        repo = pi.make_repo(s.path("linux"))     # scratch git repo, xe-like paths
        mails = pi.format_series(repo, version=1, to=ib.address)
        for m in mails: ib.post(m)
        ib.post(pi.review_reply(mails[0], "Reviewed-by"))
        ib.remove(mails[1])                      # public-inbox-learn rm: a 'd' commit
        with s.httpd() as h:                     # public-inbox-httpd on 127.0.0.1
            url = h.url("test")                  # http://127.0.0.1:PORT/test/

From a shell or a C test (STATE is a scratch directory; --watch PID stops the
server and, with --cleanup, removes STATE once PID has exited, so nothing is
left behind when a test crashes):

    pi.py init STATE [NAME]              prints the inbox directory
    pi.py gen STATE NAME COUNT PREFIX    posts COUNT mails <PREFIX-i@xeci.test>
                                         (i from 1; --thread: all reply to -1)
    pi.py post STATE NAME < MAIL         posts one mail
    pi.py rm STATE NAME < MAIL           removes a mail (public-inbox-learn rm)
    pi.py serve STATE [--watch PID] [--cleanup]   prints http://127.0.0.1:PORT/
    pi.py fake STATE [--watch PID] [--cleanup]    a misbehaving server, ditto
    pi.py stop STATE                     stops what serve/fake started
"""
import email
import email.utils
import gzip
import http.server
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

DOMAIN = "xeci.test"


# --- inboxes ---------------------------------------------------------------

class Inbox:
    """A public-inbox v2 inbox in DIR, registered in the config file CONFIG."""

    def __init__(self, config, name, directory):
        self.config, self.name, self.dir = config, name, directory
        self.address = f"{name}@{DOMAIN}"

    def _env(self):
        return dict(os.environ, PI_CONFIG=self.config, ORIGINAL_RECIPIENT=self.address)

    def post(self, mail):
        """Delivers one mail (bytes) with public-inbox-mda; returns its Message-ID.
        -mda silently drops a mail without a Message-ID, so refuse those."""
        mid = message_id(mail)
        if not mid:
            raise ValueError("mail has no Message-ID: public-inbox-mda would drop it")
        subprocess.run(["public-inbox-mda"], input=mail, env=self._env(), check=True)
        return mid

    def remove(self, mail):
        """public-inbox-learn rm: commits a tree holding 'd' (the removed mail).
        It matches the inbox on To/Cc, so the mail must be addressed to it."""
        subprocess.run(["public-inbox-learn", "rm"], input=mail, env=self._env(), check=True)

    def epoch(self, n=0):
        return os.path.join(self.dir, "git", f"{n}.git")


def init_inbox(config, name, directory, url="http://127.0.0.1/"):
    addr = f"{name}@{DOMAIN}"
    env = dict(os.environ, PI_CONFIG=config)
    subprocess.run(["public-inbox-init", "-V2", name, directory, url + name, addr],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["git", "config", "-f", config, "publicinboxmda.spamcheck", "none"], check=True)
    return Inbox(config, name, directory)


def open_inbox(state, name):
    return Inbox(os.path.join(state, "config"), name, os.path.join(state, name))


# --- mails -------------------------------------------------------------------

def message_id(mail):
    msg = email.message_from_bytes(mail)
    return (msg.get("Message-ID") or "").strip()


def make_mail(subject, mid, body="hello\n", to=f"test@{DOMAIN}", frm=f"A U Thor <author@{DOMAIN}>",
              in_reply_to=None, references=None, date=None):
    """A plain text mail as bytes. mid is "<...>"."""
    hdr = [f"From: {frm}", f"To: {to}", f"Subject: {subject}", f"Message-ID: {mid}",
           "Date: " + (date or email.utils.formatdate(localtime=False))]
    if in_reply_to:
        hdr.append(f"In-Reply-To: {in_reply_to}")
        hdr.append(f"References: {references or in_reply_to}")
    return ("\n".join(hdr) + "\n\n" + body).encode()


def review_reply(mail, trailer="Reviewed-by", who=f"Re Viewer <reviewer@{DOMAIN}>", mid=None):
    """A reply to `mail` quoting it and carrying `trailer: who`."""
    msg = email.message_from_bytes(mail)
    parent = msg["Message-ID"].strip()
    refs = ((msg.get("References") or "") + " " + parent).strip()
    subject = msg["Subject"].replace("\n", " ")
    if not subject.lower().startswith("re:"):
        subject = "Re: " + subject
    body = msg.get_payload(decode=True) or b""
    quoted = "".join("> " + line + "\n" for line in body.decode("utf-8", "replace").splitlines()[:20])
    _counter[0] += 1
    mid = mid or f"<review-{os.getpid()}-{_counter[0]}@{DOMAIN}>"
    return make_mail(subject, mid, f"{quoted}\n{trailer}: {who}\n", to=msg["To"] or f"test@{DOMAIN}",
                     frm=who, in_reply_to=parent, references=refs)


_counter = [0]


# --- git series ------------------------------------------------------------

def git(repo, *args, **kw):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True,
                          text=True, **kw).stdout.strip()


def make_repo(path, ncommits=3):
    """A scratch repo with a base commit and `ncommits` commits on top, touching
    drivers/gpu/drm/xe/ files. Returns the base commit (HEAD~ncommits)."""
    os.makedirs(path, exist_ok=True)
    git(path, "init", "-q", "-b", "master")
    git(path, "config", "user.name", "A U Thor")
    git(path, "config", "user.email", f"author@{DOMAIN}")
    xe = os.path.join(path, "drivers/gpu/drm/xe")
    os.makedirs(xe, exist_ok=True)
    for f in ("xe_gt_pagefault.c", "xe_hmm.c", "xe_vm.c"):
        with open(os.path.join(xe, f), "w") as fh:
            fh.write(f"// SPDX-License-Identifier: MIT\n/* {f} */\nint x;\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "drm/xe: base")
    base = git(path, "rev-parse", "HEAD")
    add_commits(path, ncommits)
    return base


def add_commits(path, n, tag="change"):
    files = ("xe_gt_pagefault.c", "xe_hmm.c", "xe_vm.c")
    for i in range(n):
        f = files[i % len(files)]
        with open(os.path.join(path, "drivers/gpu/drm/xe", f), "a") as fh:
            fh.write(f"/* {tag} {i} */\n")
        git(path, "commit", "-q", "-a", "-m",
            f"drm/xe: {tag} {i} in {f}\n\nBecause it helps.\n\nSigned-off-by: A U Thor <author@{DOMAIN}>")


def format_series(repo, base=None, version=1, to=f"test@{DOMAIN}", cover=True, subject=None):
    """git format-patch --thread [--cover-letter] -vN --base=BASE BASE..HEAD;
    returns the mails (bytes), cover first. Message-IDs get a per-call tag so two
    versions formatted in the same second do not collide (git builds them from
    the commit id and the time)."""
    base = base or git(repo, "rev-list", "--max-parents=0", "HEAD")
    out = tempfile.mkdtemp(prefix="xeci-fp-")
    try:
        args = ["format-patch", "-q", "--thread", f"-v{version}", f"--base={base}",
                f"--to={to}", "-o", out]
        if cover:
            args.append("--cover-letter")
        git(repo, *args, f"{base}..HEAD")
        _counter[0] += 1
        tag = f".{os.getpid()}-{_counter[0]}.git."
        mails = []
        for name in sorted(os.listdir(out)):
            with open(os.path.join(out, name), "rb") as fh:
                text = fh.read().decode()
            head, sep, body = text.partition("\n\n")
            head = head.replace(".git.", tag)
            if "0000-" in name:  # v1-0000-cover-letter.patch
                head = head.replace("*** SUBJECT HERE ***", subject or "drm/xe: a series")
                body = body.replace("*** BLURB HERE ***", "This series changes xe.")
            mails.append((head + sep + body).encode())
        return mails
    finally:
        shutil.rmtree(out, ignore_errors=True)


# --- servers -----------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, proc=None, timeout=30):
    """Waits until url answers (any HTTP status); raises if proc dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def stop_proc(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Httpd:
    """public-inbox-httpd for every inbox of `config`, on a free loopback port."""

    def __init__(self, config, log):
        for _ in range(5):  # the free port may be taken between probe and bind
            self.port = free_port()
            with open(log, "ab") as fh:
                self.proc = subprocess.Popen(
                    ["public-inbox-httpd", "-W0", "-l", f"http://127.0.0.1:{self.port}"],
                    env=dict(os.environ, PI_CONFIG=config), stdin=subprocess.DEVNULL,
                    stdout=fh, stderr=fh, start_new_session=True)
            try:
                wait_http(self.base(), self.proc)
                return
            except RuntimeError:
                stop_proc(self.proc)
        raise RuntimeError(f"public-inbox-httpd did not start (see {log})")

    def base(self):
        return f"http://127.0.0.1:{self.port}/"

    def url(self, name):
        return f"{self.base()}{name}/"

    def stop(self):
        stop_proc(self.proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Scratch:
    """A temporary directory holding a public-inbox config and its inboxes."""

    def __init__(self, keep=False):
        self.dir = tempfile.mkdtemp(prefix="xeci-pi-")
        self.config = os.path.join(self.dir, "config")
        self.keep, self.servers = keep, []

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def inbox(self, name="test"):
        return init_inbox(self.config, name, self.path(name))

    def httpd(self):
        h = Httpd(self.config, self.path("httpd.log"))
        self.servers.append(h)
        return h

    def close(self):
        for h in self.servers:
            h.stop()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- a misbehaving server, for error paths -----------------------------------

FAKE_FEED = """<?xml version="1.0" encoding="us-ascii"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>fake</title>
<entry><title>dup</title><link href="{base}etag/dup@{d}/"/><id>urn:uuid:00000000-0000-0000-0000-000000000001</id></entry>
</feed>
"""
# Two messages sharing a Message-ID, as public-inbox serves them at MID/raw.
FAKE_RAW = (f"From mboxrd@z Thu Jan  1 00:00:00 1970\nMessage-ID: <dup@{DOMAIN}>\nSubject: one\n\n"
            ">From the first\n>>From quoted\n\n"
            f"From mboxrd@z Thu Jan  1 00:00:00 1970\nMessage-ID: <dup@{DOMAIN}>\nSubject: two\n\n"
            "second\n\n")


class FakeHandler(http.server.BaseHTTPRequestHandler):
    """/etag/new.atom: a feed with an ETag (304 on If-None-Match);
    /etag/dup@.../raw: two messages; /missing/new.atom: an entry whose raw is
    404; /slowgit/: a manifest, then a git server that never answers;
    /notfound/*: 404; /error/*: 500;
    /garbage/*: 200 with junk (also as *.gz); /slow/*: never answers."""

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        p = self.path
        base = f"http://127.0.0.1:{self.server.server_port}/"
        if p == "/etag/new.atom":
            if self.headers.get("If-None-Match") == '"v1"':
                return self.send(304)
            return self.send(200, FAKE_FEED.format(base=base, d=DOMAIN).encode(),
                             [("ETag", '"v1"'), ("Content-Type", "application/atom+xml")])
        if p == "/missing/new.atom":  # lists a message that is gone
            return self.send(200, FAKE_FEED.replace("etag/dup@", "missing/gone@").format(
                base=base, d=DOMAIN).encode())
        if p.startswith("/etag/") and p.endswith("/raw"):
            return self.send(200, FAKE_RAW.encode())
        if p.startswith("/notfound/"):
            return self.send(404, b"not found\n")
        if p.startswith("/error/"):
            return self.send(500, b"boom\n")
        if p.startswith("/garbage/"):
            return self.send(200, b"<feed><entry><id>x</id><link href='\x00\xff" + os.urandom(64))
        if p == "/slowgit/manifest.js.gz":  # epoch 0 exists, and its git never answers
            return self.send(200, gzip.compress(b'{"/slowgit/git/0.git": {}}'))
        if p.startswith("/slow/") or p.startswith("/slowgit/"):
            time.sleep(3600)
        return self.send(404, b"no route\n")


class FakeServer(http.server.ThreadingHTTPServer):
    daemon_threads = True


# --- supervised servers for shell and C tests --------------------------------

def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _supervise(state, kind, watch, cleanup, ready_w):
    """Runs in a detached child: starts the server, reports its base URL on
    ready_w, then waits for `pi.py stop` (SIGTERM) or for `watch` to exit."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    server = None
    try:
        if kind == "serve":
            server = Httpd(os.path.join(state, "config"), os.path.join(state, "httpd.log"))
            base = server.base()
        else:
            fake = FakeServer(("127.0.0.1", 0), FakeHandler)
            threading.Thread(target=fake.serve_forever, daemon=True).start()
            base = f"http://127.0.0.1:{fake.server_port}/"
        with open(os.path.join(state, f"{kind}.pid"), "w") as fh:
            fh.write(str(os.getpid()))
        os.write(ready_w, (base + "\n").encode())
        os.close(ready_w)
        while not stop.wait(0.2):
            if watch and not _alive(watch):
                break
    except Exception as e:  # reported to the waiting parent
        os.write(ready_w, f"error: {e}\n".encode())
    finally:
        if server:
            server.stop()
        if cleanup:
            shutil.rmtree(state, ignore_errors=True)
        os._exit(0)


def start_supervised(state, kind, watch=0, cleanup=False):
    os.makedirs(state, exist_ok=True)
    r, w = os.pipe()
    if os.fork() == 0:
        os.close(r)
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # so that a caller reading our stdout sees EOF
            os.dup2(devnull, fd)
        _supervise(state, kind, watch, cleanup, w)
    os.close(w)
    with os.fdopen(r) as fh:
        line = fh.readline().strip()
    if not line.startswith("http"):
        raise RuntimeError(line or f"{kind} server failed to start")
    return line


def stop_supervised(state):
    # read every pid first: a server started with --cleanup removes STATE
    pids = []
    for kind in ("serve", "fake"):
        try:
            with open(os.path.join(state, f"{kind}.pid")) as fh:
                pids.append(int(fh.read()))
        except (OSError, ValueError):
            pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        for _ in range(100):
            if not _alive(pid):
                break
            time.sleep(0.1)


def main(argv):
    cmd, state, rest = argv[1], argv[2], argv[3:]
    flags = {a for a in rest if a.startswith("--")}
    pos = [a for a in rest if not a.startswith("--")]
    if cmd == "init":
        name = pos[0] if pos else "test"
        os.makedirs(state, exist_ok=True)
        print(init_inbox(os.path.join(state, "config"), name, os.path.join(state, name)).dir)
    elif cmd == "gen":
        ib = open_inbox(state, pos[0])
        count, prefix = int(pos[1]), pos[2]
        root = f"<{prefix}-1@{DOMAIN}>"
        for i in range(1, count + 1):
            mid = f"<{prefix}-{i}@{DOMAIN}>"
            reply = root if "--thread" in flags and i > 1 else None
            ib.post(make_mail(f"{prefix} {i}", mid, f"message {i} of {prefix}\nFrom here on\n",
                              to=ib.address, in_reply_to=reply))
    elif cmd == "post":
        open_inbox(state, pos[0]).post(sys.stdin.buffer.read())
    elif cmd == "rm":
        open_inbox(state, pos[0]).remove(sys.stdin.buffer.read())
    elif cmd in ("serve", "fake"):
        watch = 0
        for i, a in enumerate(rest):
            if a == "--watch":
                watch = int(rest[i + 1])
        print(start_supervised(state, cmd, watch, "--cleanup" in flags), flush=True)
    elif cmd == "stop":
        stop_supervised(state)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv)
