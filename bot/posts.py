"""Posting to Slack at most once, and finding out whether a post whose answer was lost got there.

A call that changes nothing when repeated (chat.update, a read) may simply be
sent again. A post may not: when the connection drops after Slack accepted
chat.postMessage, or the process dies before it learns the answer, sending it
again shows the message twice. So every post the bot makes carries a key in
its message metadata, and a post whose outcome is unknown is looked for
(conversations.history or conversations.replies) before it is sent again.

This module sits beside ``bot.slack`` rather than inside it because the
alerts' outbox and the answers to commands both use it.
"""

from __future__ import annotations

import logging
import re
import socket
import time
import urllib.error
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Literal
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

# Web API methods whose repetition is visible: a second message, a second ephemeral, a second file share.
NOT_IDEMPOTENT = frozenset({
    "chat.postMessage",
    "chat.postEphemeral",
    "chat.meMessage",
    "chat.scheduleMessage",
    "files.upload",
    "files.completeUploadExternal",
    "files.remote.share",
})
EVENT_TYPE = "k8s_chatops_post"  # the metadata event type every post of the bot carries
HISTORY_PAGE = 200
LOOKUP_PAGES = 5  # how far back a lost post is looked for: 1,000 messages of the channel or thread
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")

Outcome = Literal["refused", "not_sent", "unknown"]


def method_of(url: str) -> str:
    """The Web API method a request URL calls (``https://slack.com/api/chat.postMessage`` -> chat.postMessage)."""
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


def never_sent(error: BaseException | None) -> bool:
    """Whether a connection error proves the request never reached Slack (refused, or no such host)."""
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    return isinstance(reason, (ConnectionRefusedError, socket.gaierror))


def outcome_of(error: BaseException) -> Outcome:
    """What a failed call tells about whether Slack carried it out.

    "refused": Slack answered and did not do it (``ok: false``, 4xx); "not_sent":
    it certainly did not happen (rate limited, or the connection never opened);
    "unknown": it may have happened (a 5xx, a timeout, a connection dropped
    before the answer).
    """
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        if status == 429:
            return "not_sent"
        if status >= 500:
            return "unknown"
        return "refused"
    if never_sent(error):
        return "not_sent"
    return "unknown"


def new_key() -> str:
    return uuid.uuid4().hex


def metadata_for(key: str) -> dict[str, Any]:
    """The message metadata that names a post, so it can be found again."""
    return {"event_type": EVENT_TYPE, "event_payload": {"key": key}}


def key_of(message: dict[str, Any]) -> str | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != EVENT_TYPE:
        return None
    key = (metadata.get("event_payload") or {}).get("key")
    return str(key) if key else None


def is_channel_id(channel: str) -> bool:
    return bool(_CHANNEL_ID.match(channel))


