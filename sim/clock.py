"""A clock that only moves when told to.

Scenarios play out over simulated hours; tests and the demo advance this clock
instead of sleeping, and everything time-dependent in the world (timestamps,
operation progress, the scenario's timeline) reads it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

DEFAULT_START = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)

Listener = Callable[[datetime], None]


class SimClock:
    """Simulated UTC time, shared by the world and (injected) by the bot."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def on_advance(self, listener: Listener) -> None:
        """Call ``listener(now)`` after every move, e.g. to apply timeline steps."""
        with self._lock:
            self._listeners.append(listener)

    def advance(self, seconds: float = 0.0, *, to: datetime | None = None) -> datetime:
        """Move forward by ``seconds`` (or to ``to``), then notify listeners."""
        with self._lock:
            target = to.astimezone(UTC) if to is not None else self._now + timedelta(seconds=seconds)
            if target < self._now:
                raise ValueError("the simulated clock never goes backwards")
            self._now = target
            listeners = list(self._listeners)
        for listener in listeners:
            listener(target)
        return target


def rfc3339(moment: datetime) -> str:
    """Kubernetes-style timestamp (second precision, Z suffix)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nanos(moment: datetime) -> str:
    """Google-style timestamp with fractional seconds, as Cloud Logging returns it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
