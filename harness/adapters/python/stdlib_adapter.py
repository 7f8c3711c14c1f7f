#!/usr/bin/env python3
"""A hogplane client and its hogconf/1 adapter in one file, Python standard library only.

The conformance runner (hogconf) starts this program, writes NDJSON messages to its
stdin and reads the answers from its stdout; stderr is the log. The contract is
harness/PROTOCOL.md; the section numbers in the comments below ("PROTOCOL 5") point
into it. The file reads from top to bottom as a walk-through for SDK authors:

  1. settings          what the adapter announces, the client's defaults
  2. errors            the canonical error types every adapter reports
  3. configuration     HOG_HOST, HOG_TOKEN / HOG_TOKEN_FILE, and the `configure` op
  4. the HTTP client   one request, its attempts, retries, backoff, deadlines
  5. the event stream  an incremental Server-Sent Events parser (WHATWG rules)
  6. operations        one function per protocol op, on top of the client
  7. the protocol loop reading lines, answering hello, calls and bad lines

An adapter over a real SDK keeps sections 2, 3 (the part that builds the SDK's
client) and 7, and replaces 4 to 6 with calls of the SDK. This one *is* the client,
so it also shows what the suites expect of one on the wire (PROTOCOL 12).

Calls are carried out one at a time, in the order they arrive: the adapter does not
announce the `concurrent` feature, so the runner waits for each result (PROTOCOL 5).
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import math
import os
import random
import re
import signal
import sys
import time
import traceback
import urllib.parse
import uuid
from typing import Any, Callable, Optional

# --------------------------------------------------------------------------------------
# 1. Settings
# --------------------------------------------------------------------------------------

PROTOCOL = "hogconf/1"
NAME = "hogland-stdlib-adapter"
VERSION = "0.1.0"
USER_AGENT = f"{NAME}/{VERSION} python/{sys.version_info[0]}.{sys.version_info[1]}"

# Every feature of PROTOCOL 4 but `concurrent`: calls run one after the other.
FEATURES = ["exec_stream", "files", "snapshots", "proxy", "token_file", "idempotency_key"]

# The client's defaults; the same as libhogclient's, so both behave alike on the wire.
DEFAULTS = {
    "timeout_ms": 60_000,          # one JSON request, from connect to the last byte
    "max_attempts": 4,             # requests per operation, the first included
    "backoff_base_ms": 200,        # the first retry waits about this (jittered) ...
    "backoff_cap_ms": 5_000,       # ... doubling per retry up to this
    "retry_after_cap_ms": 60_000,  # a longer Retry-After is not waited for
}
CONNECT_TIMEOUT_S = 10.0
STREAM_IDLE_S = 60.0       # an exec stream silent this long is a TimeoutError
ERROR_BODY_MAX = 1 << 20   # what is kept of an error answer's body
ERROR_TEXT_MAX = 64 << 10  # a body that is not JSON is passed on as text up to this
TOKEN_FILE_MAX = 64 << 10

LOG_DEBUG = os.environ.get("HOG_LOG_LEVEL", "").lower() in ("debug", "trace")


def log(message: str) -> None:
    """One line on stderr, the adapter's log (PROTOCOL 1). Never holds a credential."""
    sys.stderr.write(f"{NAME}: {message}\n")
    sys.stderr.flush()


def debug(message: str) -> None:
    if LOG_DEBUG:
        log(message)


# --------------------------------------------------------------------------------------
# 2. Errors (PROTOCOL 6)
# --------------------------------------------------------------------------------------

class ClientError(Exception):
    """What the client raises: `kind` is the canonical type, decided by what happened."""

    def __init__(self, kind: str, message: str, status: Optional[int] = None,
                 body: Any = None, retry_after: Optional[int] = None,
                 request_id: Optional[str] = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.body = body
        self.retry_after = retry_after
        self.request_id = request_id
        self.attempts = 0           # requests sent, retries included
        self.maybe_done = False     # an earlier attempt may have done the work

    def to_json(self) -> dict:
        error = {"type": self.kind, "status_code": self.status, "body": self.body,
                 "retry_after": self.retry_after, "message": self.message,
                 "native_type": f"stdlib_adapter.{self.kind}", "request_id": self.request_id}
        if self.attempts:
            error["attempts"] = self.attempts      # a member of our own (PROTOCOL 6)
        return error


class AdapterFault(Exception):
    """The adapter's own failures: UnsupportedOperation, InvalidArguments, AdapterError.
    The runner reports them as faults of the adapter, never of the client."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def to_json(self) -> dict:
        return {"type": self.kind, "status_code": None, "body": None, "retry_after": None,
                "message": self.message, "native_type": "adapter"}


def canonical_type(status: int) -> str:
    """The canonical mapping of an HTTP error status."""
    if status in (400, 413, 422):
        return "ValidationError"
    named = {401: "AuthenticationError", 403: "PermissionDeniedError", 404: "NotFoundError",
             409: "ConflictError", 429: "RateLimitError"}
    if status in named:
        return named[status]
    return "ServerError" if status >= 500 else "APIError"


def parse_retry_after(value: Optional[str]) -> Optional[int]:
    """Seconds from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110 10.2.3);
    None when it is neither."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(int(value), 1_000_000_000)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    # Round up: "at least Retry-After" must never wait a fraction too little.
    return max(0, math.ceil(when.timestamp() - time.time()))


# --------------------------------------------------------------------------------------
# 3. Configuration and credentials (PROTOCOL 2, and the `configure` op)
# --------------------------------------------------------------------------------------