class PostFinder:
    """Looks for a post by its key where it would be: in a channel's history or in a thread."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._ids: dict[str, str] = {}

    def channel_id(self, channel: str) -> str:
        """The ID of a channel given by ID or by name (the conversations methods want the ID)."""
        if is_channel_id(channel):
            return channel
        name = channel.lstrip("#")
        if name not in self._ids:
            for page in self._pages(
                "conversations_list", {"types": "public_channel,private_channel", "exclude_archived": True}, 50
            ):
                for item in page.get("channels") or []:
                    self._ids[str(item.get("name", ""))] = str(item["id"])
                if name in self._ids:
                    break
        if name not in self._ids:
            raise LookupError(f"no channel named #{name}")
        return self._ids[name]

    def remember(self, channel: str, channel_id: str) -> None:
        """A name's ID, learned from an answer (chat.postMessage answers with the ID)."""
        if not is_channel_id(channel) and is_channel_id(channel_id):
            self._ids[channel.lstrip("#")] = channel_id

    def in_channel(
        self, channel: str, key: str, *, oldest: float | None = None, block_id: str | None = None
    ) -> dict[str, Any] | None:
        """The channel message carrying ``key`` (or, for posts made before keys, the block ``block_id``)."""
        args: dict[str, Any] = {"channel": self.channel_id(channel), "include_all_metadata": True}
        if oldest is not None:
            args["oldest"] = f"{oldest:.6f}"
        for page in self._pages("conversations_history", args, LOOKUP_PAGES):
            for message in page.get("messages") or []:
                if _matches(message, key, block_id):
                    return {**message, "channel": args["channel"]}
        return None

    def in_thread(self, channel: str, thread_ts: str, key: str) -> dict[str, Any] | None:
        """The reply carrying ``key`` in the thread under ``thread_ts``."""
        args = {"channel": self.channel_id(channel), "ts": thread_ts, "include_all_metadata": True}
        for page in self._pages("conversations_replies", args, LOOKUP_PAGES):
            for message in page.get("messages") or []:
                if key_of(message) == key:
                    return {**message, "channel": args["channel"]}
        return None

    def file_in_thread(self, channel: str, thread_ts: str, filename: str) -> dict[str, Any] | None:
        """The reply in the thread under ``thread_ts`` that shares a file named ``filename``."""
        args = {"channel": self.channel_id(channel), "ts": thread_ts}
        for page in self._pages("conversations_replies", args, LOOKUP_PAGES):
            for message in page.get("messages") or []:
                if any(f.get("name") == filename for f in message.get("files") or []):
                    return {**message, "channel": args["channel"]}
        return None

    def _pages(self, method: str, args: dict[str, Any], most: int) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        for _ in range(most):
            answer = getattr(self.client, method)(limit=HISTORY_PAGE, cursor=cursor, **args)
            page = answer.data if isinstance(answer.data, dict) else {}
            yield page
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return


def unless_refused(look: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
    """``look()``, or None when Slack refuses to show the history (the bot is not in the channel, or lacks
    channels:history): a post that may show twice is better than an alert that never shows."""
    try:
        return look()
    except LookupError as exc:  # a channel name conversations.list does not show
        reason = str(exc)
    except SlackApiError as exc:
        if outcome_of(exc) != "refused":
            raise
        reason = str(exc.response.get("error", "refused"))
    log.error(
        "cannot look for a post whose answer was lost (%s): posting it again; invite the bot to the channel "
        "and grant channels:history (groups:history for a private one)", reason
    )
    return None


def _matches(message: dict[str, Any], key: str, block_id: str | None) -> bool:
    if key_of(message) == key:
        return True
    return block_id is not None and any(b.get("block_id") == block_id for b in message.get("blocks") or [])


def post_once(
    client: WebClient,
    finder: PostFinder,
    *,
    channel: str,
    thread_ts: str | None = None,
    attempts: int = 3,
    wait: Callable[[float], None] = time.sleep,
    backoff_seconds: float = 2.0,
    **content: Any,
) -> dict[str, Any]:
    """chat.postMessage that shows the message once however the connection behaves.

    A post whose outcome is unknown is looked for before it is sent again; Slack's
    refusal is raised at once, and so is the last failure once ``attempts`` are used.
    """
    key = new_key()
    last: BaseException | None = None
    in_doubt = False
    for attempt in range(attempts):
        if attempt:
            wait(backoff_seconds * 2 ** (attempt - 1))
        try:
            if in_doubt:
                found = unless_refused(
                    lambda: finder.in_thread(channel, thread_ts, key) if thread_ts else finder.in_channel(channel, key)
                )
                if found is not None:
                    return found
            answer = client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, metadata=metadata_for(key), **content
            )
            return dict(answer.data) if isinstance(answer.data, dict) else {}
        except Exception as exc:  # classified below; the caller decides what a last failure means
            outcome = outcome_of(exc)
            if outcome == "refused":
                raise
            in_doubt = in_doubt or outcome == "unknown"
            last = exc
            log.warning("chat.postMessage to %s %s (%s): %s", channel, "may have failed" if in_doubt else "failed",
                        type(exc).__name__, exc)
    assert last is not None
    raise last
