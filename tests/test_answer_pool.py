"""The answer pool shares its workers between clusters: one whose API hangs cannot hold them all."""

from __future__ import annotations

import threading
import time

from bot.slack.delivery import AnswerPool


def wait_for(condition, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_hanging_cluster_leaves_a_worker_for_the_others_and_its_backlog_waits_its_turn() -> None:
    pool = AnswerPool(workers=3, backlog=10)
    release = threading.Event()
    started: list[str] = []
    lock = threading.Lock()

    def answer(name: str, hang: bool):  # type: ignore[no-untyped-def]
        def run() -> None:
            with lock:
                started.append(name)
            if hang:
                release.wait(10)

        return run

    try:
        for i in range(5):
            assert pool.submit(answer(f"slow-{i}", hang=True), lane="slow")
        assert wait_for(lambda: len(started) == 2)
        time.sleep(0.1)  # room for a wrongly started third
        assert started == ["slow-0", "slow-1"], "a lane holds all workers but one"
        assert pool.submit(answer("fast-0", hang=False), lane="fast")
        assert pool.submit(answer("fast-1", hang=False), lane="fast")
        assert wait_for(lambda: {"fast-0", "fast-1"} <= set(started)), "the other cluster is answered meanwhile"
        assert set(started) == {"slow-0", "slow-1", "fast-0", "fast-1"}
        release.set()
        assert wait_for(lambda: len(started) == 7), "the hanging cluster's backlog runs once workers free up"
    finally:
        release.set()
        pool.shutdown()


def test_the_backlog_is_bounded_across_lanes_and_refusal_changes_nothing() -> None:
    pool = AnswerPool(workers=1, backlog=1)
    release = threading.Event()
    done: list[str] = []
    try:
        assert pool.submit(lambda: (release.wait(10), done.append("a")) and None, lane="a")
        assert pool.submit(lambda: done.append("b"), lane="b")
        assert not pool.has_room()
        assert not pool.submit(lambda: done.append("c"), lane="c"), "full: refused at once"
        release.set()
        assert wait_for(lambda: done == ["a", "b"])
        assert pool.has_room()
    finally:
        release.set()
        pool.shutdown()


def test_a_stopped_pool_takes_nothing() -> None:
    pool = AnswerPool(workers=2, backlog=2)
    pool.shutdown()
    assert not pool.has_room()
    assert not pool.submit(lambda: None, lane="x")
