"""Concurrent readers of the same thing share one request and, for a moment, its answer.

When a team opens Slack during an incident, fifty people may ask `/k8s nodes`
within seconds. Each answer needs the same GKE cluster and the same node-pool
VMs; asked separately, on a 5,000-node cluster the VM listings alone queue
for many seconds behind each other on a small machine. ``SharedReads`` lets
the first caller for a key do the read while later callers for the same key
wait for its result, and keeps a successful result for ``fresh_seconds`` so
that a burst spread over a few seconds still costs one read. A failure is
handed to the callers that waited for it but never kept: the next caller
asks again, because the API may be back.

What is read through here must tolerate an answer a second old; the check
cycles keep their own, longer-lived VM list (``snapshot``), and nothing that
writes goes through here. An answer is fresh on two clocks: the real one
(how long ago the request finished) and the bot's own, which the simulated
world moves by minutes in a test's milliseconds, so a remembered answer never
outlives a step of a scenario.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from bot.clock import Clock

T = TypeVar("T")

DEFAULT_FRESH_SECONDS = 1.0


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None
    finished_at: float = 0.0
    as_of: datetime | None = None  # the bot's clock when it finished


class SharedReads:
    """Single-flight reads with a short memory, keyed by what was asked."""

    def __init__(
        self,
        fresh_seconds: float = DEFAULT_FRESH_SECONDS,
        *,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fresh_seconds = fresh_seconds
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._flights: dict[Hashable, _Flight] = {}
        self.stats: dict[str, int] = {"reads": 0, "shared": 0}

    def get(self, key: Hashable, read: Callable[[], T]) -> T:
        """``read()``'s answer for ``key``: fresh from a call in flight or just finished, else read now."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None and (not flight.done.is_set() or self._fresh(flight)):
                self.stats["shared"] += 1
                leader = False
            else:
                flight = self._flights[key] = _Flight()
                self.stats["reads"] += 1
                leader = True
        if leader:
            try:
                flight.value = read()
            except BaseException as exc:
                flight.error = exc
                with self._lock:  # a failure is not remembered: the next caller tries again
                    if self._flights.get(key) is flight:
                        del self._flights[key]
            finally:
                flight.finished_at = self._monotonic()
                flight.as_of = self._clock.now() if self._clock is not None else None
                flight.done.set()
        else:
            flight.done.wait()
        if flight.error is not None:
            raise flight.error
        return flight.value  # type: ignore[no-any-return]

    def forget(self) -> None:
        """Drop what is remembered (calls in flight finish for their own waiters)."""
        with self._lock:
            self._flights = {k: f for k, f in self._flights.items() if not f.done.is_set()}

    def _fresh(self, flight: _Flight) -> bool:
        if flight.error is not None or self._monotonic() - flight.finished_at >= self.fresh_seconds:
            return False
        if self._clock is None or flight.as_of is None:
            return True
        return (self._clock.now() - flight.as_of).total_seconds() < self.fresh_seconds
