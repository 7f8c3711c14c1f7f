#!/usr/bin/env python3
"""The hogconf/1 adapter for posthog-hogland, hogland's Python SDK (`pip install
posthog-hogland`, imported as `hogland`).

NOT YET RUN AGAINST THE SDK. The SDK could not be installed where this adapter was
written (no network to PyPI), so it follows the interface the SDK's README documents:
a `Hogland` client class (which reads HOG_HOST and HOG_TOKEN from the environment)
with `create`, `get`, `list` / `iter_boxes`, `me` and `limits`; box handles with
`exec`, `exec_stream` (ExecEvent frames with `kind`, `data`, `exit_code`),
`write_file`, `read_file`, `snapshot`, `pause`, `resume`, `destroy` and `proxy_url`;
typed errors that carry `.status_code` and `.body`. Whatever the README leaves open
(keyword names beyond those, the shape of returned objects) the translation below
reads defensively and says so where it does. The first run against the real SDK
should check those places: they are marked "README:".

The file is a translation layer, `Translator`, that takes the SDK module as a
parameter: protocol arguments become SDK calls, SDK objects become the API's JSON,
SDK exceptions become the canonical error types (harness/PROTOCOL.md section 6). It is
unit-tested against tests/fake_hogland.py, a stand-in of the documented interface,
never against the SDK itself.

When `import hogland` fails, the adapter cannot run: it answers the runner's hello
with `"runnable": false` and an `error`, then exits with status 3, so that the runner
reports the client as not runnable rather than failed (PROTOCOL.md section 4).

Not announced, so their scenarios are N/A: `snapshots` and `proxy` (the README
documents `snapshot` and `proxy_url`, but the features also need listing, reading and
deleting snapshots, and sending a request through the proxy), `concurrent` (calls run
one at a time), and `idempotency_key` and `token_file` unless the SDK's signatures
show the keywords (checked at start).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import enum
import inspect
import json
import os
import signal
import sys
import traceback
from typing import Any, Callable, Iterator, Optional

PROTOCOL = "hogconf/1"
NOT_RUNNABLE_EXIT = 3

# The spec's schemas (openapi/hogplane.yaml): the members a value may have.
HOGBOX = ("id", "state", "cpus", "memory_mib", "disk_gib", "snapshot_id", "access_type",
          "labels", "created_at", "updated_at")
ME = ("principal_id", "auth_path", "subject", "display_name", "attributes")
LIMITS = ("cpus", "memory_mib", "disk_gib", "exec_timeout_seconds", "exec_output_max_bytes",
          "file_max_bytes", "max_hogboxes")
EXEC_RESULT = ("exit_code", "stdout", "stderr", "stdout_truncated", "stderr_truncated",
               "timed_out", "duration_ms")
FILE_WRITTEN = ("path", "size", "mode", "sha256")
SNAPSHOT = ("id", "hogbox_id", "size_bytes", "created_at")

# The operation each feature needs (PROTOCOL 4); an op of a feature not announced is
# UnsupportedOperation.
FEATURE_OF = {"exec_stream": "exec_stream", "write_file": "files", "read_file": "files",
              "snapshot": "snapshots", "list_snapshots": "snapshots",
              "get_snapshot": "snapshots", "delete_snapshot": "snapshots",
              "proxy_url": "proxy", "proxy_request": "proxy"}


def log(message: str) -> None:
    sys.stderr.write(f"hogland-sdk-adapter: {message}\n")
    sys.stderr.flush()


class AdapterFault(Exception):
    """UnsupportedOperation, InvalidArguments or AdapterError: the adapter's own."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class CallFailed(Exception):
    """A call that ends with an error result; `error` is the protocol's error object."""

    def __init__(self, error: dict) -> None:
        super().__init__(error.get("message", ""))
        self.error = error


# --------------------------------------------------------------------------------------
# SDK objects -> the API's JSON
# --------------------------------------------------------------------------------------

