"""Threads for answers, apart from the threads that acknowledge.

Slack drops a request that is not acknowledged within 3 seconds. Bolt's lazy
listeners share one small executor with the acknowledgements, so a burst of
slow answers (``nodes`` on a cluster of thousands) made new requests wait
behind them until Slack gave up. Answers run here instead, a few at a time;
the rest wait in a bounded backlog (a response_url stays usable for 30
minutes), and past that the request is refused at once with a sentence
rather than queued without end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

BUSY_TEXT = "The bot is busy answering other requests; try again in a minute."


class AnswerPool:
    def __init__(self, workers: int, backlog: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="answer")
        self._capacity = workers + backlog
        self._taken = 0
        self._lock = threading.Lock()

    def has_room(self) -> bool:
        """Whether ``submit`` would take work now (for an ack that says "busy" instead)."""
        with self._lock:
            return self._taken < self._capacity

    def submit(self, work: Callable[[], None]) -> bool:
        """Start ``work`` soon; False (and nothing started) when the backlog is full or the pool stopped."""
        with self._lock:
            if self._taken >= self._capacity:
                log.warning("answer backlog full; refusing a request")
                return False
            self._taken += 1

        def run() -> None:
            try:
                work()
            except Exception:  # an escaped exception would only vanish into the thread
                log.exception("answering a Slack request failed")
            finally:
                self._release()

        try:
            self._executor.submit(run)
        except RuntimeError:  # shut down: the bot is stopping
            self._release()
            return False
        return True

    def _release(self) -> None:
        with self._lock:
            self._taken -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
