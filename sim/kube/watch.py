"""Streaming watches: newline-delimited JSON events over a chunked response.

The store calls listeners from whichever thread changed it (the test thread,
a scenario's timeline); the listener only hands the change to the watch's
event loop, and the filtering and writing happen there. Selector semantics
follow the real server: an object that stops matching a watch's selector is
sent as DELETED, one that starts matching as ADDED.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
from aiohttp import web

from sim.kube.resources import Resource
from sim.kube.status import KubeError
from sim.kube.store import Change, KubeStore, View

Matcher = Callable[[View], bool]
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def event_line(kind: str, raw_object: bytes) -> bytes:
    return b'{"type":"' + kind.encode() + b'","object":' + raw_object + b"}\n"


def translate(change: Change, matches: Matcher, present: Callable[[Change], bytes] | None = None) -> tuple[str, bytes] | None:
    """The event this watcher sees for a change, or None when it concerns other objects."""
    now = matches(change.view)
    before = change.old is not None and matches(change.old)
    if change.type == "DELETED":
        kind = "DELETED" if now or before else None
    elif change.type == "MODIFIED" and before:
        kind = "MODIFIED" if now else "DELETED"
    else:
        kind = "ADDED" if now else None
    if kind is None:
        return None
    return kind, present(change) if present is not None else change.raw


def bookmark(res: Resource, rv: int, *, initial_end: bool = False) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {INITIAL_EVENTS_END: "true"}
    return event_line("BOOKMARK", orjson.dumps({"kind": res.kind, "apiVersion": res.api_version, "metadata": meta}))


async def serve_watch(
    request: web.Request,
    store: KubeStore,
    res: Resource,
    matches: Matcher,
    *,
    since: int | None,
    bookmarks: bool,
    send_initial_end: bool,
    timeout_seconds: float | None,
) -> web.StreamResponse:
    """Stream events until the timeout (real or simulated, whichever comes first) or disconnect.

    ``timeoutSeconds`` also counts on the simulated clock so a test can end a
    watch by advancing time instead of waiting; each clock move also sends a
    BOOKMARK when asked, standing in for the real server's periodic ones.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Change | str] = asyncio.Queue()

    def listener(message: Change | str) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, message)

    response = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache, private"})
    response.enable_chunked_encoding()
    try:
        handle, replay = store.watch(res.plural, since, listener)
    except KubeError as error:  # a compacted resourceVersion: the real server answers 200 + ERROR
        await response.prepare(request)
        await response.write(event_line("ERROR", orjson.dumps(error.body())))
        await response.write_eof()
        return response
    sim_deadline = store.clock.now() + timedelta(seconds=timeout_seconds) if timeout_seconds else None
    real_deadline = time.monotonic() + timeout_seconds if timeout_seconds else None
    try:
        await response.prepare(request)
        chunk = [line for line in (translate(change, matches, store.present) for change in replay) if line]
        if chunk:
            await response.write(b"".join(event_line(kind, raw) for kind, raw in chunk))
        if bookmarks and send_initial_end:
            await response.write(bookmark(res, store.resource_version, initial_end=True))
        while True:
            wait = None if real_deadline is None else real_deadline - time.monotonic()
            if wait is not None and wait <= 0:
                break
            try:
                message = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                break
            if message == "expired":
                gone = KubeError(410, "the watch cache was reset; re-list and watch again", reason="Expired")
                await response.write(event_line("ERROR", orjson.dumps(gone.body())))
                break
            if message == "tick":
                if sim_deadline is not None and store.clock.now() >= sim_deadline:
                    break
                if bookmarks:
                    await response.write(bookmark(res, store.resource_version))
                continue
            assert isinstance(message, Change)
            line = translate(message, matches, store.present)
            if line:
                await response.write(event_line(*line))
        await response.write_eof()
    except ConnectionResetError:  # the client went away; nothing to tell it
        pass
    finally:
        store.unwatch(handle)
    return response
