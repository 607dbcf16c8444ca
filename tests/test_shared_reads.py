"""Concurrent answers share one read: one request for a burst, never a remembered failure or a stale step."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import Unreachable
from bot.sources.shared import SharedReads


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class BotClock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment


def test_callers_arriving_while_a_read_is_in_flight_wait_for_it_instead_of_asking_again() -> None:
    shared = SharedReads(0.0)  # nothing remembered: only the flight is shared
    release = threading.Event()
    started = threading.Event()
    calls: list[int] = []

    def slow_read() -> list[str]:
        calls.append(1)
        started.set()
        release.wait(10)
        return ["vm-a", "vm-b"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        first = pool.submit(shared.get, "vms", slow_read)
        assert started.wait(10)
        others = [pool.submit(shared.get, "vms", slow_read) for _ in range(7)]
        deadline = time.monotonic() + 10
        while shared.stats["shared"] < 7 and time.monotonic() < deadline:  # all seven joined the flight
            time.sleep(0.01)
        release.set()
        answers = [first.result(10), *(f.result(10) for f in others)]
    assert calls == [1]
    assert all(answer == ["vm-a", "vm-b"] for answer in answers)
    assert shared.stats == {"reads": 1, "shared": 7}


def test_an_answer_is_reused_only_while_fresh_on_the_real_clock() -> None:
    ticks = Ticks()
    shared = SharedReads(1.0, monotonic=ticks)
    answers = iter(["first", "second"])
    assert shared.get("cluster", lambda: next(answers)) == "first"
    ticks.now += 0.5
    assert shared.get("cluster", lambda: next(answers)) == "first"
    ticks.now += 0.6
    assert shared.get("cluster", lambda: next(answers)) == "second"


def test_a_step_of_the_bots_clock_makes_a_remembered_answer_stale() -> None:
    """The simulated world moves minutes in milliseconds: an answer from before the step is not reused."""
    ticks, clock = Ticks(), BotClock()
    shared = SharedReads(1.0, clock=clock, monotonic=ticks)
    answers = iter(["before the upgrade", "during the upgrade"])
    assert shared.get("cluster", lambda: next(answers)) == "before the upgrade"
    clock.moment += timedelta(minutes=1)
    assert shared.get("cluster", lambda: next(answers)) == "during the upgrade"


def test_a_failure_reaches_the_callers_that_waited_but_the_next_caller_asks_again() -> None:
    shared = SharedReads(60.0)
    release = threading.Event()
    started = threading.Event()

    def failing_read() -> str:
        started.set()
        release.wait(10)
        raise Unreachable("The Kubernetes API did not answer.", service="Kubernetes")

    with ThreadPoolExecutor(max_workers=3) as pool:
        first = pool.submit(shared.get, "nodes", failing_read)
        assert started.wait(10)
        waiting = pool.submit(shared.get, "nodes", failing_read)
        release.set()
        for future in (first, waiting):
            with pytest.raises(Unreachable, match="did not answer"):
                future.result(10)
    assert shared.get("nodes", lambda: "back") == "back"


def test_different_keys_are_read_separately() -> None:
    shared = SharedReads(60.0)
    assert shared.get(("group-vms", ("a",)), lambda: "pool a") == "pool a"
    assert shared.get(("group-vms", ("b",)), lambda: "pool b") == "pool b"
    assert shared.stats["reads"] == 2
