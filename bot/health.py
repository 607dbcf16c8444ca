"""Liveness, readiness and metrics over plain HTTP, for Kubernetes probes and Prometheus.

Readiness is decided by those who know: the Slack transport says whether it
is connected, the cluster probes say whether a cluster answered. Each
registers a check here; ``/readyz`` is 200 only when every check passes and
otherwise names what is not ready, so ``kubectl describe`` shows why.
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
    """The last probe result per cluster; ready while at least one cluster answered.

    One cluster down (mid-upgrade on a zonal cluster, say) must not take the
    bot out of service: it is needed most exactly then. Whoever probes the
    clusters (the scheduled checks) calls ``record``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, bool] = {}

    def record(self, cluster: str, answered: bool) -> None:
        with self._lock:
            self._last[cluster] = answered

    def __call__(self) -> CheckResult:
        with self._lock:
            last = dict(self._last)
        if not last:
            return "no cluster probed yet"
        if any(last.values()):
            return True
        return "no cluster answered its last probe: " + ", ".join(sorted(last))


class Health:
    """The checks and the server that answers the probes."""

    def __init__(self, *, metrics: Metrics | None = None, required: Iterable[str] = ()) -> None:
        self.metrics = metrics or default_metrics
        self._required = list(required)
        self._checks: dict[str, Check] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add_check(self, name: str, check: Check) -> None:
        with self._lock:
            self._checks[name] = check

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
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(200, "application/json", b'{"status": "ok"}')
            elif path == "/readyz":
                ready, states = health.readiness()
                body = json.dumps({"ready": ready, "checks": states}).encode()
                self._send(200 if ready else 503, "application/json", body)
            elif path == "/metrics":
                self._send(200, health.metrics.content_type, health.metrics.exposition())
            else:
                self._send(404, "application/json", b'{"error": "not found"}')

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            log.debug("health: " + format, *args)

    return ProbeHandler