def plain(value: Any) -> Any:
    """Any SDK value as JSON: datetimes as RFC 3339 (UTC as Z), enums by value, bytes
    as text, and records (pydantic, dataclass, plain object) by their public fields."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime.datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "model_dump"):                     # pydantic v2
        return plain(value.model_dump())
    if dataclasses.is_dataclass(value):
        return plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if hasattr(value, "__dict__"):
        return plain({k: v for k, v in vars(value).items() if not k.startswith("_")})
    return str(value)


def api_json(obj: Any, fields: tuple) -> dict:
    """The members of a schema that obj has (PROTOCOL 5: a member the SDK does not expose
    may be left out). README: records are read by attribute, or by key for dicts."""
    out = {}
    for name in fields:
        if isinstance(obj, dict):
            if name not in obj:
                continue
            value = obj[name]
        elif hasattr(obj, name) and not callable(getattr(obj, name)):
            value = getattr(obj, name)
        else:
            continue
        out[name] = plain(value)
    return out


def output_bytes(value: Any) -> Optional[bytes]:
    """The bytes of a command's output as the SDK returned it: bytes as they are, text as
    UTF-8 (NUL included; a lone surrogate, which no UTF-8 holds, as U+FFFD); None when
    the SDK gave neither."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:
            return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch
                           for ch in value).encode("utf-8")
    return None


def field(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


# --------------------------------------------------------------------------------------
# SDK exceptions -> canonical errors (PROTOCOL 6)
# --------------------------------------------------------------------------------------

def canonical_type(status: int) -> str:
    if status in (400, 413, 422):
        return "ValidationError"
    named = {401: "AuthenticationError", 403: "PermissionDeniedError", 404: "NotFoundError",
             409: "ConflictError", 429: "RateLimitError"}
    if status in named:
        return named[status]
    return "ServerError" if status >= 500 else "APIError"


def type_without_status(exc: BaseException) -> Optional[str]:
    """The canonical type of an error that came without an HTTP status, from what its
    class says happened (its own name and its bases'), whatever the SDK calls it."""
    names = [cls.__name__.lower() for cls in type(exc).__mro__]
    if isinstance(exc, TimeoutError) or any("timeout" in n or "timedout" in n for n in names):
        return "TimeoutError"
    if isinstance(exc, (ConnectionError, EOFError)) or any(
            word in n for n in names
            for word in ("connect", "network", "transport", "protocol", "stream", "incomplete",
                         "decode", "readerror")):
        return "ConnectionError"
    if any("validation" in n or "invalid" in n for n in names):
        return "ValidationError"          # refused by the SDK before anything was sent
    return None


def error_json(exc: BaseException) -> Optional[dict]:
    """The error object for an exception of the SDK (or of its HTTP layer); None when it
    is not one the adapter can classify."""
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) and not isinstance(status, bool) else None
    if status is not None and status >= 300:
        kind = canonical_type(status)
    else:
        kind = type_without_status(exc)
        if kind is None:
            return None
        status = None
    body = getattr(exc, "body", None)
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
            body = parsed if isinstance(parsed, dict) else body
        except ValueError:
            pass
    body = plain(body)
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, datetime.timedelta):
        retry_after = retry_after.total_seconds()
    if not isinstance(retry_after, (int, float)) or isinstance(retry_after, bool):
        retry_after = None
    cls = type(exc)
    return {"type": kind, "status_code": status, "body": body, "retry_after": retry_after,
            "message": str(exc) or cls.__name__,
            "native_type": f"{cls.__module__}.{cls.__qualname__}"}


# --------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------

def as_int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


class Args:
    """A call's arguments; absent and null mean "the SDK's default" (not passed)."""

    def __init__(self, args: dict) -> None:
        self.args = args

    def get(self, name: str, kind: str, required: bool = False) -> Any:
        value = self.args.get(name)
        if value is None:
            if required:
                raise AdapterFault("InvalidArguments", f'"{name}" is required')
            return None
        ok = {"str": isinstance(value, str),
              "int": as_int(value) is not None,
              "bool": isinstance(value, bool),
              "strings": isinstance(value, list) and all(isinstance(v, str) for v in value),
              "str_map": isinstance(value, dict)
              and all(isinstance(v, str) for v in value.values())}[kind]
        if not ok:
            raise AdapterFault("InvalidArguments",
                               f'"{name}" has the wrong type ({kind} expected)')
        return as_int(value) if kind == "int" else value

    def kwargs(self, spec: dict) -> dict:
        """{name: kind} -> the keyword arguments that were given."""
        out = {}
        for name, kind in spec.items():
            value = self.get(name, kind)
            if value is not None:
                out[name] = value
        return out

    def data(self, name: str, required: bool) -> Optional[bytes]:
        text = self.get(name, "str", required)
        if text is None:
            return None
        try:
            return base64.b64decode(text, validate=True)
        except ValueError:
            raise AdapterFault("InvalidArguments", f'"{name}" is not base64 (RFC 4648, padded)')


