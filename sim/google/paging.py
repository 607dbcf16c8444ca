"""Page tokens for the list calls, opaque to clients as Google's are.

A token is bound to the query that produced it, so a client that changes its
filter between pages gets 400 as from the real APIs instead of silently
skipping entries.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import TypeVar

from sim.google.errors import GoogleApiError

T = TypeVar("T")


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def page(items: Sequence[T], size: int, token: str | None, *, query: str) -> tuple[list[T], str | None]:
    """The page starting at ``token`` (None or "": the first) and the token of the next, if any."""
    start = _offset(token, query) if token else 0
    chunk = list(items[start : start + size])
    end = start + len(chunk)
    following = _encode(query, end) if end < len(items) else None
    return chunk, following


def _encode(query: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{query}:{offset}".encode()).decode().rstrip("=")


def _offset(token: str, query: str) -> int:
    try:
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        bound_to, offset = decoded.rsplit(":", 1)
        value = int(offset)
    except (ValueError, UnicodeDecodeError):
        raise GoogleApiError(400, "Invalid page token.") from None
    if bound_to != query or value < 0:
        raise GoogleApiError(400, "Invalid page token: it belongs to a different query.")
    return value
