"""RFC 3339 timestamps from any of the APIs, as aware UTC datetimes.

Kubernetes writes seconds with "Z", Compute milliseconds with an offset, GKE
and Cloud Logging nanoseconds: one parser for all of them, and None for an
absent or unreadable value rather than an exception in the middle of a list.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return _parse(text)


@lru_cache(maxsize=8192)
def _parse(text: str) -> datetime | None:
    """Cached: a node list repeats the same few instants thousands of times (every condition's
    heartbeat from one kubelet update, transitions at boot), and datetimes are immutable."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)
