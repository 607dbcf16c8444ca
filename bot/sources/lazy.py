"""A client built on first use.

Building a client may read a kubeconfig, look for Google credentials or probe
the metadata server; doing that at start-up would let one misconfigured
cluster stop the bot from serving the others. Each source therefore takes
either a ready client (tests) or a factory, and builds once, when first asked.
A factory that fails is tried again on the next request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

C = TypeVar("C")


class Lazy(Generic[C]):
    def __init__(self, value: C | Callable[[], C], kind: type[C]) -> None:
        self._lock = threading.Lock()
        if isinstance(value, kind):
            self._value: C | None = value
            self._build: Callable[[], C] | None = None
        else:
            self._value, self._build = None, value  # type: ignore[assignment]

    @property
    def built(self) -> bool:
        with self._lock:
            return self._value is not None

    def get(self) -> C:
        with self._lock:
            if self._value is None:
                assert self._build is not None
                self._value = self._build()
            return self._value
