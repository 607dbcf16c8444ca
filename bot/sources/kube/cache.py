"""``KubeCache``: nodes and problem pods kept fresh by list-then-watch, for the scheduled checks.

A check cycle every minute that lists 150,000 pods would cost the API server
more than the bot is worth. Instead each resource is listed once, then
watched from that list's resourceVersion; the steady state costs one open
stream per resource and no lists at all. Only pods that are not Running or
Succeeded are watched (the shortfall checks care about Pending and Failed),
so the cache stays small on a big healthy cluster.

When the server says the resourceVersion is too old (410 Gone, as a status
or as an ERROR event in the stream) the cache lists again; any other failure
marks it unsynced, waits a little and starts over. Each resource has one
daemon thread; ``stop`` ends them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from bot.errors import ChatOpsError
from bot.model.kube import Node, Pod
from bot.sources.kube import client as kube_client
from bot.sources.kube import errors as kube_errors
from bot.sources.kube.parse import Json, parse_listed_node, parse_pod
from bot.sources.kube.reader import CORE, KubeSource

log = logging.getLogger(__name__)

PROBLEM_PODS = "status.phase!=Running,status.phase!=Succeeded"
WATCH_SECONDS = 290  # under the API server's own 5-minute cap on a watch
RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)
# The cache lists in the background, once per start (or after 410 Gone), and nobody waits for it:
# smaller pages than an answer's keep the decoded page, which is the peak of memory, small.
RELIST_PAGE_SIZE = 100

T = TypeVar("T")


@dataclass(frozen=True)
class CacheSnapshot:
    nodes: list[Node]
    pods: list[Pod]
    synced: bool


class _Expired(Exception):
    """The watch's resourceVersion is gone: list again."""


class _Reflector(Generic[T]):
    """One resource's list-then-watch loop and the objects it holds, keyed by namespace/name."""

    def __init__(
        self,
        name: str,
        source: KubeSource,
        path: str,
        parse: Callable[[Json], T],
        *,
        field_selector: str | None,
        stats: dict[str, int],
        lock: threading.Condition,
        stopping: threading.Event,
    ) -> None:
        self.name = name
        self._source = source
        self._path = path
        self._parse = parse
        self._field_selector = field_selector
        self._stats = stats
        self._lock = lock
        self._stopping = stopping
        self._objects: dict[str, T] = {}
        self._response: Any = None
        self.synced = False
        self.error: ChatOpsError | None = None
        self.thread = threading.Thread(target=self._run, name=f"kube-cache-{source.cluster}-{name}", daemon=True)

    def objects(self) -> list[T]:
        return list(self._objects.values())

    def interrupt(self) -> None:
        """Unblock a read of the open watch stream from another thread (``close`` alone does not)."""
        response = self._response
        if response is not None:
            try:
                response.shutdown()
            except OSError:  # the stream ended and its socket closed meanwhile: nothing left to unblock
                pass

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                version = self._relist()
                failures = 0
                while not self._stopping.is_set():
                    version = self._watch(version)
            except _Expired:
                self._bump("relists")
                continue
            except kube_errors.ApiException as exc:
                if exc.status == 410:
                    self._bump("relists")
                    continue
                self._failed(kube_errors.translate(exc, cluster=self._source.cluster))
            except ChatOpsError as exc:
                self._failed(exc)
            except Exception as exc:  # a stream cut mid-line, a closed socket on stop, ...
                if self._stopping.is_set():
                    return
                self._failed(self._describe(exc))
            failures += 1
            self._stopping.wait(RETRY_SECONDS[min(failures, len(RETRY_SECONDS)) - 1])

    def _describe(self, exc: Exception) -> ChatOpsError:
        """Never let an unexpected exception end the thread: the cache must keep trying."""
        try:
            return kube_errors.translate(exc, cluster=self._source.cluster)
        except Exception:
            log.exception("unexpected failure in the %s cache of cluster %s", self.name, self._source.cluster)
            return ChatOpsError(f"The {self.name} cache of cluster {self._source.cluster} failed: {type(exc).__name__}.")

    def _failed(self, error: ChatOpsError) -> None:
        log.warning("cache of %s in cluster %s lost its stream: %s", self.name, self._source.cluster, error)
        with self._lock:
            self.synced = False
            self.error = error
            self._lock.notify_all()

    def _bump(self, key: str, amount: int = 1) -> None:
        with self._lock:
            self._stats[key] += amount

    def _request(self, query: kube_client.Query, timeout: kube_client.Timeout) -> Any:
        selector = [("fieldSelector", self._field_selector)] if self._field_selector else []
        return kube_client.get(self._source.api_client, self._path, query=[*query, *selector], timeout=timeout)

    def _relist(self) -> str:
        fresh: dict[str, T] = {}
        token: str | None = None
        while True:
            paging: list[tuple[str, str | int | bool]] = [("limit", min(RELIST_PAGE_SIZE, self._source.page_size))]
            if token:
                paging.append(("continue", token))
            response = self._request(paging, self._source.timeout_seconds)
            body = response.data
            response.release_conn()
            self._bump("lists")
            self._bump("bytes", len(body))
            page = orjson.loads(body)
            for raw in page.get("items") or ():
                fresh[_key(raw)] = self._parse(raw)
            meta = page.get("metadata") or {}
            token = meta.get("continue") or None
            if not token:
                break
        with self._lock:
            self._objects = fresh
            self.synced = True
            self.error = None
            self._lock.notify_all()
        return str(meta.get("resourceVersion", ""))

    def _watch(self, version: str) -> str:
        """Apply events until the server ends the stream; the version to resume from."""
        self._response = self._request(
            [("watch", True), ("allowWatchBookmarks", True), ("resourceVersion", version), ("timeoutSeconds", WATCH_SECONDS)],
            (self._source.timeout_seconds, WATCH_SECONDS + self._source.timeout_seconds),
        )
        self._bump("watches")
        try:
            if self._stopping.is_set():  # stopped while the request was on its way
                return version
            for line in _lines(self._response):
                version = self._apply(orjson.loads(line), version)
        finally:
            self._response.release_conn()
            self._response = None
        return version

    def _apply(self, event: Json, version: str) -> str:
        kind = event.get("type")
        raw = event.get("object") or {}
        if kind == "ERROR":
            if raw.get("code") == 410:
                raise _Expired()
            raise ChatOpsError(str(raw.get("message") or "the watch failed"))
        new_version = str((raw.get("metadata") or {}).get("resourceVersion") or version)
        if kind == "BOOKMARK":
            return new_version
        with self._lock:
            if kind == "DELETED":
                self._objects.pop(_key(raw), None)
            else:
                self._objects[_key(raw)] = self._parse(raw)
            self._stats["events"] += 1
            self._lock.notify_all()
        return new_version


