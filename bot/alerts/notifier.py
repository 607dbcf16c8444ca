"""Delivers alert posts to Slack through a durable outbox.

Every post is written to the outbox first and then sent, in order; what fails
stays in the outbox and is replayed on a later flush, so an alert is never
lost. Nor is it sent twice: each post carries a key in its message metadata,
the attempt is recorded in the outbox before the request leaves, and the
client never re-sends a post on its own (``bot.slack.client``). A post whose
outcome is unknown (the connection dropped after Slack accepted it, or the
process died before it learned the answer) is therefore looked for by its key
(conversations.history for parents and channel posts, conversations.replies
for thread replies) before it is sent again. A file shared in a thread
(evidence, a postmortem summary) is an entry of its own after the reply that
announces it; whether an earlier attempt shared it is told by its name among
the thread's files, which is unique to the post.
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
from bot.blocks import Attachment
from bot.clock import Clock
from bot.metrics import Metrics
from bot.posts import PostFinder, metadata_for, new_key, unless_refused

log = logging.getLogger(__name__)

TRANSIENT_STATUS = (429, 500, 502, 503, 504)
MAX_BACKOFF_SECONDS = 60
POSTS = ("parent", "thread", "channel", "file")  # outbox methods that post a new message: each carries a key
LOOKBACK = timedelta(days=1)  # a post whose answer was lost is looked for this far before it was queued


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
        self,
        client: WebClient,
        store: IncidentStore,
        clock: Clock,
        may_send: Callable[[], bool] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        """``may_send`` False keeps posts in the outbox: a follower replica records a click, the leader sends it."""
        self.client = client
        self.store = store
        self.clock = clock
        self.may_send = may_send or (lambda: True)
        self.metrics = metrics
        self.finder = PostFinder(client)
        # Cycles and clicks both flush; two flushes at once would send an entry twice or out of order.
        self._flushing = threading.Lock()

    # -- queueing ----------------------------------------------------------------

    def post_parent(self, incident_id: int, channel: str, text: str, blocks: list[Block]) -> None:
        self.store.update(incident_id, parent_requested=True)
        self._enqueue("parent", incident_id, {"channel": channel, "text": text, "blocks": _dicts(blocks)})

    def post_thread(self, incident_id: int, text: str, blocks: list[Block], *, broadcast: bool = False) -> None:
        """A reply in the incident's thread; ``broadcast`` also shows it in the channel (Slack's reply_broadcast)."""
        self._enqueue("thread", incident_id, thread_payload(text, blocks, broadcast=broadcast))

    def post_file(self, incident_id: int, attachment: Attachment) -> None:
        """A file shared in the incident's thread (files_upload_v2), after what was queued before it."""
        self._enqueue("file", incident_id, file_payload(attachment))

    def update_parent(self, incident_id: int, text: str, blocks: list[Block]) -> None:
        self._enqueue("update", incident_id, {"text": text, "blocks": _dicts(blocks)})

    def post_channel(self, channel: str, text: str, blocks: list[Block]) -> None:
        self._enqueue("channel", None, {"channel": channel, "text": text, "blocks": _dicts(blocks)})

    def _enqueue(self, method: str, incident_id: int | None, payload: dict[str, Any]) -> None:
        self.store.enqueue(method, with_key(method, payload), incident_id, self.clock.now())

    # -- delivery ----------------------------------------------------------------

    def flush(self) -> FlushReport:
        """Send what is due, oldest first; stop at the first transient failure to keep the order."""
        if not self.may_send():
            return FlushReport(sent=0, pending=len(self.store.pending()), failed=0)
        with self._flushing:
            report = self._flush()
        if self.metrics is not None:
            self.metrics.set_outbox_depth(report.pending)
        return report

    def _flush(self) -> FlushReport:
        now = self.clock.now()
        sent = failed = 0
        # Each entry is claimed in the store while it is sent, so a second replica (a leader that has not yet
        # noticed it lost its lease) never sends it too.
        for entry in iter(lambda: self.store.claim_next(now), None):
            # Counted before the request leaves: from then on Slack may hold the post whatever becomes of the answer,
            # and ``entry`` (read before) still says whether an earlier attempt was made.
            self.store.mark_outbox(entry.id, attempts=entry.attempts + 1)
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
            self._post(entry, channel=payload["channel"], content=_content(payload))
            return
        assert entry.incident_id is not None
        incident = self.store.get(entry.incident_id)
        if incident is None:
            raise _Permanent(f"incident {entry.incident_id} does not exist")
        if entry.method == "parent":
            if incident.parent_ts:
                return  # already delivered (an earlier replay found or posted it)
            # Posts queued before keys existed are recognised by the parent's block_id instead.
            marker = parent_marker(incident.id) if "key" not in payload else None
            answer = self._post(entry, channel=payload["channel"], content=_content(payload), block_id=marker)
            self.store.update(incident.id, parent_ts=answer["ts"], channel=answer["channel"])
            return
        if not incident.parent_ts:
            raise _Transient(f"incident {incident.id} has no parent message yet")
        if entry.method == "thread":
            self._post(entry, channel=incident.channel, thread_ts=incident.parent_ts, content=_content(payload))
        elif entry.method == "file":
            self._upload(entry, channel=incident.channel, thread_ts=incident.parent_ts)
        elif entry.method == "update":
            self._call("chat_update", channel=incident.channel, ts=incident.parent_ts, text=payload["text"], blocks=payload["blocks"])
        else:
            raise _Permanent(f"unknown outbox method {entry.method!r}")

    def _post(
        self,
        entry: OutboxEntry,
        *,
        channel: str,
        content: dict[str, Any],
        thread_ts: str | None = None,
        block_id: str | None = None,
    ) -> dict[str, Any]:
        """chat.postMessage for ``entry``, at most once: an earlier attempt that may have arrived is looked for first.

        Attempts are counted before the request leaves, so even a process killed
        while waiting for Slack's answer looks before posting again when it restarts.
        """
        key = str(entry.payload.get("key") or f"outbox-{entry.id}")
        if entry.attempts > 0:
            found = self._find(entry, channel, thread_ts, key, block_id)
            if found is not None:
                log.warning("alert post %d had reached Slack (ts %s) although its answer was lost", entry.id, found["ts"])
                return found
        answer = self._call("chat_postMessage", channel=channel, thread_ts=thread_ts, metadata=metadata_for(key), **content)
        self.finder.remember(channel, str(answer.get("channel", "")))
        return answer

    def _upload(self, entry: OutboxEntry, *, channel: str, thread_ts: str) -> None:
        """files_upload_v2 into the thread, at most once: a file of the same name there means an attempt got through."""
        payload = entry.payload
        if entry.attempts > 0:
            try:
                found = unless_refused(lambda: self.finder.file_in_thread(channel, thread_ts, payload["filename"]))
            except Exception as exc:
                raise _classified("looking for an earlier upload", exc) from exc
            if found is not None:
                log.warning("file %s had reached Slack although the answer was lost", payload["filename"])
                return
        try:
            channel_id = self.finder.channel_id(channel)
        except LookupError as exc:
            raise _Permanent(str(exc)) from exc
        except Exception as exc:
            raise _classified("conversations.list", exc) from exc
        self._call(
            "files_upload_v2", channel=channel_id, thread_ts=thread_ts, content=payload["content"],
            filename=payload["filename"], title=payload["title"],
        )

    def _find(
        self, entry: OutboxEntry, channel: str, thread_ts: str | None, key: str, block_id: str | None
    ) -> dict[str, Any] | None:
        """The message ``entry`` posted, if an earlier attempt reached Slack."""
        oldest = (entry.created_at - LOOKBACK).timestamp()
        try:
            if thread_ts:
                return unless_refused(lambda: self.finder.in_thread(channel, thread_ts, key))
            return unless_refused(lambda: self.finder.in_channel(channel, key, oldest=oldest, block_id=block_id))
        except Exception as exc:
            raise _classified("looking for an earlier post", exc) from exc

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = getattr(self.client, method)(**kwargs)
        except Exception as exc:
            raise _classified(method, exc) from exc
        return dict(response.data) if isinstance(response.data, dict) else {}


