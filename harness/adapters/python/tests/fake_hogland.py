"""A STAND-IN for the posthog-hogland SDK, for the unit tests of hogland_sdk_adapter.py.

It is not the SDK and shares no code with it: it implements, in memory, the surface the
SDK's README documents (a `Hogland` client with create, get, list, iter_boxes, me and
limits; box handles with exec, exec_stream, write_file, read_file, snapshot, pause,
resume, destroy and proxy_url; errors with .status_code and .body), in the shapes the
adapter must cope with (dataclass records, datetimes, an enum state). Tests script
failures through `Hogland.fail_next` and streams through `Hogland.streams`.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import os
from typing import Any, Iterator, Optional

__version__ = "0.0.0-fake"


class HoglandError(Exception):
    def __init__(self, message: str, status_code: Optional[int] = None, body: Any = None,
                 retry_after: Optional[float] = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after


class APIStatusError(HoglandError):
    pass


class ValidationError(APIStatusError):
    pass


class NotFoundError(APIStatusError):
    pass


class ConflictError(APIStatusError):
    pass


class RateLimitError(APIStatusError):
    pass


class APIConnectionError(HoglandError):
    pass


class APITimeoutError(APIConnectionError):
    pass


def problem(status: int, code: str, detail: str) -> dict:
    return {"type": f"urn:hogplane:problem:{code}", "title": code.replace("_", " "),
            "status": status, "detail": detail, "code": code, "request_id": "req_fake"}


class State(enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"


T0 = datetime.datetime(2026, 5, 28, 20, 26, 40, tzinfo=datetime.timezone.utc)


@dataclasses.dataclass
class Range:
    min: int
    max: int
    default: int


@dataclasses.dataclass
class Limits:
    cpus: Range
    memory_mib: Range
    disk_gib: Range
    exec_timeout_seconds: Range
    exec_output_max_bytes: int = 1048576
    file_max_bytes: int = 67108864
    max_hogboxes: int = 20


@dataclasses.dataclass
class Me:
    principal_id: str
    auth_path: str
    subject: str
    display_name: str
    attributes: dict


@dataclasses.dataclass
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    timed_out: bool = False
    duration_ms: int = 1


@dataclasses.dataclass
class ExecEvent:
    kind: str
    data: str = ""
    exit_code: Optional[int] = None
    timed_out: bool = False


@dataclasses.dataclass
class FileWritten:
    path: str
    size: int
    mode: str
    sha256: str


@dataclasses.dataclass
class SnapshotRecord:
    id: str
    hogbox_id: str
    size_bytes: int
    created_at: datetime.datetime


@dataclasses.dataclass
class Page:
    items: list
    next_cursor: Optional[str]


class Box:
    """A box handle, as create and get return it."""

    def __init__(self, client: "Hogland", box_id: str, cpus: int, memory_mib: int,
                 labels: dict) -> None:
        self._client = client
        self.id = box_id
        self.state = State.RUNNING
        self.cpus = cpus
        self.memory_mib = memory_mib
        self.disk_gib = 10
        self.snapshot_id = None
        self.access_type = "none"
        self.labels = labels
        self.created_at = T0
        self.updated_at = T0

    def __enter__(self) -> "Box":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.destroy()

    def _live(self, call: str) -> "Box":
        self._client._record(call, self.id)
        box = self._client._boxes.get(self.id)
        if box is None:
            raise NotFoundError(f"no hogbox {self.id}", 404,
                                problem(404, "hogbox_not_found", f"No hogbox {self.id}."))
        return box

    def exec(self, argv: list, timeout_seconds: Optional[int] = None,
             env: Optional[dict] = None, workdir: Optional[str] = None) -> ExecResult:
        box = self._live("exec")
        if box.state is not State.RUNNING:
            raise ConflictError("not running", 409, problem(409, "invalid_state", "paused"))
        if argv[0] == "echo":
            return ExecResult(0, " ".join(argv[1:]) + "\n", "")
        return ExecResult(127, "", f"sh: 1: {argv[0]}: not found\n")

    def exec_stream(self, argv: list, timeout_seconds: Optional[int] = None,
                    env: Optional[dict] = None, workdir: Optional[str] = None) -> Iterator:
        self._live("exec_stream")
        script = self._client.streams.get(tuple(argv))
        default = [ExecEvent("stdout", "hi\n"), ExecEvent("exit", exit_code=0)]
        return self._frames(script or default)

    @staticmethod
    def _frames(script: list) -> Iterator:
        for item in script:
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, tuple) and item[0] == "return":
                return item[1]
            yield item
        return None

    def write_file(self, path: str, data: bytes, mode: Optional[str] = None,
                   mkdir: bool = False) -> FileWritten:
        self._live("write_file")
        if not path.startswith("/"):
            raise ValidationError("relative path", 422,
                                  problem(422, "validation_failed", "path must be absolute"))
        self._client._files[(self.id, path)] = bytes(data)
        return FileWritten(path, len(data), mode or "0644", "0" * 64)

    def read_file(self, path: str) -> bytes:
        self._live("read_file")
        try:
            return self._client._files[(self.id, path)]
        except KeyError:
            raise NotFoundError("no such file", 404, problem(404, "file_not_found", path))

    def snapshot(self, idempotency_key: Optional[str] = None) -> SnapshotRecord:
        self._live("snapshot")
        return SnapshotRecord("snap_1", self.id, 4096, T0)

    def pause(self) -> "Box":
        box = self._live("pause")
        if box.state is not State.RUNNING:
            raise ConflictError("not running", 409, problem(409, "invalid_state", "not running"))
        box.state = State.PAUSED
        return box

    def resume(self) -> None:
        box = self._live("resume")
        if box.state is not State.PAUSED:
            raise ConflictError("not paused", 409, problem(409, "invalid_state", "not paused"))
        box.state = State.RUNNING
        self.state = State.RUNNING       # updates the handle, returns nothing

    def destroy(self) -> None:
        self._live("destroy")
        del self._client._boxes[self.id]

    def proxy_url(self, port: int, path: str = "/") -> str:
        self._client._record("proxy_url", self.id)
        return f"{self._client.host}/v1/hogboxes/{self.id}/proxy/{port}/{path.lstrip('/')}"


class Hogland:
    """The client. Reads HOG_HOST and HOG_TOKEN from the environment, as documented."""

    def __init__(self, host: Optional[str] = None, token: Optional[str] = None,
                 timeout: Optional[float] = None, max_retries: Optional[int] = None) -> None:
        self.host = host or os.environ.get("HOG_HOST")
        self.token = token or os.environ.get("HOG_TOKEN")
        if not self.host or not self.token:
            raise HoglandError("HOG_HOST and HOG_TOKEN are required")
        self.timeout = timeout
        self.max_retries = max_retries
        self.calls: list = []
        self.streams: dict = {}
        self._boxes: dict = {}
        self._files: dict = {}
        self._failures: list = []
        Hogland.last = self

    last: "Hogland"

    def fail_next(self, exc: BaseException) -> None:
        """The next SDK call raises exc."""
        self._failures.append(exc)

    def _record(self, call: str, *args: Any) -> None:
        self.calls.append((call,) + args)
        if self._failures:
            raise self._failures.pop(0)

    def me(self) -> Me:
        self._record("me")
        return Me("pr_alice", "api_token", "fp_0123456789ab", "Alice (tests)", {})

    def limits(self) -> Limits:
        self._record("limits")
        return Limits(Range(1, 8, 2), Range(256, 16384, 1024), Range(1, 100, 10),
                      Range(1, 3600, 60))

    def create(self, cpus: int = 2, memory_mib: int = 1024, disk_gib: int = 10,
               snapshot_id: Optional[str] = None, ssh_public_key: Optional[str] = None,
               access_type: Optional[str] = None, labels: Optional[dict] = None) -> Box:
        self._record("create", cpus, memory_mib)
        if cpus > 8:
            raise ValidationError("cpus", 422, problem(422, "validation_failed", "cpus"))
        box = Box(self, f"hb_{len(self._boxes) + 1:016x}", cpus, memory_mib, labels or {})
        self._boxes[box.id] = box
        return box

    def get(self, box_id: str) -> Box:
        self._record("get", box_id)
        if box_id not in self._boxes:
            raise NotFoundError(f"no hogbox {box_id}", 404,
                                problem(404, "hogbox_not_found", f"No hogbox {box_id}."))
        return self._boxes[box_id]

    def list(self, limit: Optional[int] = None, cursor: Optional[str] = None,
             state: Optional[str] = None, labels: Optional[dict] = None) -> Page:
        self._record("list", limit, cursor)
        boxes = sorted(self._boxes.values(), key=lambda b: b.id)
        start = int(cursor) if cursor else 0
        end = start + (limit or 20)
        return Page(boxes[start:end], str(end) if end < len(boxes) else None)

    def iter_boxes(self, limit: Optional[int] = None, state: Optional[str] = None,
                   labels: Optional[dict] = None) -> Iterator[Box]:
        cursor = None
        while True:
            page = self.list(limit=limit, cursor=cursor, state=state, labels=labels)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