def config_from_env() -> dict:
    """HOG_HOST and the credential; HOG_TOKEN_FILE wins over HOG_TOKEN (PROTOCOL 2)."""
    conf = dict(DEFAULTS)
    conf["host"] = os.environ.get("HOG_HOST") or None
    conf["token_file"] = os.environ.get("HOG_TOKEN_FILE") or None
    conf["token"] = None if conf["token_file"] else (os.environ.get("HOG_TOKEN") or None)
    return conf


def configure(conf: dict, args: dict) -> dict:
    """Apply a `configure` call: members not given keep their values, `token` and
    `token_file` replace each other, unknown members are listed as ignored. Nothing
    changes unless every member is valid."""
    new, ignored = dict(conf), []
    for name, value in args.items():
        if name in ("host", "token", "token_file"):
            if not isinstance(value, str) or not value:
                raise AdapterFault("InvalidArguments", f'"{name}" must be a non-empty string')
            if name == "host":
                new["host"] = value
            else:
                new["token"] = value if name == "token" else None
                new["token_file"] = value if name == "token_file" else None
        elif name in DEFAULTS:
            low = 1 if name in ("timeout_ms", "max_attempts") else 0
            high = 100 if name == "max_attempts" else 86_400_000
            number = as_int(value)
            if number is None or not low <= number <= high:
                raise AdapterFault("InvalidArguments",
                                   f'"{name}" must be an integer from {low} to {high}')
            new[name] = number
        else:
            ignored.append(name)
    conf.update(new)
    return {"ignored": ignored}


def read_credential(conf: dict) -> str:
    """The bearer credential for one request. A token file is read again for every
    request: it stands for a Kubernetes projected token that the kubelet rewrites while
    the process runs (PROTOCOL 2). The file's surrounding whitespace is not part of it."""
    where = ""
    if conf["token_file"]:
        where = f" in '{conf['token_file']}'"
        try:
            with open(conf["token_file"], "rb") as f:
                raw = f.read(TOKEN_FILE_MAX + 1)
        except OSError as e:
            raise ClientError("AuthenticationError",
                              f"unable to open token file '{conf['token_file']}': {e.strerror}")
        if len(raw) > TOKEN_FILE_MAX:
            raise ClientError("AuthenticationError", f"the token file{where} is too large")
        token = raw.decode("utf-8", "replace").strip()
    else:
        token = (conf["token"] or "").strip()
    if not token:
        raise ClientError("AuthenticationError", f"the credential{where} is empty")
    # A space or control character would break the header (or smuggle another one).
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in token):
        raise ClientError("AuthenticationError",
                          f"the credential{where} holds a space or a control character")
    return token


# --------------------------------------------------------------------------------------
# 4. The HTTP client
# --------------------------------------------------------------------------------------

