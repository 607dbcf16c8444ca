"""The door of the HTTP transport: what a request must be before bolt sees it.

Bolt verifies Slack's signature, but what arrives before that is anyone's:
no timestamp, a timestamp that is not a number, a body of another type or
not UTF-8, a body of a hundred megabytes. Each of those is answered here
with 400 (malformed), 401 (not Slack's, or too old) or 413 (too large),
logged as one short line (why, how large, from where; never the body, which
may hold a user's text or a token) and counted in
``k8s_chatops_rejected_requests_total{reason}``; none reaches a listener or
leaves a traceback. A request Slack signed and that was already seen (the
same signature and timestamp) is acknowledged without running again: a
replay, or Slack retrying what the bot already has.

The waitress server refuses a body past ``MAX_BODY_BYTES`` by its declared
length before reading it (``HttpTransport`` sets its limit); this gate checks
the length too, for servers that do not.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from bot.metrics import Metrics
from bot.metrics import metrics as default_metrics

log = logging.getLogger(__name__)

# Slack's own payloads stay far below this: a slash command's text is short, and the largest
# interaction (a click on a message of 50 blocks) is a few hundred kilobytes at most.
MAX_BODY_BYTES = 1024 * 1024
MAX_CLOCK_SKEW_SECONDS = 300  # Slack's rule: a request older (or newer) than five minutes is refused
REPLAY_MEMORY = 10_000  # signatures remembered, at most, within the five minutes
CONTENT_TYPES = ("application/x-www-form-urlencoded", "application/json")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


_STATUS_LINES = {
    200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized", 413: "413 Content Too Large",
}


class SlackGate:
    """WSGI middleware in front of bolt's handler for POSTs to ``path``; anything else passes through."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        signing_secret: str,
        path: str = "/slack/events",
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self._app = app
        self._secret = signing_secret.encode()
        self._path = path
        self._metrics = metrics or default_metrics
        self._clock = clock
        self._max_body = max_body
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != self._path:
            return self._app(environ, start_response)
        size = _declared_length(environ)
        try:
            body = self._check(environ, size)
        except _Refused as refused:
            return self._refuse(environ, start_response, refused, size)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self._app(environ, start_response)

    def _check(self, environ: dict[str, Any], size: int | None) -> bytes:
        """The body of a request that may go on to bolt, or ``_Refused`` saying why not."""
        if size is None:
            raise _Refused(400, "length")
        if size > self._max_body:
            raise _Refused(413, "too_large")
        content_type = str(environ.get("CONTENT_TYPE", "")).split(";", 1)[0].strip().lower()
        if content_type not in CONTENT_TYPES:
            raise _Refused(400, "content_type")
        stamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")).strip()
        if not stamp:
            raise _Refused(400, "timestamp_missing")
        if not stamp.isdigit():
            raise _Refused(400, "timestamp_malformed")
        signature = str(environ.get("HTTP_X_SLACK_SIGNATURE", "")).strip()
        if not signature:
            raise _Refused(401, "signature_missing")
        if abs(self._clock() - int(stamp)) > MAX_CLOCK_SKEW_SECONDS:
            raise _Refused(401, "stale")
        body = _read(environ, size)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _Refused(400, "encoding") from None
        expected = "v0=" + hmac.new(self._secret, b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise _Refused(401, "signature")
        if not _well_formed(content_type, text):
            raise _Refused(400, "body")
        if self._seen_before(stamp, signature):
            raise _Refused(200, "replayed")
        return body

    def _seen_before(self, stamp: str, signature: str) -> bool:
        now = self._clock()
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) < now or len(self._seen) >= REPLAY_MEMORY):
                self._seen.popitem(last=False)
            key = (stamp, signature)
            if key in self._seen:
                return True
            self._seen[key] = int(stamp) + MAX_CLOCK_SKEW_SECONDS
            return False

    def _refuse(
        self, environ: dict[str, Any], start_response: StartResponse, refused: _Refused, size: int | None
    ) -> Iterable[bytes]:
        remote = environ.get("HTTP_X_FORWARDED_FOR") or environ.get("REMOTE_ADDR") or "?"
        shown = "?" if size is None else str(size)
        if refused.status == 200:
            log.info("Slack request already seen (%s, %s bytes from %s): acknowledged, not run again",
                     refused.reason, shown, remote)
        else:
            log.warning("refused a request to %s: %s (%s bytes from %s)", self._path, refused.reason, shown, remote)
        self._metrics.rejected(refused.reason)
        body = b"" if refused.status == 200 else json.dumps({"error": refused.reason}).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if refused.status == 413:
            headers.append(("Connection", "close"))
        start_response(_STATUS_LINES[refused.status], headers)
        return [body]


def _declared_length(environ: dict[str, Any]) -> int | None:
    raw = str(environ.get("CONTENT_LENGTH") or "0").strip()
    return int(raw) if raw.isdigit() else None


def _read(environ: dict[str, Any], size: int) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None or size == 0:
        return b""
    body = stream.read(size)
    return bytes(body) if body else b""


def _well_formed(content_type: str, text: str) -> bool:
    """JSON that parses; a form whose ``payload`` (interactions) is JSON that parses."""
    try:
        if content_type == "application/json":
            return isinstance(json.loads(text), dict)
        payload = parse_qs(text, keep_blank_values=True).get("payload")
        return payload is None or isinstance(json.loads(payload[0]), dict)
    except ValueError:
        return False
