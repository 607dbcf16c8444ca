"""A client built on first use.

Building a client may read a kubeconfig, look for Google credentials or probe
the metadata server; doing that at start-up would let one misconfigured
cluster stop the bot from serving the others. Each source therefore takes
either a ready client (tests) or a factory, and builds once, when first asked.
A factory that fails is tried again on the next request.

Without ``kind`` a plain function (a lambda, a method, a partial) is taken as
the factory and anything else as the ready client, so a source whose client
library is heavy need not import it to tell the two apart.
"""

from __future__ import annotations

import functools
import threading
import types
from collections.abc import Callable
from typing import Generic, TypeVar, cast

C = TypeVar("C")

_FACTORIES = (types.FunctionType, types.MethodType, types.BuiltinFunctionType, functools.partial)


class Lazy(Generic[C]):
    def __init__(self, value: C | Callable[[], C], kind: type[C] | None = None) -> None:
        self._lock = threading.Lock()
        ready = isinstance(value, kind) if kind is not None else not isinstance(value, _FACTORIES)
        if ready:
            self._value: C | None = cast(C, value)
            self._build: Callable[[], C] | None = None
        else:
            self._value, self._build = None, cast(Callable[[], C], value)

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
