"""How Slack's requests reach the App: Socket Mode or signed HTTP. Adapters only.

Both run in the background so the process can also serve health checks and
run the scheduler; both say whether they are serving, for readiness.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.server import create_server

from bot.settings import SlackConfig

log = logging.getLogger(__name__)

HTTP_WORKER_THREADS = 8


class SlackTransport(Protocol):
    """What the process needs of either transport: start, stop, and whether Slack can reach the app."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def is_ready(self) -> bool: ...


class _Trigger(Protocol):
    def pull_trigger(self, thunk: Callable[[], object] | None = None) -> None: ...


class _TaskDispatcher(Protocol):
    def shutdown(self, cancel_pending: bool = True, timeout: int = 5) -> bool: ...


class _WaitressServer(Protocol):
    """What this module uses of the (untyped) server ``waitress.server.create_server`` returns."""

    effective_port: int
    trigger: _Trigger
    task_dispatcher: _TaskDispatcher

    def run(self) -> None: ...


class SocketModeTransport:
    """A websocket to Slack opened from inside; no public endpoint needed."""

    def __init__(self, app: App, app_token: str) -> None:
        self._handler = SocketModeHandler(app, app_token)

    def connect(self) -> None:
        """Open the connection and return; bolt's client reconnects on its own when it drops."""
        self._handler.connect()

    def is_ready(self) -> bool:
        return bool(self._handler.client.is_connected())

    def close(self) -> None:
        self._handler.close()

    start = connect
    stop = close


class HttpTransport:
    """Slack's signed HTTP requests, served by waitress on a background thread.

    Bolt checks every request's signature and timestamp; a bad or stale one is
    answered 401 and never reaches a listener.
    """

    def __init__(self, app: App, host: str = "0.0.0.0", port: int = 3000, path: str = "/slack/events") -> None:
        self._app = app
        self._host = host
        self._requested_port = port
        self.path = path
        self._map: dict[int, object] = {}
        self._server: _WaitressServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (a free one when 0 was asked for); only valid once started."""
        if self._server is None:
            raise RuntimeError("the HTTP transport is not started")
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host
        return f"http://{host}:{self.port}{self.path}"

    def start(self) -> None:
        handler = SlackRequestHandler(self._app, path=self.path)
        self._server = create_server(
            handler,
            map=self._map,
            host=self._host,
            port=self._requested_port,
            threads=HTTP_WORKER_THREADS,
            ident="k8s-chatops",
        )
        self._thread = threading.Thread(target=self._server.run, name="slack-http", daemon=True)
        self._thread.start()
        log.info("serving Slack requests on %s", self.url)

    def is_ready(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        # Close every socket from inside the server's own loop, which then ends for lack of sockets.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(self._map, ignore_all=True))
        thread.join(10)
        server.task_dispatcher.shutdown()
        self._thread = None


def transport_for(config: SlackConfig, app: App) -> SlackTransport:
    """The transport ``slack.mode`` asks for, not yet started."""
    if config.mode == "socket":
        if config.app_token is None:
            raise ValueError("Socket Mode needs slack.app_token (an xapp- token)")
        return SocketModeTransport(app, config.app_token.get_secret_value())
    if config.signing_secret is None:
        raise ValueError("HTTP mode needs slack.signing_secret to verify Slack's requests")
    return HttpTransport(app, config.http_host, config.http_port, config.http_path)
