"""``CloudLoggingSource``: node, pod and autoscaler logs of one GKE cluster from Cloud Logging.

The filter comes from ``log_filter`` only, so what runs is exactly what
``filter_for`` shows and what the Logs Explorer link opens. google-cloud-logging's
HTTP client has no per-call timeout; the session handed to it caps every
request at the cluster's configured timeout instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import orjson
from google.auth.credentials import Credentials
from google.auth.transport.requests import AuthorizedSession

from bot.clock import Clock, SystemClock
from bot.model.logs import LogLine
from bot.settings import ClusterConfig, GkeConfig
from bot.sources.contracts import LogQuery
from bot.sources.google import errors as google_errors
from bot.sources.google import log_filter
from bot.sources.google.endpoint import credentials_for, parse_endpoint
from bot.sources.lazy import Lazy

if TYPE_CHECKING:  # the client library is imported on the first query: see _reading_client
    from google.cloud import logging as cloud_logging

SERVICE = "The Cloud Logging API"
ROLE = "roles/logging.viewer"


class TimeoutSession(AuthorizedSession):
    """An authorized session whose requests never wait longer than ``timeout_seconds``."""

    def __init__(self, credentials: Credentials, *, timeout_seconds: float) -> None:
        super().__init__(credentials)  # type: ignore[no-untyped-call]  # google-auth leaves it unannotated
        self.timeout_seconds = timeout_seconds

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        timeout = kwargs.get("timeout")
        kwargs["timeout"] = self.timeout_seconds if timeout is None else min(_seconds(timeout), self.timeout_seconds)
        return super().request(method, url, *args, **kwargs)  # type: ignore[no-untyped-call]  # as __init__


def _seconds(timeout: Any) -> float:
    """requests allows (connect, read); the larger part bounds the wait."""
    return float(max(timeout)) if isinstance(timeout, tuple) else float(timeout)


@cache
def _reading_client() -> type[cloud_logging.Client]:
    """The client class, built when a cluster's logs are first read.

    google-cloud-logging and what it pulls in weigh about 13 MB more than the
    other Google libraries, which a bot that is never asked for logs need not
    carry; ``logs`` commands are rare beside ``nodes`` and ``pods``.
    """
    from google.cloud import logging as cloud_logging
    from google.cloud.logging import Resource

    read_only = Resource(type="global", labels={})

    class ReadingClient(cloud_logging.Client):
        """A Cloud Logging client for reading entries only.

        Every entry read back is attached to a Logger for its log name, and a
        Logger created without a resource asks the GCE metadata server which
        machine it runs on, a lookup per log name that stalls (and leaves the
        network) anywhere but on Google Cloud. Entries that are only read need no
        writing resource, so loggers made here get the "global" one directly.
        """

        def logger(self, name: str, *, labels: dict[str, str] | None = None, resource: Any = None) -> Any:
            return super().logger(  # type: ignore[no-untyped-call]  # google-cloud-logging leaves it unannotated
                name, labels=labels, resource=resource or read_only
            )

    return ReadingClient


def logging_client_for(gke: GkeConfig, *, timeout_seconds: float) -> cloud_logging.Client:
    credentials = credentials_for(gke.anonymous)
    options: dict[str, Any] = {}
    if gke.logging_endpoint:
        options["api_endpoint"] = parse_endpoint(gke.logging_endpoint).url
    return _reading_client()(
        project=gke.project,
        credentials=credentials,
        _http=TimeoutSession(credentials, timeout_seconds=timeout_seconds),
        _use_grpc=False,
        client_options=options or None,
    )


class CloudLoggingSource:
    """Implements ``LogReader``."""

    def __init__(
        self,
        gke: GkeConfig,
        client: cloud_logging.Client | Callable[[], cloud_logging.Client],
        *,
        clock: Clock | None = None,
    ) -> None:
        self.gke = gke
        self.clock = clock or SystemClock()
        self.stats: dict[str, int] = {"queries": 0}  # the client hides its page requests
        self._stats_lock = threading.Lock()
        self._client: Lazy[cloud_logging.Client] = Lazy(client)

    @classmethod
    def from_config(cls, config: ClusterConfig, *, clock: Clock | None = None) -> CloudLoggingSource:
        assert config.gke is not None, "CloudLoggingSource needs a cluster configured as GKE"
        gke, timeout = config.gke, config.request_timeout_seconds
        return cls(gke, lambda: logging_client_for(gke, timeout_seconds=timeout), clock=clock)

    def filter_for(self, query: LogQuery) -> str:
        return log_filter.build_filter(query, project=self.gke.project, cluster=self.gke.cluster)

    def explorer_url(self, query: LogQuery) -> str:
        until = query.until or self.clock.now()
        return log_filter.explorer_url(self.filter_for(query), project=self.gke.project, since=query.since, until=until)

    def query(self, query: LogQuery) -> list[LogLine]:
        """Newest first, at most ``query.limit`` lines; the page size follows the limit so one page usually does."""
        text = self.filter_for(query)
        limit = log_filter.checked_limit(query)
        with self._stats_lock:
            self.stats["queries"] += 1
        with google_errors.translated(service=SERVICE, role=ROLE):
            client = self._client.get()
            from google.cloud.logging import DESCENDING  # loaded with the client by now

            entries = client.list_entries(
                resource_names=[f"projects/{self.gke.project}"],
                filter_=text,
                order_by=DESCENDING,
                page_size=limit,
                max_results=limit,
            )
            return [log_line(entry) for entry in entries]


def log_line(entry: Any) -> LogLine:
    """A LogEntry as one line: text payloads as they are, structured ones by their message."""
    return LogLine(
        timestamp=entry.timestamp,
        severity=entry.severity or "DEFAULT",
        text=payload_text(entry.payload),
        origin=entry_origin(entry),
    )


def payload_text(payload: Any) -> str:
    if payload is None:
        return ""
    if isinstance(payload, str):
        return payload
    if isinstance(payload, dict):
        for key in ("message", "MESSAGE", "msg", "log"):
            value = payload.get(key)
            if isinstance(value, str):
                return value
        return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()
    return str(payload)


def entry_origin(entry: Any) -> str:
    """Where the line comes from: "node/component", "pod/container" or "cluster-autoscaler"."""
    resource = entry.resource
    labels = dict(resource.labels or {}) if resource is not None else {}
    kind = resource.type if resource is not None else ""
    log_id = unquote((entry.log_name or "").rsplit("/logs/", 1)[-1])
    if kind == "k8s_node":
        return f"{labels.get('node_name', '')}/{log_id}" if log_id else labels.get("node_name", "")
    if kind == "k8s_container":
        return f"{labels.get('pod_name', '')}/{labels.get('container_name', '')}"
    if log_id == log_filter.AUTOSCALER_LOG:
        return "cluster-autoscaler"
    return log_id