def _key(raw: Json) -> str:
    meta = raw.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _lines(response: Any) -> Iterator[bytes]:
    """Newline-delimited JSON from a chunked stream whose chunks ignore line boundaries."""
    pending = b""
    for chunk in response.stream(amt=None, decode_content=True):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from (line for line in complete if line.strip())
    if pending.strip():
        yield pending


class KubeCache:
    """Nodes and non-running pods of one cluster, as of the last watch event."""

    def __init__(self, source: KubeSource, *, pod_field_selector: str | None = PROBLEM_PODS) -> None:
        self.source = source
        self.stats: dict[str, int] = {"lists": 0, "watches": 0, "events": 0, "relists": 0, "bytes": 0}
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._nodes: _Reflector[Node] = _Reflector(
            "nodes", source, f"{CORE}/nodes", parse_listed_node,
            field_selector=None, stats=self.stats, lock=self._changed, stopping=self._stopping,
        )
        self._pods: _Reflector[Pod] = _Reflector(
            "pods", source, f"{CORE}/pods", parse_pod,
            field_selector=pod_field_selector, stats=self.stats, lock=self._changed, stopping=self._stopping,
        )

    def start(self) -> KubeCache:
        self._nodes.thread.start()
        self._pods.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        for reflector in (self._nodes, self._pods):
            reflector.interrupt()
        for reflector in (self._nodes, self._pods):
            if reflector.thread.is_alive():
                reflector.thread.join(timeout)

    @property
    def synced(self) -> bool:
        with self._changed:
            return self._nodes.synced and self._pods.synced

    @property
    def error(self) -> ChatOpsError | None:
        """Why the cache is not synced, when it is not."""
        with self._changed:
            return self._nodes.error or self._pods.error

    def snapshot(self) -> CacheSnapshot:
        with self._changed:
            return CacheSnapshot(self._nodes.objects(), self._pods.objects(), self._nodes.synced and self._pods.synced)

    def wait_until(self, condition: Callable[[CacheSnapshot], bool], timeout: float) -> bool:
        """Block until ``condition`` holds for a snapshot (checked at every change) or ``timeout`` passes."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self.snapshot()), timeout)
