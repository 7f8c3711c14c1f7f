"""Shared by bench/soak and bench/crash: start and stop a hogmock, talk HTTP to it over one
kept-alive connection, read a process's RSS and open file descriptors from /proc.
Standard library only; loopback only; every wait here is bounded."""

import http.client
import json
import os
import shutil
import signal
import subprocess
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Hogmock:
    """One hogmock child on a free loopback port; args are extra command-line options.
    start() raises RuntimeError (with the tail of its log) when it does not come up."""

    def __init__(self, workdir, args, exe=None, name="hogmock"):
        self.exe = private_copy(exe or os.environ.get("HOGMOCK")
                                or os.path.join(TOP, "build/bin/hogmock"), workdir)
        self.args = list(args)
        self.ready = os.path.join(workdir, name + ".ready")
        self.log_path = os.path.join(workdir, name + ".log")
        self.proc = None
        self.host = "127.0.0.1"
        self.port = 0

    def start(self, timeout=15.0):
        try:
            os.unlink(self.ready)
        except FileNotFoundError:
            pass
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [self.exe, "--listen", "127.0.0.1:0", "--ready-file", self.ready] + self.args,
                cwd=TOP, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("hogmock exited with status %d at start:\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            try:
                with open(self.ready) as f:
                    url = f.read().strip()
            except FileNotFoundError:
                url = ""
            if url:
                hostport = url.split("://", 1)[1].rstrip("/")
                self.host, port = hostport.rsplit(":", 1)
                self.port = int(port)
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("hogmock did not write its ready file within %.0f s:\n%s"
                           % (timeout, self.log_tail()))

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15.0):
        """SIGTERM, then SIGKILL after timeout; returns the exit status (negative: signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def kill(self):
        """SIGKILL, as a crash would; returns once the process is reaped."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        return self.proc.returncode if self.proc else None

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()[-8192:].decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(data.splitlines()[-lines:])


def private_copy(exe, workdir):
    """A copy of exe in workdir that runs, so that a rebuild of the tree while a long run
    goes on cannot pull the binary away between two starts."""
    dst = os.path.join(workdir, os.path.basename(exe))
    why = ""
    for _ in range(10):
        try:
            shutil.copy2(exe, dst)
            subprocess.run([dst, "--help"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=10, check=True)
            return dst
        except (OSError, subprocess.SubprocessError) as e:
            why = str(e)
            time.sleep(1)
    raise RuntimeError("cannot copy '%s' to run it: %s" % (exe, why))


class Answer:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        """The body as JSON, or None when it is not."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def request_id(self):
        return self.headers.get("x-request-id", "")


class Cut(Exception):
    """The exchange broke: written says whether any byte of the request went out."""

    def __init__(self, written, why):
        super().__init__(why)
        self.written = written
        self.why = why


class Conn:
    """One kept-alive HTTP/1.1 connection that reopens after a failure. request() returns an
    Answer once a status line came back (the body read whole), or raises Cut."""

    def __init__(self, host, port, timeout=15.0, token=None):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.token = token
        self.c = None

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None

    def request(self, method, path, body=None, headers=None):
        h = {"User-Agent": "hogmock-bench/1"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if headers:
            h.update(headers)
        h = {k: v for k, v in h.items() if v is not None}   # None: leave the header out
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if self.c is None:
            self.c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        if self.c.sock is None:
            try:
                self.c.connect()
            except OSError as e:
                self.close()
                raise Cut(False, "connect: %s" % e) from None
        try:
            self.c.request(method, path, body=body, headers=h)
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise Cut(True, "send: %s" % (e.__class__.__name__)) from None
        try:
            r = self.c.getresponse()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise Cut(True, "no answer: %s" % (e.__class__.__name__)) from None
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        try:
            data = r.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            ans = Answer(r.status, hdrs, b"")
            raise CutAfterStatus(ans, "body: %s" % (e.__class__.__name__)) from None
        if r.will_close:
            self.close()
        return Answer(r.status, hdrs, data)


class CutAfterStatus(Cut):
    """The status line came, the body did not arrive whole."""

    def __init__(self, answer, why):
        super().__init__(True, why)
        self.answer = answer


def rss_kib(pid):
    """VmRSS of pid in KiB, or None when it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def fd_count(pid):
    """How many file descriptors pid holds open, or None when it is gone."""
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None
