"""Liveness, readiness and metrics over plain HTTP, for Kubernetes probes and Prometheus.

Readiness means "can serve Slack, and answer at once": the Slack link says
whether the token was accepted and the connection is up, the runtime whether
the cluster clients a first answer needs are loaded (a restarted pod is
asked first during the incident that restarted it), and ``/readyz`` is 200
only when every check passes, otherwise naming what is not ready, so
``kubectl describe`` shows why. A cluster whose API does not answer does not make the bot unready:
the bot is needed most exactly then, to say so. The clusters' state is shown
by ``/healthz`` (as detail, always 200 while the process serves) and by the
``cluster_up`` metric. Every path answers HEAD as it answers GET, without the
body.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bot.metrics import Metrics
from bot.metrics import metrics as default_metrics

log = logging.getLogger(__name__)

# A check returns True when ready, or False / a sentence saying what is not ready.
CheckResult = bool | str
Check = Callable[[], CheckResult]


class ClusterProbes:
    """The last probe result per cluster, for ``/healthz`` and the ``cluster_up`` metric.

    Whoever probes the clusters calls ``record``; nothing here decides
    readiness (see the module's docstring).
    """

    def __init__(self, metrics: Metrics | None = None) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, bool] = {}
        self._metrics = metrics or default_metrics

    def record(self, cluster: str, answered: bool) -> None:
        with self._lock:
            self._last[cluster] = answered
        self._metrics.set_cluster_up(cluster, answered)

    def detail(self) -> dict[str, str]:
        with self._lock:
            last = dict(self._last)
        return {name: "answering" if up else "not answering" for name, up in sorted(last.items())}


class Health:
    """The checks and the server that answers the probes."""

    def __init__(self, *, metrics: Metrics | None = None, required: Iterable[str] = ()) -> None:
        self.metrics = metrics or default_metrics
        self._required = list(required)
        self._checks: dict[str, Check] = {}
        self._details: dict[str, Callable[[], object]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add_check(self, name: str, check: Check) -> None:
        with self._lock:
            self._checks[name] = check

    def add_detail(self, name: str, detail: Callable[[], object]) -> None:
        """Something ``/healthz`` shows (JSON-serialisable) without it deciding anything."""
        with self._lock:
            self._details[name] = detail

    def details(self) -> dict[str, object]:
        with self._lock:
            details = dict(self._details)
        shown: dict[str, object] = {}
        for name, detail in details.items():
            try:
                shown[name] = detail()
            except Exception as exc:  # a broken detail must not break liveness
                shown[name] = f"unavailable: {type(exc).__name__}"
        return shown

    def readiness(self) -> tuple[bool, dict[str, str]]:
        """Whether the bot is ready, and each check's state ("ok" or why not)."""
        with self._lock:
            checks = dict(self._checks)
        states: dict[str, str] = {}
        for name in self._required:
            if name not in checks:
                states[name] = "not checked yet"
        for name, check in checks.items():
            try:
                result = check()
            except Exception as exc:  # a broken check means "not ready", not a broken probe
                log.exception("readiness check %s failed", name)
                result = f"check failed: {type(exc).__name__}"
            if result is True:
                states[name] = "ok"
            else:
                states[name] = result if isinstance(result, str) and result else "not ready"
        return all(state == "ok" for state in states.values()), states

    # -- serving ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the health server is not started")
        return int(self._server.server_address[1])

    def start(self, host: str = "0.0.0.0", port: int = 8080) -> None:
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _handler_for(health: Health) -> type[BaseHTTPRequestHandler]:
    class ProbeHandler(BaseHTTPRequestHandler):
        server_version = "k8s-chatops-health"

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            self._answer(with_body=True)

        def do_HEAD(self) -> None:  # noqa: N802 (the stdlib's name)
            self._answer(with_body=False)

        def _answer(self, *, with_body: bool) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                ready, states = health.readiness()
                body = json.dumps({"status": "ok", "ready": ready, "checks": states, **health.details()}).encode()
                self._send(200, "application/json", body, with_body)
            elif path == "/readyz":
                ready, states = health.readiness()
                body = json.dumps({"ready": ready, "checks": states}).encode()
                self._send(200 if ready else 503, "application/json", body, with_body)
            elif path == "/metrics":
                self._send(200, health.metrics.content_type, health.metrics.exposition(), with_body)
            else:
                self._send(404, "application/json", b'{"error": "not found"}', with_body)

        def _send(self, status: int, content_type: str, body: bytes, with_body: bool) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            log.debug("health: " + format, *args)

    return ProbeHandler