def accepts(func: Any, name: str) -> bool:
    """Does func take keyword name (not merely **kwargs)? False when it cannot be told."""
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------------------
# The translation layer
# --------------------------------------------------------------------------------------

class Translator:
    """Protocol calls carried out with the SDK module `sdk` (hogland, or a stand-in)."""

    def __init__(self, sdk: Any, environ: Optional[dict] = None) -> None:
        self.sdk = sdk
        self.env = dict(os.environ if environ is None else environ)
        self.settings: dict = {}          # what configure set, as protocol names
        self.client: Any = None
        self.handles: dict = {}           # box id -> a handle the SDK gave this session

    # ---- hello ----------------------------------------------------------------------

    def features(self) -> list:
        features = ["exec_stream", "files"]
        create = getattr(self.sdk.Hogland, "create", None)
        if create is not None and accepts(create, "idempotency_key"):
            features.append("idempotency_key")
        if accepts(self.sdk.Hogland, "token_file"):
            features.append("token_file")
        return features

    def hello(self) -> dict:
        return {"type": "hello", "protocol": PROTOCOL,
                "client": {"name": "posthog-hogland",
                           "version": str(getattr(self.sdk, "__version__", "unknown")),
                           "language": "python"},
                "features": self.features()}

    # ---- the client -----------------------------------------------------------------

    def _client(self) -> Any:
        """The SDK's client, built on first use and again after configure. README:
        Hogland() reads HOG_HOST and HOG_TOKEN; keywords are passed only where its
        signature shows them, else the environment variable stands in."""
        if self.client is not None:
            return self.client
        cls = self.sdk.Hogland
        host = self.settings.get("host") or self.env.get("HOG_HOST")
        token_file = self.settings.get("token_file")
        token = self.settings.get("token")
        if "token" not in self.settings and "token_file" not in self.settings:
            token_file = self.env.get("HOG_TOKEN_FILE") or None
            token = None if token_file else self.env.get("HOG_TOKEN")
        if token_file and not accepts(cls, "token_file"):
            # The SDK takes only a string: read once. token_file is then not announced,
            # and the runner does not rotate the file under this adapter (PROTOCOL 2).
            try:
                with open(token_file, encoding="utf-8") as f:
                    token = f.read().strip()
            except OSError as e:
                raise AdapterFault("AdapterError", f"unable to read token file '{token_file}': "
                                   f"{e.strerror}")
            token_file = None
        kwargs: dict = {}
        env_backup = {}
        for name, value, var in (("host", host, "HOG_HOST"), ("token", token, "HOG_TOKEN"),
                                 ("token_file", token_file, None)):
            if value is None:
                continue
            if accepts(cls, name):
                kwargs[name] = value
            elif var:
                env_backup[var] = os.environ.get(var)
                os.environ[var] = value
        if "timeout_ms" in self.settings and accepts(cls, "timeout"):
            kwargs["timeout"] = self.settings["timeout_ms"] / 1000
        if "max_attempts" in self.settings and accepts(cls, "max_retries"):
            kwargs["max_retries"] = self.settings["max_attempts"] - 1
        try:
            self.client = cls(**kwargs)
        finally:
            for var, old in env_backup.items():
                if old is None:
                    os.environ.pop(var, None)
                else:
                    os.environ[var] = old
        return self.client

    def configure(self, args: dict) -> dict:
        """PROTOCOL 11 configure: what the SDK's constructor has a setting for is applied
        (by rebuilding the client), the rest is listed as ignored."""
        cls = self.sdk.Hogland
        usable = {"host": True, "token": True, "token_file": accepts(cls, "token_file"),
                  "timeout_ms": accepts(cls, "timeout"),
                  "max_attempts": accepts(cls, "max_retries")}
        new, ignored = dict(self.settings), []
        for name, value in args.items():
            if not usable.get(name):
                ignored.append(name)
                continue
            if name in ("host", "token", "token_file"):
                if not isinstance(value, str) or not value:
                    raise AdapterFault("InvalidArguments", f'"{name}" must be a non-empty string')
                if name != "host":
                    new.pop("token", None)
                    new.pop("token_file", None)
                new[name] = value
            else:
                number = as_int(value)
                if number is None or number < 1:
                    raise AdapterFault("InvalidArguments", f'"{name}" must be a positive integer')
                new[name] = number
        self.settings = new
        self.client = None
        self.handles = {}       # handles hold the old client's setup
        return {"ignored": ignored}

    def _box(self, box_id: str) -> Any:
        """A handle for box_id: the one this session already got for it (from create, get
        or a list), else client.get(box_id). README: no way to make a handle from an id
        without a request is documented; a box made outside the session costs a GET."""
        if box_id not in self.handles:
            self._keep(self._client().get(box_id))
        return self.handles[box_id]

    def _keep(self, handle: Any) -> Any:
        box_id = field(handle, "id")
        if isinstance(box_id, str) and hasattr(handle, "exec"):
            self.handles[box_id] = handle
        return handle

    # ---- operations -----------------------------------------------------------------

    def run(self, op: str, args: dict, emit: Callable[[dict], None]) -> Any:
        """Carry out one call: its value, or CallFailed / AdapterFault."""
        if op == "configure":
            return self.configure(args)
        handler = getattr(self, f"op_{op}", None)
        feature = FEATURE_OF.get(op)
        if handler is None or (feature and feature not in self.features()):
            raise AdapterFault("UnsupportedOperation", f"op '{op}' is not supported by this "
                               "adapter" + (f" (feature '{feature}')" if feature else ""))
        a = Args(args)
        try:
            return handler(a, emit)
        except (AdapterFault, CallFailed):
            raise
        except Exception as exc:
            error = error_json(exc)
            if error is None:
                raise
            raise CallFailed(error)

    def op_me(self, a: Args, emit: Callable) -> dict:
        return api_json(self._client().me(), ME)

    def op_limits(self, a: Args, emit: Callable) -> dict:
        return api_json(self._client().limits(), LIMITS)

    def op_create(self, a: Args, emit: Callable) -> dict:
        kwargs = a.kwargs({"cpus": "int", "memory_mib": "int", "disk_gib": "int",
                           "snapshot_id": "str", "ssh_public_key": "str", "access_type": "str",
                           "labels": "str_map"})
        key = a.get("idempotency_key", "str")
        if key is not None:
            kwargs["idempotency_key"] = key     # announced only when create takes it
        return api_json(self._keep(self._client().create(**kwargs)), HOGBOX)

    def op_get(self, a: Args, emit: Callable) -> dict:
        return api_json(self._keep(self._client().get(a.get("box", "str", True))), HOGBOX)

    def _list_kwargs(self, a: Args, cursor: bool) -> dict:
        spec = {"limit": "int", "state": "str", "labels": "str_map"}
        if cursor:
            spec["cursor"] = "str"
        return a.kwargs(spec)

    def op_list(self, a: Args, emit: Callable) -> dict:
        page = self._client().list(**self._list_kwargs(a, True))
        items = [api_json(self._keep(box), HOGBOX) for box in field(page, "items", [])]
        return {"items": items, "next_cursor": field(page, "next_cursor")}

    def op_list_all(self, a: Args, emit: Callable) -> dict:
        """The SDK's own pagination, iter_boxes; README: `limit` is passed as the page
        size under the name the list call uses."""
        boxes = self._client().iter_boxes(**self._list_kwargs(a, False))
        return {"items": [api_json(self._keep(box), HOGBOX) for box in boxes]}

    def _exec_kwargs(self, a: Args) -> tuple:
        argv = a.get("argv", "strings", True)
        kwargs = a.kwargs({"timeout_seconds": "int", "env": "str_map", "workdir": "str"})
        return argv, kwargs

    def op_exec(self, a: Args, emit: Callable) -> dict:
        """PROTOCOL 11, exec: the ExecResult, and stdout and stderr again as base64 (the
        runner keeps JSON strings as C strings, which end at a NUL byte)."""
        box = self._box(a.get("box", "str", True))
        argv, kwargs = self._exec_kwargs(a)
        result = box.exec(argv, **kwargs)
        value = api_json(result, EXEC_RESULT)
        for name in ("stdout", "stderr"):
            data = output_bytes(field(result, name))
            if data is not None:
                value[name + "_base64"] = base64.b64encode(data).decode("ascii")
        return value

    def op_exec_stream(self, a: Args, emit: Callable) -> dict:
        """PROTOCOL 7: each frame is written as the SDK yields it; an exit status that
        the SDK only returns (the generator's return value) is written as the exit event
        before the result; a stream that ends without one was cut: ConnectionError."""
        box = self._box(a.get("box", "str", True))
        argv, kwargs = self._exec_kwargs(a)
        frames: Iterator = iter(box.exec_stream(argv, **kwargs))
        exit_event, delivered = None, 0
        try:
            while exit_event is None:
                try:
                    frame = next(frames)
                except StopIteration as stop:
                    if stop.value is not None and field(stop.value, "exit_code") is not None:
                        exit_event = self._exit(stop.value)
                        emit(exit_event)
                    break
                kind = plain(field(frame, "kind"))
                if kind in ("stdout", "stderr"):
                    emit({"kind": kind, "data": plain(field(frame, "data", ""))})
                    delivered += 1
                elif kind == "exit":
                    exit_event = self._exit(frame)
                    emit(exit_event)
                # other kinds: for later versions, skipped
        except Exception as exc:
            error = error_json(exc)
            if error is None:
                raise
            if delivered:
                error["message"] = f"the stream was cut after {delivered} event" \
                    f"{'' if delivered == 1 else 's'}: {error['message']}"
            raise CallFailed(error)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()
        if exit_event is None:
            raise CallFailed({"type": "ConnectionError", "status_code": None, "body": None,
                              "retry_after": None, "native_type": "adapter",
                              "message": f"the SDK's stream ended after {delivered} event"
                                         f"{'' if delivered == 1 else 's'} without an exit "
                                         "event"})
        return {"exit_code": exit_event["exit_code"], "timed_out": exit_event["timed_out"]}

    @staticmethod
    def _exit(frame: Any) -> dict:
        return {"kind": "exit", "exit_code": plain(field(frame, "exit_code")),
                "timed_out": bool(field(frame, "timed_out", False))}

    def op_write_file(self, a: Args, emit: Callable) -> dict:
        box = self._box(a.get("box", "str", True))
        path, data = a.get("path", "str", True), a.data("data", True)
        kwargs = a.kwargs({"mode": "str", "mkdir": "bool"})
        return api_json(box.write_file(path, data, **kwargs), FILE_WRITTEN)

    def op_read_file(self, a: Args, emit: Callable) -> dict:
        box = self._box(a.get("box", "str", True))
        data = box.read_file(a.get("path", "str", True))
        if isinstance(data, str):
            # The SDK must hand bytes over undecoded; text here means it decoded them.
            log("read_file returned text, not bytes: encoding it back as UTF-8")
            data = data.encode("utf-8", "surrogateescape")
        return {"data": base64.b64encode(bytes(data)).decode("ascii")}

    def op_snapshot(self, a: Args, emit: Callable) -> dict:
        box = self._box(a.get("box", "str", True))
        kwargs = a.kwargs({"idempotency_key": "str"})
        return api_json(box.snapshot(**kwargs), SNAPSHOT)

    def op_pause(self, a: Args, emit: Callable) -> dict:
        box = self._box(a.get("box", "str", True))
        after = box.pause()
        # README: pause and resume may update the handle rather than return a new one.
        return api_json(self._keep(after) if after is not None else box, HOGBOX)

    def op_resume(self, a: Args, emit: Callable) -> dict:
        box = self._box(a.get("box", "str", True))
        after = box.resume()
        return api_json(self._keep(after) if after is not None else box, HOGBOX)

    def op_destroy(self, a: Args, emit: Callable) -> dict:
        # The handle is kept: a second destroy must reach the API and get its 404.
        self._box(a.get("box", "str", True)).destroy()
        return {}

    def op_proxy_url(self, a: Args, emit: Callable) -> dict:
        box = self._box(a.get("box", "str", True))
        port = a.get("port", "int", True)
        path = a.get("path", "str")
        url = box.proxy_url(port) if path is None else box.proxy_url(port, path)
        return {"url": str(url)}


