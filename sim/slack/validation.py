"""Slack's limits on message content, checked the way Slack checks them.

The bot's renderers must respect Slack's limits (50 blocks, 3000 characters a
section, ...); a simulation that accepted anything would let a too-long answer
pass every test and fail in production. Each rule answers with the error code
Slack uses and a detail pointing at the offending block, as Slack's
``response_metadata.messages`` does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ID = 255

KNOWN_BLOCK_TYPES = frozenset(
    {"section", "header", "divider", "context", "actions", "image", "rich_text", "input", "file", "video", "markdown"}
)
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})


class ContentError(Exception):
    """Content Slack refuses: ``code`` is the API error, ``details`` Slack's explanations."""

    def __init__(self, code: str, details: list[str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.details = details or []


@dataclass
class _Problems:
    found: list[str] = field(default_factory=list)

    def add(self, message: str, pointer: str) -> None:
        self.found.append(f"{message} [json-pointer:{pointer}]")


def parse_blocks(raw: Any) -> list[dict[str, Any]] | None:
    """Blocks as sent (a JSON string in form posts, a list in JSON posts), or None when absent."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ContentError("invalid_blocks_format", [str(exc)]) from None
    if not isinstance(raw, list):
        raise ContentError("invalid_blocks_format", ["blocks must be an array"])
    return raw


def check_message(text: Any, blocks: list[dict[str, Any]] | None, *, attachments: Any = None) -> None:
    """Raise ``ContentError`` when Slack would refuse this message content."""
    if text is not None and not isinstance(text, str):
        text = str(text)
    if not text and not blocks and not attachments:
        raise ContentError("no_text")
    if text and len(text) > MAX_TEXT:
        raise ContentError("msg_too_long")
    if blocks:
        problems = block_problems(blocks)
        if problems:
            raise ContentError("invalid_blocks", problems)


def block_problems(blocks: list[Any]) -> list[str]:
    """Every rule the blocks break, empty when Slack would accept them."""
    problems = _Problems()
    if len(blocks) > MAX_BLOCKS:
        problems.add(f"must contain at most {MAX_BLOCKS} items", "/blocks")
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        pointer = f"/blocks/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.add("must be an object with a type", pointer)
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > MAX_ID:
                problems.add(f"block_id must be a string of at most {MAX_ID} characters", f"{pointer}/block_id")
            elif block_id in seen_ids:
                problems.add("duplicate block_id", f"{pointer}/block_id")
            else:
                seen_ids.add(block_id)
        kind = block["type"]
        if kind not in KNOWN_BLOCK_TYPES:
            problems.add(f"unknown block type {kind!r}", f"{pointer}/type")
        elif kind == "section":
            _check_section(block, pointer, problems)
        elif kind == "header":
            _check_text(block.get("text"), pointer + "/text", problems, limit=MAX_HEADER_TEXT, plain_only=True)
        elif kind == "context":
            _check_context(block, pointer, problems)
        elif kind == "actions":
            _check_actions(block, pointer, problems)
    return problems.found


def _check_text(obj: Any, pointer: str, problems: _Problems, *, limit: int, plain_only: bool = False) -> None:
    if not isinstance(obj, dict):
        problems.add("must be a text object", pointer)
        return
    allowed = {"plain_text"} if plain_only else TEXT_TYPES
    if obj.get("type") not in allowed:
        problems.add(f"type must be one of {sorted(allowed)}", pointer + "/type")
    value = obj.get("text")
    if not isinstance(value, str) or not value:
        problems.add("must be more than 0 characters", pointer + "/text")
    elif len(value) > limit:
        problems.add(f"must be less than {limit + 1} characters", pointer + "/text")


def _check_section(block: dict[str, Any], pointer: str, problems: _Problems) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        problems.add("a section needs text or fields", pointer)
    if text is not None:
        _check_text(text, pointer + "/text", problems, limit=MAX_SECTION_TEXT)
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > MAX_SECTION_FIELDS:
            problems.add(f"must contain at most {MAX_SECTION_FIELDS} items", pointer + "/fields")
        else:
            for index, item in enumerate(fields):
                _check_text(item, f"{pointer}/fields/{index}", problems, limit=MAX_FIELD_TEXT)
    accessory = block.get("accessory")
    if accessory is not None:
        _check_element(accessory, pointer + "/accessory", problems)


def _check_context(block: dict[str, Any], pointer: str, problems: _Problems) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= MAX_CONTEXT_ELEMENTS:
        problems.add(f"must contain between 1 and {MAX_CONTEXT_ELEMENTS} items", pointer + "/elements")
        return
    for index, element in enumerate(elements):
        if isinstance(element, dict) and element.get("type") == "image":
            continue
        _check_text(element, f"{pointer}/elements/{index}", problems, limit=MAX_SECTION_TEXT)


def _check_actions(block: dict[str, Any], pointer: str, problems: _Problems) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= MAX_ACTIONS_ELEMENTS:
        problems.add(f"must contain between 1 and {MAX_ACTIONS_ELEMENTS} items", pointer + "/elements")
        return
    seen: set[str] = set()
    for index, element in enumerate(elements):
        element_pointer = f"{pointer}/elements/{index}"
        _check_element(element, element_pointer, problems)
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if isinstance(action_id, str):
            if action_id in seen:
                problems.add("duplicate action_id", element_pointer + "/action_id")
            seen.add(action_id)


def _check_element(element: Any, pointer: str, problems: _Problems) -> None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        problems.add("must be an element object with a type", pointer)
        return
    action_id = element.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or len(action_id) > MAX_ID):
        problems.add(f"must be less than {MAX_ID + 1} characters", pointer + "/action_id")
    if element["type"] == "button":
        _check_text(element.get("text"), pointer + "/text", problems, limit=MAX_BUTTON_TEXT, plain_only=True)
        value = element.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > MAX_BUTTON_VALUE):
            problems.add(f"must be less than {MAX_BUTTON_VALUE + 1} characters", pointer + "/value")
        style = element.get("style")
        if style is not None and style not in ("primary", "danger"):
            problems.add("style must be primary or danger", pointer + "/style")