class Answer:
    """One HTTP answer: status, headers (name, value) in order, body bytes."""

    def __init__(self, status: int, headers: list, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.json: Any = None

    def header(self, name: str) -> Optional[str]:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class Request:
    """What one operation sends; the retry loop may send it several times, always the
    same (the same Idempotency-Key above all)."""

    def __init__(self, method: str, path: str, *, body: Optional[bytes] = None,
                 content_type: Optional[str] = None, accept: Optional[str] = "application/json",
                 idempotency_key: Optional[str] = None, idempotent: bool = False,
                 want_json: bool = True, total_s: Optional[float] = None,
                 idle_s: Optional[float] = None, headers: Optional[dict] = None,
                 on_chunk: Optional[Callable[[bytes], None]] = None,
                 proxy: bool = False) -> None:
        self.method = method
        self.path = path                  # after the host's path prefix, query included
        self.body = body
        self.content_type = content_type
        self.accept = accept
        self.idempotency_key = idempotency_key
        # Safe to send again after a failure: GET, PUT of a file, DELETE, and POSTs that
        # carry an Idempotency-Key (PROTOCOL 12).
        self.idempotent = idempotent or idempotency_key is not None
        self.want_json = want_json        # a 2xx body (but 204's) must be a JSON object
        self.total_s = total_s            # one attempt in all; None: only idle_s
        self.idle_s = idle_s              # longest silence within an attempt
        self.headers = headers or {}
        self.on_chunk = on_chunk          # a 2xx body goes here as it arrives
        self.proxy = proxy                # any answer but hogplane's own errors is a success


class _Failed(Exception):
    """One attempt that got no usable answer. `sent`: the request may have reached the
    server, so only an idempotent request may be sent again."""

    def __init__(self, error: ClientError, sent: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.sent = sent


class Client:
    """The hogplane client: one per call, built from the configuration the call saw."""

    def __init__(self, conf: dict, deadline_ms: Optional[int] = None) -> None:
        host = conf.get("host")
        if not host:
            raise AdapterFault("AdapterError", "no host: set HOG_HOST or call configure")
        url = urllib.parse.urlsplit(host)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise AdapterFault("AdapterError", f"host '{host}' is not an http:// or https:// URL")
        if not conf.get("token") and not conf.get("token_file"):
            raise AdapterFault("AdapterError", "no credential: set HOG_TOKEN or HOG_TOKEN_FILE")
        self.conf = conf
        self.base = host.rstrip("/")                   # for proxy_url
        self.https = url.scheme == "https"
        self.hostname = url.hostname
        self.port = url.port
        self.prefix = url.path.rstrip("/")             # HOG_HOST may carry a path prefix
        # PROTOCOL 8: the deadline covers the whole operation, retries and waits included.
        self.deadline = time.monotonic() + deadline_ms / 1000 if deadline_ms else None
        self.deadline_ms = deadline_ms
        self.delivered = False    # the current attempt handed body bytes to on_chunk

    # ---- the retry loop -------------------------------------------------------------

    def send(self, req: Request) -> Answer:
        """Send req until it succeeds or may not be retried; return the answer or raise
        ClientError. Retried: connection failures, and 429 (but quota_exceeded), 502, 503
        and 504, only for idempotent requests and only while nothing was handed to
        on_chunk; a request that never left (connection refused) is always safe to send
        again. Waits back off exponentially with jitter and never less than Retry-After;
        a Retry-After longer than retry_after_cap_ms ends the operation with its error."""
        attempt = 0
        maybe_done = False   # an attempt may have done the work without us hearing so
        while True:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                raise self._expired(attempt, during=False)
            attempt += 1
            self.delivered = False
            credential = read_credential(self.conf)
            reached = False
            try:
                answer = self._attempt(req, credential)
            except _Failed as failed:
                error = failed.error
                if error.kind == "TimeoutError" and self._deadline_passed():
                    raise self._expired(attempt, during=True)
                reached = failed.sent
                retry = not self.delivered and (req.idempotent or not failed.sent)
            else:
                if req.proxy and not 200 <= answer.status < 300 \
                        and not is_hogplane_problem(answer):
                    return answer      # the service's own answer, whatever its status
                if 200 <= answer.status < 300:
                    if not req.want_json or answer.status == 204:
                        return answer
                    try:
                        answer.json = json.loads(answer.body)
                    except (ValueError, RecursionError):
                        answer.json = None
                    if isinstance(answer.json, dict):
                        return answer
                    # A truncated or garbled body: the transport failed, not the API.
                    error = ClientError(
                        "ConnectionError", f"{req.method} {req.path} answered {answer.status} "
                        f"with a body that is not a JSON object ({len(answer.body)} bytes)")
                    reached, retry = True, req.idempotent
                else:
                    error = error_from_answer(answer)
                    # A gateway error may come after the service did the work.
                    reached = answer.status in (502, 504)
                    retry = req.idempotent and not self.delivered \
                        and retryable_status(answer.status, error)
            error.attempts = attempt
            error.maybe_done = maybe_done
            if not retry or attempt >= self.conf["max_attempts"]:
                raise error
            wait_ms = self._backoff_ms(attempt)
            if error.retry_after is not None:
                if error.retry_after * 1000 > self.conf["retry_after_cap_ms"]:
                    raise error        # longer than we will wait: the caller decides
                wait_ms = max(wait_ms, error.retry_after * 1000)
            if self.deadline is not None and time.monotonic() + wait_ms / 1000 >= self.deadline:
                raise error
            maybe_done = maybe_done or reached
            debug(f"{req.method} {req.path}: {error.message}; retry {attempt} in {wait_ms} ms")
            time.sleep(wait_ms / 1000)

    def _backoff_ms(self, retry: int) -> int:
        """Exponential backoff with jitter: retry n waits between half and all of
        base * 2^(n-1), capped (so that many clients do not retry in step)."""
        base, cap = self.conf["backoff_base_ms"], max(self.conf["backoff_cap_ms"],
                                                      self.conf["backoff_base_ms"])
        delay = min(cap, base * 2 ** min(retry - 1, 30))
        return int(random.uniform(delay / 2, delay))

    def _deadline_passed(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline - 0.02

    def _expired(self, attempts: int, during: bool) -> ClientError:
        if during:
            message = f"the deadline of {self.deadline_ms} ms passed during attempt {attempts}"
        else:
            message = f"the deadline of {self.deadline_ms} ms passed after {attempts} " \
                f"attempt{'' if attempts == 1 else 's'}"
        expired = ClientError("TimeoutError", message)
        expired.attempts = attempts
        return expired

    # ---- one attempt ----------------------------------------------------------------

    def _timeout(self, limit: Optional[float], idle: float) -> float:
        """The socket timeout for the next step: the idle time, but never past limit."""
        if limit is None:
            return idle
        left = limit - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return min(idle, left)

    def _attempt(self, req: Request, credential: str) -> Answer:
        """Send req once, on a connection of its own (a fresh connection never fails
        because the server closed an idle one, which would make a POST look unsafe to
        send again). Raise _Failed when no whole answer came."""
        limit = time.monotonic() + req.total_s if req.total_s else None
        if self.deadline is not None:
            limit = self.deadline if limit is None else min(limit, self.deadline)
        idle = req.idle_s or req.total_s or STREAM_IDLE_S
        what = f"{req.method} {self.prefix}{req.path}"
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        try:
            conn = cls(self.hostname, self.port,
                       timeout=self._timeout(limit, CONNECT_TIMEOUT_S))
        except TimeoutError:
            raise _Failed(ClientError("TimeoutError", f"{what}: no time left to connect"), False)
        try:
            try:
                conn.connect()
            except (OSError, http.client.HTTPException) as e:
                # Refused, unreachable, no such host: nothing was sent.
                kind = "TimeoutError" if isinstance(e, TimeoutError) else "ConnectionError"
                raise _Failed(ClientError(kind, f"{what} failed: {describe(e)}"), False)
            sock = conn.sock
            try:
                return self._exchange(conn, sock, req, credential, limit, idle)
            except TimeoutError as e:
                raise _Failed(ClientError("TimeoutError", f"{what} failed: {describe(e)}"), True)
            except (OSError, http.client.HTTPException) as e:
                raise _Failed(ClientError("ConnectionError", f"{what} failed: {describe(e)}"),
                              True)
        finally:
            conn.close()

    def _exchange(self, conn: http.client.HTTPConnection, sock: Any, req: Request,
                  credential: str, limit: Optional[float], idle: float) -> Answer:
        headers = {"User-Agent": USER_AGENT, "Authorization": f"Bearer {credential}",
                   "Connection": "close"}
        if req.accept:
            headers["Accept"] = req.accept
        if req.content_type:
            headers["Content-Type"] = req.content_type
        if req.idempotency_key:
            headers["Idempotency-Key"] = req.idempotency_key
        headers.update(req.headers)
        sock.settimeout(self._timeout(limit, idle))
        try:
            conn.request(req.method, self.prefix + req.path, body=req.body, headers=headers)
        except (http.client.InvalidURL, ValueError) as e:
            # Refused by http.client before a byte left (a control character in a URL or
            # header): the caller's arguments, not the transport.
            raise ClientError("ValidationError", f"{req.method} request cannot be sent: {e}")
        except OSError:
            # A server may answer before it has read the whole body (413 on an oversized
            # upload) and close: its answer is then still there to read.
            try:
                response = conn.getresponse()
            except (OSError, http.client.HTTPException):
                response = None
            if response is None:
                raise
        else:
            response = conn.getresponse()
        status = response.status
        answer = Answer(status, response.getheaders(), b"")
        ok = 200 <= status < 300
        chunks, size = [], 0
        # http.client closes the socket once it has read a whole Content-Length body.
        while not response.isclosed():
            sock.settimeout(self._timeout(limit, idle))
            # read1 returns what has arrived: a stream's events are handed on at once.
            chunk = response.read1(65536) if req.on_chunk and ok else response.read(65536)
            if not chunk:
                break
            if req.on_chunk and ok:
                self.delivered = True
                req.on_chunk(chunk)
                continue
            if not ok and not req.proxy and size >= ERROR_BODY_MAX:
                continue        # read on to the end, keep only the first MiB of an error
            chunks.append(chunk)
            size += len(chunk)
        if response.length:
            # read() ends quietly when the connection closes before Content-Length bytes
            # came: a truncated body must not pass for a whole one.
            raise http.client.IncompleteRead(b"".join(chunks), response.length)
        answer.body = b"".join(chunks)
        return answer


def describe(e: BaseException) -> str:
    """A transport failure in a few words, for the error's message."""
    if isinstance(e, http.client.IncompleteRead):
        got = len(e.partial)
        return "the body was cut short" + (f" after {got} bytes" if got else "")
    if isinstance(e, http.client.RemoteDisconnected):
        return "the server closed the connection without an answer"
    if isinstance(e, http.client.BadStatusLine):
        return "the answer is not HTTP"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__


def retryable_status(status: int, error: ClientError) -> bool:
    if status == 429:
        # quota_exceeded clears only when a box is destroyed: waiting does not help.
        return not (isinstance(error.body, dict) and error.body.get("code") == "quota_exceeded")
    return status in (502, 503, 504)


def error_from_answer(answer: Answer) -> ClientError:
    """An error answer as a ClientError: the problem+json object as body (a string for a
    body that is not JSON, None for none), Retry-After in seconds, the request id."""
    body: Any = None
    if answer.body:
        try:
            body = json.loads(answer.body)
        except (ValueError, RecursionError):
            body = answer.body[:ERROR_TEXT_MAX].decode("utf-8", "replace")
    message = f"hogplane answered {answer.status}"
    if isinstance(body, dict):
        if isinstance(body.get("code"), str):
            message += f" {body['code']}"
        if isinstance(body.get("detail"), str):
            message += f": {body['detail']}"
    return ClientError(canonical_type(answer.status), message, status=answer.status, body=body,
                       retry_after=parse_retry_after(answer.header("Retry-After")),
                       request_id=answer.header("X-Request-Id"))


def is_hogplane_problem(answer: Answer) -> bool:
    """Through the proxy, hogplane's own error is a problem+json that repeats the
    answer's X-Request-Id (a service in the box cannot know it in advance)."""
    content_type = answer.header("Content-Type") or ""
    request_id = answer.header("X-Request-Id")
    if not content_type.lower().startswith("application/problem+json") or not request_id:
        return False
    try:
        body = json.loads(answer.body)
    except (ValueError, RecursionError):
        return False
    return isinstance(body, dict) and isinstance(body.get("code"), str) \
        and body.get("request_id") == request_id


# --------------------------------------------------------------------------------------
# 5. The event stream: Server-Sent Events, parsed as bytes arrive (WHATWG HTML 9.2.6)
# --------------------------------------------------------------------------------------

_EOL = re.compile(rb"\r\n|\r|\n")


class SSEParser:
    """feed() takes bytes as they come and returns the events they complete, as
    (event name, data) pairs. A line ends at CRLF, LF or CR (a CR at the end of one
    chunk and an LF at the start of the next are one line end); a line that starts with
    ':' is a comment (hogplane's keepalives); an event is dispatched at a blank line, and
    only if it had data; `id` and `retry` are read and not needed here; what is left at
    the end of the stream is not an event."""

    def __init__(self) -> None:
        self._pending = b""
        self._skip_lf = False
        self._first = True
        self._name = ""
        self._data: list = []
        self._id = ""                      # the last event ID (WHATWG: kept across events)

    def feed(self, chunk: bytes) -> list:
        buf = self._pending + chunk
        if self._skip_lf and buf.startswith(b"\n"):
            buf = buf[1:]
        self._skip_lf = False
        events, start = [], 0
        for eol in _EOL.finditer(buf):
            if eol.group() == b"\r" and eol.end() == len(buf):
                self._skip_lf = True       # maybe the first half of a CRLF
            self._line(buf[start:eol.start()], events)
            start = eol.end()
        self._pending = buf[start:]
        return events

    def _line(self, raw: bytes, events: list) -> None:
        if self._first:
            self._first = False
            raw = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw   # a leading BOM
        line = raw.decode("utf-8", "replace")
        if not line:
            if self._data:
                events.append((self._name or "message", "\n".join(self._data), self._id))
            self._name, self._data = "", []
            return
        if line.startswith(":"):
            return
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            self._name = value
        elif field == "data":
            self._data.append(value)
        elif field == "id" and "\0" not in value:
            self._id = value
        # "retry" and unknown fields: nothing to do for a stream that cannot resume.


# --------------------------------------------------------------------------------------
# 6. Operations (PROTOCOL 11): arguments in, the API's JSON out
# --------------------------------------------------------------------------------------

def as_int(value: Any) -> Optional[int]:
    """A JSON integer (1 or 1.0, never true), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


class Args:
    """A call's arguments; absent and null are the same (PROTOCOL 11). A member of the
    wrong type is InvalidArguments, an adapter fault, not the client's error."""

    def __init__(self, args: dict) -> None:
        self.args = args

    def _get(self, name: str, required: bool) -> Any:
        value = self.args.get(name)
        if value is None and required:
            raise AdapterFault("InvalidArguments", f'"{name}" is required')
        return value

    def _bad(self, name: str, what: str) -> AdapterFault:
        return AdapterFault("InvalidArguments", f'"{name}" must be {what}')

    def string(self, name: str, required: bool = False) -> Optional[str]:
        value = self._get(name, required)
        if value is not None and not isinstance(value, str):
            raise self._bad(name, "a string")
        return value

    def integer(self, name: str, required: bool = False) -> Optional[int]:
        value = self._get(name, required)
        if value is not None:
            value = as_int(value)
            if value is None or not -2**31 <= value < 2**31:
                raise self._bad(name, "an integer")
        return value

    def boolean(self, name: str) -> bool:
        value = self._get(name, False)
        if value is not None and not isinstance(value, bool):
            raise self._bad(name, "true or false")
        return bool(value)

    def strings(self, name: str) -> list:
        value = self._get(name, True)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(name, "an array of strings")
        return value

    def str_map(self, name: str) -> Optional[dict]:
        value = self._get(name, False)
        if value is not None and (not isinstance(value, dict)
                                  or not all(isinstance(v, str) for v in value.values())):
            raise self._bad(name, "an object of strings")
        return value

    def base64_bytes(self, name: str, required: bool = False) -> Optional[bytes]:
        value = self.string(name, required)
        if value is None:
            return None
        try:
            return base64.b64decode(value, validate=True)   # standard, padded (RFC 4648 4)
        except ValueError:
            raise self._bad(name, "base64 (RFC 4648, padded)")


def seg(value: str) -> str:
    """One path segment, every byte but the unreserved ones escaped (ids are escaped)."""
    return urllib.parse.quote(value, safe="")


def query(pairs: list) -> str:
    """?name=value&... of the pairs whose value is not None."""
    kept = [(k, str(v)) for k, v in pairs if v is not None]
    return "?" + urllib.parse.urlencode(kept, quote_via=urllib.parse.quote, safe="") \
        if kept else ""


def get_json(c: Client, path: str) -> dict:
    return c.send(Request("GET", path, idempotent=True)).json


def post_json(c: Client, path: str, body: Optional[dict] = None,
              key: Optional[str] = None, total_s: Optional[float] = None) -> dict:
    data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
    return c.send(Request("POST", path, body=data, idempotency_key=key, total_s=total_s,
                          content_type="application/json" if data is not None else None)).json


def delete(c: Client, path: str) -> dict:
    try:
        c.send(Request("DELETE", path, idempotent=True, want_json=False))
    except ClientError as e:
        # A 404 after an attempt that may have deleted it: the first attempt did.
        if e.status != 404 or not e.maybe_done:
            raise
    return {}


def new_idempotency_key() -> str:
    """One key per operation, generated before the first attempt and sent on every retry
    of it, so that a retry after a lost answer does not create a second hogbox."""
    return str(uuid.uuid4())


def list_query(a: Args, cursor: Optional[str]) -> str:
    labels = a.str_map("labels") or {}
    return query([("limit", a.integer("limit")), ("cursor", cursor), ("state", a.string("state"))]
                 + [("label", f"{k}={v}") for k, v in labels.items()])


def exec_body(a: Args) -> dict:
    argv = a.strings("argv")
    if not argv:
        raise ClientError("ValidationError", "argv needs at least one word")
    body: dict = {"argv": argv}
    for name, value in (("timeout_seconds", a.integer("timeout_seconds")),
                        ("env", a.str_map("env")), ("workdir", a.string("workdir"))):
        if value is not None:
            body[name] = value
    return body


def op_me(c: Client, a: Args, emit: Callable) -> dict:
    return get_json(c, "/v1/me")


def op_limits(c: Client, a: Args, emit: Callable) -> dict:
    return get_json(c, "/v1/limits")


def op_create(c: Client, a: Args, emit: Callable) -> dict:
    body: dict = {}
    for name in ("cpus", "memory_mib", "disk_gib"):
        if a.integer(name) is not None:
            body[name] = a.integer(name)
    for name in ("snapshot_id", "ssh_public_key", "access_type"):
        if a.string(name) is not None:
            body[name] = a.string(name)
    if a.str_map("labels") is not None:
        body["labels"] = a.str_map("labels")
    key = a.string("idempotency_key") or new_idempotency_key()
    return post_json(c, "/v1/hogboxes", body, key=key)


def op_get(c: Client, a: Args, emit: Callable) -> dict:
    return get_json(c, f"/v1/hogboxes/{seg(a.string('box', True))}")


def op_list(c: Client, a: Args, emit: Callable) -> dict:
    return get_json(c, "/v1/hogboxes" + list_query(a, a.string("cursor")))


def op_list_all(c: Client, a: Args, emit: Callable) -> dict:
    """Every page, each asked for with the previous page's next_cursor."""
    items, cursor = [], None
    while True:
        page = get_json(c, "/v1/hogboxes" + list_query(a, cursor))
        if not isinstance(page.get("items"), list):
            raise ClientError("ConnectionError", "a list page has no items array")
        items.extend(page["items"])
        following = page.get("next_cursor")
        if not isinstance(following, str) or not following:
            return {"items": items}
        if following == cursor:
            raise ClientError("ConnectionError", "the server gave the same cursor again")
        cursor = following


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def output_bytes(text: Any) -> bytes:
    """The bytes of an output string of the answer: its UTF-8, NUL included (json.loads
    keeps "\\u0000"); a lone surrogate escape, which no UTF-8 can hold, as U+FFFD."""
    if not isinstance(text, str):
        raise ClientError("ConnectionError", "the ExecResult's stdout or stderr is not a string")
    return LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")


def op_exec(c: Client, a: Args, emit: Callable) -> dict:
    body = exec_body(a)
    # The answer comes when the command ends: allow its own timeout on top (a timeout the
    # server will refuse, 0 or less, allows the default). Never retried once sent:
    # running a command twice is not safe.
    timeout = body.get("timeout_seconds")
    total = timeout if timeout is not None and timeout > 0 else 60
    result = post_json(c, f"/v1/hogboxes/{seg(a.string('box', True))}/exec", body,
                       total_s=total + c.conf["timeout_ms"] / 1000)
    # stdout and stderr again as base64 (PROTOCOL 11, exec): the runner keeps JSON
    # strings as C strings, which end at a NUL byte.
    for name in ("stdout", "stderr"):
        result[name + "_base64"] = base64.b64encode(output_bytes(result.get(name))).decode()
    return result


def op_exec_stream(c: Client, a: Args, emit: Callable) -> dict:
    """PROTOCOL 7: each stdout/stderr event is written the moment it is parsed, then the
    exit event, then the result. A stream that ends or breaks before its exit event is
    a ConnectionError (or TimeoutError), and the events written stand."""
    body = exec_body(a)
    path = f"/v1/hogboxes/{seg(a.string('box', True))}/exec/stream"
    parser, state = SSEParser(), {"exit": None, "events": 0, "last": None}

    def on_chunk(chunk: bytes) -> None:
        for name, data, event_id in parser.feed(chunk):
            if state["exit"] is not None:
                return                       # nothing counts after the exit event
            # Ids go up by one per event (the spec): an event whose id is not past the
            # last one, with the same bytes, was sent twice and is skipped.
            last = state["last"]
            if last is not None and (name, data) == last[1:] and event_id.isdigit() \
                    and last[0].isdigit() and int(event_id) <= int(last[0]):
                continue
            state["last"] = (event_id, name, data)
            if name in ("stdout", "stderr"):
                text = json_object(data).get("data")
                if not isinstance(text, str):
                    raise StreamMalformed(f'a {name} event has no "data" string')
                emit({"kind": name, "data": text})
            elif name == "exit":
                fields = json_object(data)
                code = as_int(fields.get("exit_code"))
                timed_out = fields.get("timed_out", False)
                if code is None or not 0 <= code <= 255 or not isinstance(timed_out, bool):
                    raise StreamMalformed("the exit event has no exit_code from 0 to 255")
                state["exit"] = {"exit_code": code, "timed_out": timed_out}
                emit({"kind": "exit", **state["exit"]})
            else:
                continue                     # unknown event kinds are for later versions
            state["events"] += 1

    request = Request("POST", path, body=json.dumps(body, separators=(",", ":")).encode(),
                      content_type="application/json", accept="text/event-stream",
                      want_json=False, idle_s=STREAM_IDLE_S, on_chunk=on_chunk)
    try:
        c.send(request)
    except StreamMalformed as e:
        raise ClientError("ConnectionError", f"the event stream is malformed: {e}")
    except ClientError as e:
        if state["exit"] is not None:
            return state["exit"]             # cut after the exit event: the outcome is known
        if state["events"]:
            e.message = f"the stream was cut after {state['events']} event" \
                f"{'' if state['events'] == 1 else 's'}: {e.message}"
            e.args = (e.message,)
        raise
    if state["exit"] is None:
        raise ClientError("ConnectionError", f"the stream ended after {state['events']} "
                          f"event{'' if state['events'] == 1 else 's'} without its exit event")
    return state["exit"]


class StreamMalformed(Exception):
    """An event the stream should not hold; ends the stream as a ConnectionError."""


def json_object(data: str) -> dict:
    """The JSON object an event's data holds; {} when it holds something else."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def op_write_file(c: Client, a: Args, emit: Callable) -> dict:
    box, path = a.string("box", True), a.string("path", True)
    data = a.base64_bytes("data", True)
    mkdir = "true" if a.boolean("mkdir") else None
    target = f"/v1/hogboxes/{seg(box)}/files" + query(
        [("path", path), ("mode", a.string("mode")), ("mkdir", mkdir)])
    # PUT of a whole file is an atomic replace: the same bytes twice are one write.
    return c.send(Request("PUT", target, body=data, content_type="application/octet-stream",
                          idempotent=True, idle_s=c.conf["timeout_ms"] / 1000)).json


def op_read_file(c: Client, a: Args, emit: Callable) -> dict:
    box, path = a.string("box", True), a.string("path", True)
    target = f"/v1/hogboxes/{seg(box)}/files" + query([("path", path)])
    answer = c.send(Request("GET", target, accept="application/octet-stream", idempotent=True,
                            want_json=False, idle_s=c.conf["timeout_ms"] / 1000))
    # Bytes stay bytes: never decoded as text, base64 on the protocol.
    return {"data": base64.b64encode(answer.body).decode("ascii")}


def op_snapshot(c: Client, a: Args, emit: Callable) -> dict:
    box = a.string("box", True)
    key = a.string("idempotency_key") or new_idempotency_key()
    return post_json(c, f"/v1/hogboxes/{seg(box)}/snapshot", key=key)


def op_list_snapshots(c: Client, a: Args, emit: Callable) -> dict:
    return get_json(c, "/v1/snapshots" + query([("limit", a.integer("limit")),
                                                ("cursor", a.string("cursor"))]))


def op_get_snapshot(c: Client, a: Args, emit: Callable) -> dict:
    return get_json(c, f"/v1/snapshots/{seg(a.string('snapshot', True))}")


def op_delete_snapshot(c: Client, a: Args, emit: Callable) -> dict:
    return delete(c, f"/v1/snapshots/{seg(a.string('snapshot', True))}")


def op_pause(c: Client, a: Args, emit: Callable) -> dict:
    return post_json(c, f"/v1/hogboxes/{seg(a.string('box', True))}/pause")


def op_resume(c: Client, a: Args, emit: Callable) -> dict:
    return post_json(c, f"/v1/hogboxes/{seg(a.string('box', True))}/resume")


def op_destroy(c: Client, a: Args, emit: Callable) -> dict:
    return delete(c, f"/v1/hogboxes/{seg(a.string('box', True))}")


_HALF_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def proxy_path(c: Client, a: Args) -> str:
    """/v1/hogboxes/{box}/proxy/{port}/{path}: path keeps its '/' and %XX escapes, other
    bytes outside a URL path are escaped. Never the credential: the client sends it."""
    box, port = a.string("box", True), a.integer("port", True)
    if not 1 <= port <= 65535:
        raise ClientError("ValidationError", f"port {port} is outside 1..65535")
    rest = a.string("path") or ""
    rest = rest[1:] if rest.startswith("/") else rest
    rest = urllib.parse.quote(_HALF_ESCAPE.sub("%25", rest), safe="!$&'()*+,;=:@/%")
    return f"/v1/hogboxes/{seg(box)}/proxy/{port}/{rest}"


def op_proxy_url(c: Client, a: Args, emit: Callable) -> dict:
    return {"url": c.base + proxy_path(c, a)}


def op_proxy_request(c: Client, a: Args, emit: Callable) -> dict:
    method = (a.string("method") or "GET").upper()
    target = proxy_path(c, a)
    if a.string("query"):
        target += "?" + a.string("query")
    headers = a.str_map("headers") or {}
    for name, value in headers.items():
        if name.lower() == "authorization" or any(ch in name + value for ch in "\r\n") \
                or not name or ":" in name:
            raise ClientError("ValidationError", f"header '{name[:40]}' cannot be sent: the "
                              "client sends its own credential, and a header is one line")
    answer = c.send(Request(method, target, body=a.base64_bytes("body"), accept=None,
                            headers=headers,
                            idempotent=method in ("GET", "HEAD", "OPTIONS", "DELETE"),
                            want_json=False, total_s=c.conf["timeout_ms"] / 1000, proxy=True))
    joined: dict = {}
    for name, value in answer.headers:
        name = name.lower()
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    return {"status": answer.status, "headers": joined,
            "body": base64.b64encode(answer.body).decode("ascii")}


OPS = {
    "me": op_me, "limits": op_limits, "create": op_create, "get": op_get,
    "list": op_list, "list_all": op_list_all, "exec": op_exec,
    "exec_stream": op_exec_stream, "write_file": op_write_file, "read_file": op_read_file,
    "snapshot": op_snapshot, "list_snapshots": op_list_snapshots,
    "get_snapshot": op_get_snapshot, "delete_snapshot": op_delete_snapshot,
    "pause": op_pause, "resume": op_resume, "destroy": op_destroy,
    "proxy_url": op_proxy_url, "proxy_request": op_proxy_request,
}


# --------------------------------------------------------------------------------------
# 7. The protocol loop (PROTOCOL 1, 3, 4, 5, 9, 10)
# --------------------------------------------------------------------------------------

def send(message: dict) -> None:
    """One message, one whole line, flushed at once (PROTOCOL 1). ensure_ascii keeps any
    text (even a lone surrogate from a \\ud800 escape) valid JSON and valid UTF-8."""
    line = json.dumps(message, separators=(",", ":"), ensure_ascii=True) + "\n"
    try:
        sys.stdout.buffer.write(line.encode("ascii"))
        sys.stdout.buffer.flush()
    except (BrokenPipeError, ValueError, OSError):
        # The runner is gone: nobody is left to answer, so stop (PROTOCOL 9).
        os._exit(1)


def protocol_error(call_id: Optional[str], message: str) -> None:
    """PROTOCOL 10: a line that cannot be taken as a message. With an id, the runner
    takes it as that call's answer."""
    log(f"protocol error: {message}")
    send({"type": "protocol_error", "id": call_id, "message": message})


def hello(msg: dict) -> None:
    """PROTOCOL 4: say who the client is and what it supports."""
    if msg.get("protocol") != PROTOCOL:
        protocol_error(None, f"protocol {json.dumps(msg.get('protocol'))[:64]} is not spoken "
                       f"here; this adapter speaks {PROTOCOL}")
        return
    send({"type": "hello", "protocol": PROTOCOL,
          "client": {"name": NAME, "version": VERSION, "language": "python"},
          "features": FEATURES})


def run_call(conf: dict, call_id: str, op: str, args: dict, deadline_ms: Optional[int]) -> None:
    """Carry out one call and write exactly one result (after its events, if any)."""
    seq = [0]

    def emit(event: dict) -> None:
        send({"type": "event", "id": call_id, "seq": seq[0], "event": event})
        seq[0] += 1

    try:
        if op == "configure":
            value = configure(conf, args)
        elif op not in OPS:
            raise AdapterFault("UnsupportedOperation", f"unknown op '{op}'")
        else:
            value = OPS[op](Client(conf, deadline_ms), Args(args), emit)
        send({"type": "result", "id": call_id, "ok": True, "value": value})
        debug(f"call '{call_id}' ({op}): ok")
    except (ClientError, AdapterFault) as e:
        debug(f"call '{call_id}' ({op}): {e.kind}: {e.message}")
        send({"type": "result", "id": call_id, "ok": False, "error": e.to_json()})
    except Exception as e:  # a bug here must cost one call, never the session
        log(f"call '{call_id}' ({op}) failed inside the adapter:\n{traceback.format_exc()}")
        fault = AdapterFault("AdapterError", f"the adapter failed: {type(e).__name__}: {e}")
        send({"type": "result", "id": call_id, "ok": False, "error": fault.to_json()})


def handle_line(conf: dict, raw: bytes, lineno: int) -> None:
    """One input line: a hello, a call, or something that gets a protocol_error."""
    line = raw[:-1] if raw.endswith(b"\n") else raw
    line = line[:-1] if line.endswith(b"\r") else line
    try:
        msg = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        protocol_error(None, f"line {lineno} is not JSON")
        return
    if not isinstance(msg, dict):
        protocol_error(None, f"line {lineno} is not a JSON object")
        return
    kind = msg.get("type")
    if not isinstance(kind, str):
        protocol_error(None, f'line {lineno} has no string "type"')
    elif kind == "hello":
        hello(msg)
    elif kind != "call":
        protocol_error(None, f"line {lineno}: unknown message type {json.dumps(kind)[:64]}")
    elif not isinstance(msg.get("id"), str):
        protocol_error(None, 'a call needs a string "id"')
    elif not isinstance(msg.get("op"), str):
        protocol_error(msg["id"], 'a call needs a string "op"')
    elif msg.get("args") is not None and not isinstance(msg["args"], dict):
        protocol_error(msg["id"], '"args" of a call must be an object')
    elif msg.get("deadline_ms") is not None and (as_int(msg["deadline_ms"]) or 0) < 1:
        protocol_error(msg["id"], '"deadline_ms" must be a positive integer')
    else:
        deadline = as_int(msg["deadline_ms"]) if msg.get("deadline_ms") is not None else None
        run_call(conf, msg["id"], msg["op"], msg.get("args") or {}, deadline)


def main() -> int:
    # PROTOCOL 9: SIGTERM ends the adapter at once, whatever is in flight; its default
    # action does that (restored in case the parent left it ignored). Ctrl-C, when run
    # by hand, does the same. SIGPIPE stays ignored (Python's default), so that a
    # closed stdout or socket is an exception to handle, not a silent death mid-call.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if len(sys.argv) > 1:
        sys.stderr.write(f"usage: {sys.argv[0]}  (speaks {PROTOCOL} on stdin/stdout; see "
                         "harness/PROTOCOL.md)\nenvironment: HOG_HOST, HOG_TOKEN or "
                         "HOG_TOKEN_FILE, HOG_LOG_LEVEL=debug\n")
        return 0 if sys.argv[1] in ("-h", "--help") else 2
    conf = config_from_env()
    if not conf["host"]:
        log("HOG_HOST is not set; calls fail until configure gives a host")
    lineno = 0
    # readline() has no length limit: a write_file line may be ~90 MB (PROTOCOL 1).
    for raw in iter(sys.stdin.buffer.readline, b""):
        lineno += 1
        handle_line(conf, raw, lineno)
    # stdin EOF: calls run one at a time, so none is in flight any more; leave with 0.
    return 0


if __name__ == "__main__":
    sys.exit(main())