def _classified(what: str, exc: Exception) -> Exception:
    """Slack's refusal is permanent; a 429 or 5xx, a timeout or a lost connection is worth another try."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        error = exc.response.get("error", "") if isinstance(exc.response.data, dict) else ""
        if status in TRANSIENT_STATUS:
            return _Transient(f"{what}: HTTP {status} {error}".strip())
        return _Permanent(f"{what}: {error or status}")
    return _Transient(f"{what}: {type(exc).__name__}: {exc}")


def thread_payload(text: str, blocks: list[Block], *, broadcast: bool = False) -> dict[str, Any]:
    """What the outbox holds of a thread reply (its key is added when it is queued)."""
    payload: dict[str, Any] = {"text": text, "blocks": _dicts(blocks)}
    if broadcast:
        payload["reply_broadcast"] = True
    return payload


def file_payload(attachment: Attachment) -> dict[str, Any]:
    """What the outbox holds of a file for a thread; its name must be unique in the thread."""
    return {"filename": attachment.filename, "title": attachment.title, "content": attachment.content}


def with_key(method: str, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with the key a post carries in its metadata (only posts of a new message have one)."""
    return {**payload, "key": new_key()} if method in POSTS else payload


def _content(payload: dict[str, Any]) -> dict[str, Any]:
    """What chat.postMessage shows of a queued post: text, blocks, and whether a reply also goes to the channel."""
    content = {"text": payload["text"], "blocks": payload["blocks"]}
    if payload.get("reply_broadcast"):
        content["reply_broadcast"] = True
    return content


def _dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]
