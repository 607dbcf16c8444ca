"""RFC 3339 timestamps from any of the APIs, as aware UTC datetimes.

Kubernetes writes seconds with "Z", Compute milliseconds with an offset, GKE
and Cloud Logging nanoseconds: one parser for all of them, and None for an
absent or unreadable value rather than an exception in the middle of a list.
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