# --------------------------------------------------------------------------------------
# The protocol loop
# --------------------------------------------------------------------------------------

def write(out: Any, message: dict) -> None:
    line = json.dumps(message, separators=(",", ":"), ensure_ascii=True) + "\n"
    try:
        out.write(line.encode("ascii"))
        out.flush()
    except (BrokenPipeError, ValueError, OSError):
        os._exit(1)         # the runner is gone (PROTOCOL 9)


def adapter_error(kind: str, message: str) -> dict:
    return {"type": kind, "status_code": None, "body": None, "retry_after": None,
            "message": message, "native_type": "adapter"}


def handle_line(tr: Translator, out: Any, raw: bytes, lineno: int) -> None:
    def protocol_error(call_id: Optional[str], message: str) -> None:
        log(f"protocol error: {message}")
        write(out, {"type": "protocol_error", "id": call_id, "message": message})

    line = raw.rstrip(b"\n")
    line = line[:-1] if line.endswith(b"\r") else line
    try:
        msg = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return protocol_error(None, f"line {lineno} is not JSON")
    if not isinstance(msg, dict):
        return protocol_error(None, f"line {lineno} is not a JSON object")
    kind = msg.get("type")
    if not isinstance(kind, str):
        return protocol_error(None, f'line {lineno} has no string "type"')
    if kind == "hello":
        if msg.get("protocol") != PROTOCOL:
            return protocol_error(None, f"this adapter speaks {PROTOCOL} only")
        return write(out, tr.hello())
    if kind != "call":
        return protocol_error(None, f"line {lineno}: unknown message type")
    call_id, op, args = msg.get("id"), msg.get("op"), msg.get("args")
    if not isinstance(call_id, str):
        return protocol_error(None, 'a call needs a string "id"')
    if not isinstance(op, str):
        return protocol_error(call_id, 'a call needs a string "op"')
    if args is not None and not isinstance(args, dict):
        return protocol_error(call_id, '"args" of a call must be an object')
    deadline = msg.get("deadline_ms")
    if deadline is not None and (as_int(deadline) or 0) < 1:
        return protocol_error(call_id, '"deadline_ms" must be a positive integer')
    # deadline_ms is not passed on: the README documents no per-call timeout.
    seq = [0]

    def emit(event: dict) -> None:
        write(out, {"type": "event", "id": call_id, "seq": seq[0], "event": event})
        seq[0] += 1

    try:
        value = tr.run(op, args or {}, emit)
        write(out, {"type": "result", "id": call_id, "ok": True, "value": value})
    except CallFailed as e:
        write(out, {"type": "result", "id": call_id, "ok": False, "error": e.error})
    except AdapterFault as e:
        write(out, {"type": "result", "id": call_id, "ok": False,
                    "error": adapter_error(e.kind, e.message)})
    except Exception as e:  # an unexpected exception costs one call, never the session
        log(f"call '{call_id}' ({op}) failed inside the adapter:\n{traceback.format_exc()}")
        write(out, {"type": "result", "id": call_id, "ok": False,
                    "error": adapter_error("AdapterError", f"{type(e).__name__}: {e}")})


