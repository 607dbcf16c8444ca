"""Reading Google timestamps, which carry up to nine fractional digits.

``datetime.fromisoformat`` stops at microseconds, and log filters compare
times, not strings, so both the log store and the filter parse through here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_RFC3339 = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[Tt ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<frac>\d{1,9}))?)?"
    r"(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?$"
)


def parse_timestamp(text: str) -> datetime | None:
    """An aware UTC datetime, or None when ``text`` is not a timestamp Google would accept."""
    match = _RFC3339.match(text.strip())
    if match is None:
        return None
    time = match["time"] or "00:00:00"
    if time.count(":") == 1:
        time += ":00"
    micros = (match["frac"] or "").ljust(6, "0")[:6]
    zone = match["zone"] or "Z"
    zone = "+00:00" if zone in ("Z", "z") else zone
    try:
        moment = datetime.fromisoformat(f"{match['date']}T{time}.{micros}{zone}")
    except ValueError:
        return None
    return moment.astimezone(UTC)
