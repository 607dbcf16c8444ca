"""Evidence for an incident's thread: what the bot read about it, and what it could not read.

An incident says what is wrong; its evidence is what an engineer would read
next (a VM's kube-proxy errors and console, the scheduler's words, a node's
conditions, the upgrade operation) gathered once when the incident opens, so
the thread starts with it instead of with a round of commands. This module
holds the plain values a gathering produces and ``Reads``, which runs the
reads of one gathering side by side under a time budget; the gatherers are in
``evidence_gatherers``, the rendering in ``evidence_render``.

Nothing is ever silently missing: every read that failed, or did not answer
within the budget, is named in ``Evidence.unread`` with the reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from bot.errors import ChatOpsError

log = logging.getLogger(__name__)

T = TypeVar("T")

READ_WORKERS = 4  # reads of one gathering in flight at once
# The incident event that records an incident's evidence: its text is the evidence as Markdown, so a
# restart (or the other replica) knows it was gathered, and the postmortem summary can quote it.
EVIDENCE_EVENT = "evidence"


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Excerpt:
    """Lines read from somewhere (a log, a console), shown verbatim in a code block."""

    label: str  # "kube-proxy errors (Cloud Logging, last 3h)"
    lines: tuple[str, ...]
    empty: str = "none"  # what to say when there are no lines
    shown: int = 6  # lines shown in Slack (the newest); the file has them all


@dataclass(frozen=True)
class Part:
    """Evidence about one subject: a VM, a node, a group of pending pods, an operation."""

    title: str
    facts: tuple[str, ...] = ()  # one line each, plain text
    excerpts: tuple[Excerpt, ...] = ()
    command: str = ""  # a command line to paste (the IAP SSH line), shown whole
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class Evidence:
    incident_id: int
    cluster: str
    kind: str
    title: str  # "Why 2 VMs did not register: one VM per zone"
    gathered_at: datetime
    took_seconds: float
    parts: tuple[Part, ...] = ()
    links: tuple[Link, ...] = ()  # about all of it (the Logs Explorer query for every VM)
    unread: tuple[str, ...] = ()  # "serial port of VM x: the Compute Engine API answered 403 ..."
    notes: tuple[str, ...] = ()  # "3 more nodes are NotReady; this shows the first 3"


@dataclass
class Pending(Generic[T]):
    """A read begun by ``Reads.start``."""

    what: str
    future: Future[T]


@dataclass
class Reads:
    """The reads of one gathering: run on a small pool, waited for until the budget is spent.

    ``start`` begins a read and ``result`` waits for it; a read that raised or
    did not finish in time gives None and is named in ``unread``. The pool is
    not waited for at the end: a read still running is bounded by its
    client's own timeout and its answer is dropped.
    """

    budget_seconds: float
    clock: Callable[[], float] = time.monotonic
    unread: list[str] = field(default_factory=list)
    _pool: ThreadPoolExecutor = field(init=False)
    _deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=READ_WORKERS, thread_name_prefix="evidence-read")
        self._deadline = self.clock() + self.budget_seconds

    def start(self, what: str, fetch: Callable[[], T]) -> Pending[T]:
        future: Future[T] = self._pool.submit(fetch)
        return Pending(what, future)

    def result(self, pending: Pending[T]) -> T | None:
        remaining = max(0.0, self._deadline - self.clock())
        try:
            return pending.future.result(timeout=remaining)
        except FutureTimeout:
            pending.future.cancel()
            self.unread.append(f"{pending.what}: no answer within the {self.budget_seconds:g} s budget")
        except ChatOpsError as exc:
            self.unread.append(f"{pending.what}: {exc}")
        except Exception as exc:  # a reader's bug must not cost the rest of the evidence
            log.warning("reading %s for evidence failed", pending.what, exc_info=True)
            self.unread.append(f"{pending.what}: {type(exc).__name__}: {exc}")
        return None

    def read(self, what: str, fetch: Callable[[], T]) -> T | None:
        """Start and wait for one read."""
        return self.result(self.start(what, fetch))

    def missing(self, what: str, why: str) -> None:
        """Something that cannot be read at all (not configured here): named like a failed read."""
        self.unread.append(f"{what}: {why}")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def one_line(text: Any) -> str:
    return " ".join(str(text).split())
