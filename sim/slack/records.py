"""What the simulated Slack remembers: messages, ephemerals, responses, files, calls.

Tests assert on what a user would have seen in Slack, so every record keeps
the content as Slack stored it (text, blocks, thread) plus the history a user
could observe (earlier versions of an edited message, reactions).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Blocks = list[dict[str, Any]]


@dataclass
class ApiCall:
    """One Web API request, failed ones included, so retries can be counted."""

    method: str
    args: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: datetime
    answered: bool = True  # False: carried out, but the caller never got the answer (a dropped connection)
    received: float = field(default_factory=time.monotonic)  # real time, to tell how long a client waited between calls

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error")


@dataclass
class MessageVersion:
    """An earlier content of an edited message."""

    text: str
    blocks: Blocks | None
    replaced_at: datetime


@dataclass
class Message:
    """A channel message as users see it; ``thread_ts`` is set on replies (and on a parent once answered)."""

    ts: str
    channel: str
    user: str
    text: str
    blocks: Blocks | None = None
    thread_ts: str | None = None
    edits: list[MessageVersion] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    deleted: bool = False
    metadata: dict[str, Any] | None = None  # message metadata: {"event_type": ..., "event_payload": {...}}
    broadcast: bool = False  # a reply also sent to the channel (reply_broadcast; subtype thread_broadcast)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def all_text(self) -> str:
        """Text and every text object in the blocks, for 'does the answer mention X' assertions."""
        parts = [self.text]
        parts.extend(_block_texts(self.blocks or []))
        return "\n".join(parts)


@dataclass
class Ephemeral:
    """A message only ``user`` saw, from chat.postEphemeral or an ephemeral response_url post."""

    channel: str
    user: str
    text: str
    blocks: Blocks | None
    thread_ts: str | None
    ts: str
    via: str  # "chat.postEphemeral" or "response_url"

    def all_text(self) -> str:
        return "\n".join([self.text, *_block_texts(self.blocks or [])])


@dataclass
class ResponseUrl:
    """A response_url Slack handed to the app, and what it answers for."""

    id: str
    channel: str
    user: str
    message_ts: str | None = None  # the message whose button was clicked
    thread_ts: str | None = None
    is_ephemeral_source: bool = False


@dataclass
class ResponsePost:
    """One post the app made to a response_url."""

    response_url_id: str
    response_type: str  # "ephemeral" or "in_channel"
    text: str
    blocks: Blocks | None
    replace_original: bool
    delete_original: bool
    thread_ts: str | None
    at: datetime
    status: int = 200
    error: str | None = None
    via: str = "response_url"  # or "ack": the body of a slash command's acknowledgement

    def all_text(self) -> str:
        return "\n".join([self.text, *_block_texts(self.blocks or [])])


@dataclass
class UploadedFile:
    """A file uploaded through files.getUploadURLExternal + upload + files.completeUploadExternal."""

    id: str
    name: str
    length: int
    title: str = ""
    content: bytes = b""
    channels: list[str] = field(default_factory=list)
    thread_ts: str | None = None
    initial_comment: str | None = None
    uploaded: bool = False
    completed: bool = False


@dataclass
class EnvelopeRecord:
    """One Socket Mode envelope sent to the app and what came back."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    sent_at: datetime
    acked: bool = False
    ack_payload: dict[str, Any] | None = None
    ack_seconds: float | None = None  # real seconds between send and ack


def _block_texts(blocks: list[Any]) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for key, value in node.items():
                if key != "text" or not isinstance(value, str):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return found