def serve(tr: Translator, stdin: Any, stdout: Any) -> int:
    """Read calls until stdin ends (then exit 0: calls run one at a time, so none is in
    flight any more)."""
    lineno = 0
    for raw in iter(stdin.readline, b""):
        lineno += 1
        handle_line(tr, stdout, raw, lineno)
    return 0


def not_runnable(reason: str, stdin: Any, stdout: Any) -> int:
    """The SDK is missing: answer the runner's hello with runnable false and an error,
    then exit 3 (PROTOCOL 4, not runnable)."""
    log(f"not runnable: {reason}")
    raw = stdin.readline()
    try:
        msg = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        msg = None
    if isinstance(msg, dict) and msg.get("type") == "hello":
        write(stdout, {"type": "hello", "protocol": PROTOCOL,
                       "client": {"name": "posthog-hogland", "version": "not installed",
                                  "language": "python"},
                       "features": [], "runnable": False, "error": reason})
    return NOT_RUNNABLE_EXIT


def main() -> int:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)     # PROTOCOL 9: exit at once
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # A library that prints must not write on the protocol's stdout (PROTOCOL 1).
    sys.stdout = sys.stderr
    try:
        import hogland  # noqa: F401  (the SDK under test)
    except ImportError as e:
        return not_runnable(f"the hogland SDK cannot be imported ({e}); install it with "
                            "`pip install posthog-hogland`", stdin, stdout)
    return serve(Translator(hogland), stdin, stdout)


if __name__ == "__main__":
    sys.exit(main())
