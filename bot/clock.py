"""Where the bot's notion of "now" comes from.

Grace periods, durations and "since" lines all depend on the time. The bot
reads it from an injected clock so that the simulated world can run a
scenario's hours in a test's milliseconds; in production it is the system
clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
