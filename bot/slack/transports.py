"""How Slack's requests reach the App: Socket Mode or signed HTTP, and the link that keeps them up.

Both transports run in the background so the process can also serve health
checks and run the scheduler; both say whether they are serving, for
readiness. ``SlackLink`` brings the connection up and keeps it up through
Slack's bad minutes: auth.test at start, then (Socket Mode)
apps.connections.open and the websocket, again whenever the connection
drops. A 429 waits out its Retry-After, a 5xx or a timeout backs off and tries
again, all while readiness says what it is waiting for; only Slack saying the
token itself is no good (``invalid_auth``, ``not_authed``, ...) ends the
process, with one line.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any, Protocol

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from waitress import wasyncore
from waitress.server import create_server

from bot.metrics import Metrics
from bot.metrics import metrics as default_metrics
from bot.settings import ConfigError, SlackConfig
from bot.slack.gate import MAX_BODY_BYTES, SlackGate

log = logging.getLogger(__name__)

HTTP_WORKER_THREADS = 8
# Errors that say the token will never work: retrying cannot help, so the process ends.
FATAL_AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"})
CONNECT_TIMEOUT_SECONDS = 10.0  # one auth.test or apps.connections.open, at most
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
WATCH_SECONDS = 0.25  # how often a connected link looks whether it still is


class SlackAuthError(ConfigError):
    """Slack refused a token for good; the message says which and what to do."""


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
    """A websocket to Slack opened from inside; no public endpoint needed.

    ``connect`` opens it once or raises; the ``SlackLink`` decides when to try
    again, so the SDK's own reconnecting (which retries every few seconds
    whatever Slack said, and never gives up on a revoked token) is turned off.
    Its ``web_client`` (the app token's: apps.connections.open) makes one
    attempt per call for the same reason.
    """

    def __init__(self, app: App, app_token: str, *, web_client: WebClient | None = None) -> None:
        self._app_token = app_token
        self._handler = SocketModeHandler(app, app_token, web_client=web_client, auto_reconnect_enabled=False)

    def connect(self) -> None:
        """apps.connections.open, then the websocket; raises what either raised (and leaves the logging to the link)."""
        client = self._handler.client
        answer = client.web_client.apps_connections_open(app_token=self._app_token)
        client.wss_uri = str(answer["url"])
        client.connect()

    def is_ready(self) -> bool:
        return bool(self._handler.client.is_connected())

    def close(self) -> None:
        self._handler.close()

    start = connect
    stop = close


class HttpTransport:
    """Slack's signed HTTP requests, served by waitress on a background thread.

    ``SlackGate`` (bot.slack.gate) stands before bolt: a malformed, unsigned,
    stale, oversized or replayed request is answered there and never reaches
    a listener; bolt checks the signature once more.
    """

    def __init__(
        self,
        app: App,
        host: str = "0.0.0.0",
        port: int = 3000,
        path: str = "/slack/events",
        *,
        signing_secret: str,
        metrics: Metrics | None = None,
    ) -> None:
        self._app = app
        self._host = host
        self._requested_port = port
        self.path = path
        self._signing_secret = signing_secret
        self._metrics = metrics or default_metrics
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
        gate = SlackGate(
            SlackRequestHandler(self._app, path=self.path),
            signing_secret=self._signing_secret,
            path=self.path,
            metrics=self._metrics,
        )
        self._server = create_server(
            gate,
            map=self._map,
            host=self._host,
            port=self._requested_port,
            threads=HTTP_WORKER_THREADS,
            ident="k8s-chatops",
            max_request_body_size=MAX_BODY_BYTES,  # refused by its declared length, before it is read
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


def transport_for(config: SlackConfig, app: App, metrics: Metrics | None = None) -> SlackTransport:
    """The transport ``slack.mode`` asks for, not yet started."""
    if config.mode == "socket":
        if config.app_token is None:
            raise ValueError("Socket Mode needs slack.app_token (an xapp- token)")
        app_token = config.app_token.get_secret_value()
        return SocketModeTransport(app, app_token, web_client=link_client(config, app_token))
    if config.signing_secret is None:
        raise ValueError("HTTP mode needs slack.signing_secret to verify Slack's requests")
    return HttpTransport(
        app, config.http_host, config.http_port, config.http_path,
        signing_secret=config.signing_secret.get_secret_value(), metrics=metrics,
    )


def link_client(config: SlackConfig, token: str | None = None) -> WebClient:
    """A client for the link's own calls: one attempt each, a short timeout; the link paces the retries."""
    from bot.slack.client import build_web_client

    return build_web_client(
        config, token=token, max_retries=0, timeout=min(config.timeout_seconds, CONNECT_TIMEOUT_SECONDS)
    )


class Backoff:
    """Waits between attempts: doubling from one second to thirty, a little jitter, Slack's Retry-After when given."""

    def __init__(self, first: float = FIRST_BACKOFF_SECONDS, most: float = MAX_BACKOFF_SECONDS) -> None:
        self._first = first
        self._most = most
        self._next = first

    def reset(self) -> None:
        self._next = self._first

    def after(self, error: BaseException) -> float:
        retry_after = _retry_after(error)
        if retry_after is not None:
            return retry_after + random.uniform(0, 0.2)
        delay = self._next
        self._next = min(self._next * 2, self._most)
        return delay * random.uniform(0.9, 1.1)


def _retry_after(error: BaseException) -> float | None:
    if not isinstance(error, SlackApiError) or error.response.status_code != 429:
        return None
    headers = {k.lower(): v for k, v in (error.response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(float(value), 0.0) if value is not None else 1.0
    except (TypeError, ValueError):
        return 1.0


def _slack_error(error: BaseException) -> str:
    if isinstance(error, SlackApiError):
        code = error.response.get("error") if isinstance(error.response.data, dict) else None
        return str(code or f"HTTP {error.response.status_code}")
    return type(error).__name__


def _fatal(error: BaseException) -> bool:
    return isinstance(error, SlackApiError) and _slack_error(error) in FATAL_AUTH_ERRORS


class SlackLink:
    """Brings the Slack side up (auth.test, then the transport) and keeps it up; says how it stands for readiness.

    ``on_fatal`` is called (from the link's thread) with a ``SlackAuthError``
    when Slack refuses a token for good; the link then stops trying.
    ``on_authorized`` is called once, with auth.test's answer, when Slack first
    accepts the bot token.
    """

    def __init__(
        self,
        client: WebClient,
        transport: SlackTransport,
        *,
        mode: str,
        on_fatal: Callable[[SlackAuthError], None],
        on_authorized: Callable[[dict[str, Any]], None] | None = None,
        metrics: Metrics | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self._client = client
        self._transport = transport
        self._mode = mode
        self._on_fatal = on_fatal
        self._on_authorized = on_authorized
        self._metrics = metrics or default_metrics
        self._backoff = backoff or Backoff()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._state = "starting"
        self._authorized = False
        self.identity: dict[str, Any] = {}
        self._thread: threading.Thread | None = None

    # -- what readiness asks ------------------------------------------------------------

    def readiness(self) -> bool | str:
        """True when Slack can reach the bot, else what the link is waiting for."""
        ready = self._authorized and self._transport.is_ready()
        self._metrics.set_slack_ready(ready)
        if self._mode == "socket":
            self._metrics.set_socket_connected(self._transport.is_ready())
        if ready:
            return True
        with self._lock:
            return self._state

    def _say(self, state: str) -> None:
        with self._lock:
            self._state = state

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._mode != "socket":
            self._transport.start()  # at once: a port that cannot be bound is the operator's to fix now
        self._thread = threading.Thread(target=self._run, name="slack-link", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(CONNECT_TIMEOUT_SECONDS + 5)
        self._transport.stop()

    def _run(self) -> None:
        try:
            if not self._authorize():
                return
            if self._mode != "socket":  # Slack comes to the HTTP server, which started with the process
                self._ready()
                return
            self._keep_connected()
        except Exception:  # the link must not die silently: say so, and let readiness show it
            log.exception("the Slack link stopped")
            self._say("the Slack link stopped; see the log")

    def _authorize(self) -> bool:
        """auth.test until Slack answers it; False when stopped or when the token is refused for good."""
        while not self._stopping.is_set():
            self._say("checking the bot token (auth.test)")
            try:
                answer = self._client.auth_test()
            except Exception as exc:
                if self._give_up_or_wait("auth.test", exc, "SLACK_BOT_TOKEN (slack.bot_token)"):
                    return False
                continue
            self.identity = dict(answer.data) if isinstance(answer.data, dict) else {}
            self._authorized = True
            self._backoff.reset()
            if self._on_authorized is not None:
                self._on_authorized(self.identity)
            return True
        return False

    def _keep_connected(self) -> None:
        connected = False
        while not self._stopping.is_set():
            if self._transport.is_ready():
                if not connected:
                    connected = True
                    self._backoff.reset()
                    self._ready()
                self._stopping.wait(WATCH_SECONDS)
                continue
            if connected:
                connected = False
                log.warning("the Socket Mode connection to Slack dropped; reconnecting")
                self._metrics.set_socket_connected(False)
            self._say("connecting to Slack (apps.connections.open)")
            try:
                self._transport.start()
            except Exception as exc:
                if self._give_up_or_wait("apps.connections.open", exc, "SLACK_APP_TOKEN (slack.app_token)"):
                    return

    def _ready(self) -> None:
        self._say("connected")
        self._metrics.set_slack_ready(True)
        if self._mode == "socket":
            self._metrics.set_socket_connected(True)
        log.info("serving Slack (%s mode)", self._mode)

    def _give_up_or_wait(self, method: str, error: BaseException, token: str) -> bool:
        """True when ``error`` ends it all (reported through ``on_fatal``); else wait before the next attempt."""
        reason = _slack_error(error)
        if _fatal(error):
            self._say(f"Slack refused the token: {reason}")
            self._on_fatal(SlackAuthError(f"Slack refused the token ({method}: {reason}): check {token}"))
            return True
        delay = self._backoff.after(error)
        self._say(f"{method} failed ({reason}); trying again in {delay:.0f}s")
        log.warning("Slack is not reachable yet: %s failed (%s); trying again in %.1fs", method, reason, delay)
        self._stopping.wait(delay)
        return False
