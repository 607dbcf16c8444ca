"""Delivers alert posts to Slack through a durable outbox.

Every post is written to the outbox first and then sent, in order. The
client's retry handlers absorb short 429/5xx bursts; what still fails stays in
the outbox and is replayed on the next cycle, so an alert is never lost and
never sent twice. A parent message whose answer was lost (the request may
have reached Slack) is looked up by its marker before being posted again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.alerts.render import parent_marker
from bot.alerts.store import IncidentStore, OutboxEntry
from bot.clock import Clock

log = logging.getLogger(__name__)

TRANSIENT_STATUS = (429, 500, 502, 503, 504)
MAX_BACKOFF_SECONDS = 60
HISTORY_LOOKBACK = 200


@dataclass(frozen=True)
class FlushReport:
    sent: int
    pending: int
    failed: int


class _Transient(Exception):
    """Slack could not take the call now; try again later, in order."""


class _Permanent(Exception):
    """Slack refused the call itself (bad channel, bad blocks): retrying will not help."""


class SlackNotifier:
    def __init__(
        self, client: WebClient, store: IncidentStore, clock: Clock, may_send: Callable[[], bool] | None = None
    ) -> None:
        """``may_send`` False keeps posts in the outbox: a follower replica records a click, the leader sends it."""
        self.client = client
        self.store = store
        self.clock = clock
        self.may_send = may_send or (lambda: True)
        # Cycles and clicks both flush; two flushes at once would send an entry twice or out of order.
        self._flushing = threading.Lock()

    # -- queueing ----------------------------------------------------------------

    def post_parent(self, incident_id: int, channel: str, text: str, blocks: list[Block]) -> None:
        self.store.update(incident_id, parent_requested=True)
        self._enqueue("parent", incident_id, {"channel": channel, "text": text, "blocks": _dicts(blocks)})

    def post_thread(self, incident_id: int, text: str, blocks: list[Block]) -> None:
        self._enqueue("thread", incident_id, {"text": text, "blocks": _dicts(blocks)})

    def update_parent(self, incident_id: int, text: str, blocks: list[Block]) -> None:
        self._enqueue("update", incident_id, {"text": text, "blocks": _dicts(blocks)})

    def post_channel(self, channel: str, text: str, blocks: list[Block]) -> None:
        self._enqueue("channel", None, {"channel": channel, "text": text, "blocks": _dicts(blocks)})

    def _enqueue(self, method: str, incident_id: int | None, payload: dict[str, Any]) -> None:
        self.store.enqueue(method, payload, incident_id, self.clock.now())

    # -- delivery ----------------------------------------------------------------

    def flush(self) -> FlushReport:
        """Send what is due, oldest first; stop at the first transient failure to keep the order."""
        if not self.may_send():
            return FlushReport(sent=0, pending=len(self.store.pending()), failed=0)
        with self._flushing:
            return self._flush()

    def _flush(self) -> FlushReport:
        now = self.clock.now()
        sent = failed = 0
        for entry in self.store.pending():
            if entry.next_attempt_at > now:
                break
            try:
                self._deliver(entry)
            except _Transient as exc:
                attempts = entry.attempts + 1
                backoff = min(5 * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
                self.store.mark_outbox(
                    entry.id, attempts=attempts, last_error=str(exc), next_attempt_at=now + timedelta(seconds=backoff)
                )
                log.warning("slack post deferred (attempt %d): %s", attempts, exc)
                break
            except _Permanent as exc:
                failed += 1
                self.store.mark_outbox(entry.id, attempts=entry.attempts + 1, status="failed", last_error=str(exc))
                log.error("slack refused alert post %d (%s); kept in the outbox as failed", entry.id, exc)
                if entry.method == "parent" and entry.incident_id is not None:
                    failed += self._fail_dependents(entry.incident_id, f"parent message failed: {exc}")
                continue
            sent += 1
            self.store.mark_outbox(entry.id, attempts=entry.attempts + 1, status="sent", last_error="")
        pending = len(self.store.pending())
        return FlushReport(sent=sent, pending=pending, failed=failed)

    def _fail_dependents(self, incident_id: int, reason: str) -> int:
        count = 0
        for entry in self.store.pending():
            if entry.incident_id == incident_id:
                self.store.mark_outbox(entry.id, status="failed", last_error=reason)
                log.error("alert post %d for incident %d cannot be sent: %s", entry.id, incident_id, reason)
                count += 1
        return count

    def _deliver(self, entry: OutboxEntry) -> None:
        payload = entry.payload
        if entry.method == "channel":
            self._call("chat_postMessage", channel=payload["channel"], text=payload["text"], blocks=payload["blocks"])
            return
        assert entry.incident_id is not None
        incident = self.store.get(entry.incident_id)
        if incident is None:
            raise _Permanent(f"incident {entry.incident_id} does not exist")
        if entry.method == "parent":
            if incident.parent_ts:
                return  # already delivered (an earlier replay found or posted it)
            if entry.attempts > 0:
                found = self._find_parent(payload["channel"], entry.incident_id)
                if found is not None:
                    self.store.update(incident.id, parent_ts=found[1], channel=found[0])
                    return
            answer = self._call("chat_postMessage", channel=payload["channel"], text=payload["text"], blocks=payload["blocks"])
            self.store.update(incident.id, parent_ts=answer["ts"], channel=answer["channel"])
            return
        if not incident.parent_ts:
            raise _Transient(f"incident {incident.id} has no parent message yet")
        if entry.method == "thread":
            self._call(
                "chat_postMessage",
                channel=incident.channel,
                thread_ts=incident.parent_ts,
                text=payload["text"],
                blocks=payload["blocks"],
            )
        elif entry.method == "update":
            self._call("chat_update", channel=incident.channel, ts=incident.parent_ts, text=payload["text"], blocks=payload["blocks"])
        else:
            raise _Permanent(f"unknown outbox method {entry.method!r}")

    def _find_parent(self, channel: str, incident_id: int) -> tuple[str, str] | None:
        """(channel id, ts) of a parent that reached Slack although its answer did not reach us."""
        marker = parent_marker(incident_id)
        history = self._call("conversations_history", channel=channel, limit=HISTORY_LOOKBACK)
        channel_id = history.get("channel") or channel
        for message in history.get("messages", []):
            if any(block.get("block_id") == marker for block in message.get("blocks") or []):
                return str(channel_id), str(message["ts"])
        return None

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = getattr(self.client, method)(**kwargs)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error", "") if isinstance(exc.response.data, dict) else ""
            if status in TRANSIENT_STATUS:
                raise _Transient(f"{method}: HTTP {status} {error}".strip()) from exc
            raise _Permanent(f"{method}: {error or status}") from exc
        except Exception as exc:  # timeouts, refused connections: the request may or may not have arrived
            raise _Transient(f"{method}: {type(exc).__name__}: {exc}") from exc
        return dict(response.data) if isinstance(response.data, dict) else {}


def _dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]
