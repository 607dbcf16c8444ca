"""Show recorded Slack messages as a terminal would: the demo's window on the channel.

Block Kit is turned back into lines a person reads: headers underlined,
sections and fields as text, buttons as ``[Label]``, links as their labels,
Slack's escaping undone. Only for display; tests assert on the record itself.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

from sim.world import World

_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<((?:https?|mailto):[^>]+)>")
_MENTION = re.compile(r"<[@#!]([^>|]+)(?:\|([^>]+))?>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
SHORT_URL = 120


def _link(match: re.Match[str]) -> str:
    url, label = match.group(1), match.group(2)
    return f"{label} ({url})" if len(url) <= SHORT_URL and label != url else label


def mrkdwn_to_text(text: str) -> str:
    text = _LINK.sub(_link, text)
    text = _BOLD.sub(lambda m: m.group(1), text)
    text = _BARE_LINK.sub(lambda m: m.group(1), text)
    text = _MENTION.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text_of(obj: dict[str, Any] | None) -> str:
    if not obj:
        return ""
    return mrkdwn_to_text(str(obj.get("text", "")))


def block_lines(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        title = _text_of(block.get("text"))
        return [title, "=" * min(len(title), 72)]
    if kind == "divider":
        return ["-" * 40]
    if kind == "section":
        lines = _text_of(block.get("text")).splitlines() if block.get("text") else []
        for item in block.get("fields") or []:
            lines.append("  ".join(part.strip() for part in _text_of(item).splitlines()))
        accessory = block.get("accessory")
        if accessory and accessory.get("type") == "button":
            lines.append(f"[{_text_of(accessory.get('text'))}]")
        return lines
    if kind == "context":
        return ["  " + "  ".join(_text_of(e) for e in block.get("elements") or [] if e.get("type") != "image")]
    if kind == "actions":
        buttons = [f"[{_text_of(e.get('text'))}]" for e in block.get("elements") or [] if e.get("type") == "button"]
        return [" ".join(buttons)] if buttons else []
    if kind == "rich_text":
        return [str(block)]
    return []


def message_lines(text: str, blocks: list[dict[str, Any]] | None, *, indent: str = "") -> list[str]:
    """The lines a reader sees: the blocks if any, else the text."""
    lines: list[str] = []
    if blocks:
        for block in blocks:
            lines.extend(block_lines(block))
    else:
        lines.extend(mrkdwn_to_text(text).splitlines())
    wrapped: list[str] = []
    for line in lines:
        if line.startswith("```") or len(line) <= 110:
            wrapped.append(indent + line)
        else:
            wrapped.extend(textwrap.wrap(line, 110, initial_indent=indent, subsequent_indent=indent + "  "))
    return wrapped


@dataclass
class ChannelWatcher:
    """Prints what is new in a channel: parents, thread replies and edits, in order."""

    world: World
    channel: str
    seen: dict[str, int] = field(default_factory=dict)  # ts -> number of versions shown
    replies_seen: dict[str, int] = field(default_factory=dict)  # parent ts -> replies shown

    def show_new(self) -> None:
        slack = self.world.slack
        for message in slack.messages(self.channel):
            versions = len(message.edits) + 1
            shown = self.seen.get(message.ts, 0)
            if shown == 0:
                print(f"\n#{self.channel}  {self._when()}  new alert")
                print("\n".join(message_lines(message.text, message.blocks, indent="  │ ")))
            elif versions > shown:
                print(f"\n#{self.channel}  {self._when()}  alert message edited to:")
                print("\n".join(message_lines(message.text, message.blocks, indent="  │ ")))
            self.seen[message.ts] = versions
            replies = slack.thread(self.channel, message.ts)
            for reply in replies[self.replies_seen.get(message.ts, 0):]:
                also = " (also sent to the channel)" if reply.broadcast else ""
                print(f"\n#{self.channel}  {self._when()}  in the thread of {_first_line(message)!r}{also}:")
                print("\n".join(message_lines(reply.text, reply.blocks, indent="  ├─ ")))
            self.replies_seen[message.ts] = len(replies)

    def _when(self) -> str:
        return self.world.clock.now().strftime("%H:%M")


def _first_line(message: Any) -> str:
    lines = message_lines(message.text, message.blocks)
    return (lines[0] if lines else message.text)[:60]
