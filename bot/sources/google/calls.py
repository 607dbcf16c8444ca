"""How a reader calls a Google API: within the cluster's timeout, under the one retry policy, counted, and
with every failure turned into a sentence that names the API and the IAM role it needs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from google.api_core.retry import Retry

from bot.sources.google import errors

T = TypeVar("T")


class GoogleCalls:
    """One reader's calls to one API; ``stats`` counts the requests, pages after the first included."""

    def __init__(self, service: str, role: str, *, timeout_seconds: float, retry: Retry | None) -> None:
        """``retry`` None means a single attempt; the readers' factories pass ``bounded_retry``."""
        self.service = service
        self.role = role
        self.options: dict[str, Any] = {"timeout": timeout_seconds, "retry": retry}  # what each client method takes
        self.stats: dict[str, int] = {"requests": 0}
        self._lock = threading.Lock()

    def __call__(self, request: Callable[[], T], *, missing: str = "", role: str | None = None) -> T:
        """``request()`` as one counted request; ``missing`` names what a 404 means, ``role`` overrides the API's."""
        self.count()
        with self.translated(missing=missing, role=role):
            return request()

    def count(self) -> None:
        with self._lock:
            self.stats["requests"] += 1

    def translated(self, *, missing: str = "", role: str | None = None) -> AbstractContextManager[None]:
        return errors.translated(service=self.service, role=role or self.role, missing=missing)
