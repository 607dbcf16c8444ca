"""Slack's Socket Mode server side: hand out websocket URLs, greet, send envelopes, collect acks.

Socket Mode is how the bot runs without a public endpoint, so its ack timing
and reconnection are part of what the tests must see. The hub lives on the
simulated server's event loop; tests in other threads reach it through
``asyncio.run_coroutine_threadsafe`` (the sender does this for them).

The workspace owns its hub, so the hub does not import the workspace: it asks
only for what ``HubOwner`` names (the app id, the clock, and the condition
every recorded change notifies).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from sim.clock import SimClock
from sim.slack.records import EnvelopeRecord

SOCKET_HOST = "applink-sim-1"


class NoSocketConnection(RuntimeError):
    """No app is connected over Socket Mode, so Slack has nowhere to send the event."""


@dataclass
class _Connection:
    id: int
    socket: web.WebSocketResponse
    refresh_requested: bool = False
    sent_at: dict[str, float] = field(default_factory=dict)


class HubOwner(Protocol):
    """What the hub needs from the workspace that holds it (``SlackWorkspace`` provides it)."""

    app_id: str
    clock: SimClock
    changed: threading.Condition

    def notify(self) -> None:
        """Wake whoever waits on ``changed``."""


class SocketModeHub:
    """The Socket Mode endpoint of one app: live connections, sent envelopes, pending acks."""

    def __init__(self, workspace: HubOwner) -> None:
        self._workspace = workspace
        self._tickets: set[str] = set()
        self._connections: list[_Connection] = []
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._connected = asyncio.Event()
        self.envelopes: list[EnvelopeRecord] = []
        self.connections_opened = 0

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def unacked(self) -> list[EnvelopeRecord]:
        """Envelopes the app never acknowledged: Slack would retry them and show the user an error."""
        with self._workspace.changed:
            return [e for e in self.envelopes if not e.acked]

    def issue_url(self, host: str) -> str:
        """A one-use connection URL, as apps.connections.open returns (plain ws: the port is not 443)."""
        ticket = secrets.token_hex(8)
        self._tickets.add(ticket)
        return f"ws://{host}/link/?ticket={ticket}&app_id={self._workspace.app_id}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The ``/link/`` endpoint: one websocket per connected app instance."""
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid or used ticket")
        self._tickets.discard(ticket)
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        connection = _Connection(next(self._ids), socket)
        self._connections.append(connection)
        self.connections_opened += 1
        await socket.send_str(json.dumps(self._hello()))
        self._connected.set()
        await self._retire_refreshed()
        self._workspace.notify()
        try:
            async for frame in socket:
                if frame.type == WSMsgType.TEXT:
                    self._receive(frame.data)
        finally:
            self._connections.remove(connection)
            if not self._connections:
                self._connected.clear()
            self._workspace.notify()
        return socket

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self._connections),
            "debug_info": {"host": SOCKET_HOST, "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self._workspace.app_id},
        }

    def _receive(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        envelope_id = message.get("envelope_id")
        future = self._pending.pop(str(envelope_id), None)
        if future is not None and not future.done():
            future.set_result(message)

    async def deliver(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool,
        ack_timeout: float = 3.0,
        connect_timeout: float = 5.0,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> EnvelopeRecord:
        """Send one envelope to the newest connection and wait for its ack (recorded either way)."""
        connection = await self._pick_connection(connect_timeout)
        envelope_id = secrets.token_hex(16)
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }
        record = EnvelopeRecord(envelope_id, envelope_type, payload, self._workspace.clock.now())
        with self._workspace.changed:
            self.envelopes.append(record)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = future
        started = time.monotonic()
        await connection.socket.send_str(json.dumps(envelope))
        try:
            ack = await asyncio.wait_for(future, ack_timeout)
        except TimeoutError:
            self._pending.pop(envelope_id, None)
            self._workspace.notify()
            return record
        with self._workspace.changed:
            record.acked = True
            record.ack_seconds = time.monotonic() - started
            record.ack_payload = ack.get("payload")
            self._workspace.changed.notify_all()
        return record

    async def _pick_connection(self, connect_timeout: float) -> _Connection:
        try:
            await asyncio.wait_for(self._wait_for_usable(), connect_timeout)
        except TimeoutError:
            raise NoSocketConnection("no app is connected over Socket Mode") from None
        usable = [c for c in self._connections if not c.refresh_requested and not c.socket.closed]
        return usable[-1]

    async def _wait_for_usable(self) -> None:
        while not any(not c.refresh_requested and not c.socket.closed for c in self._connections):
            self._connected.clear()
            await self._connected.wait()

    async def request_refresh(self, reason: str = "refresh_requested") -> int:
        """Ask every connected app to reconnect, as Slack does every few hours; returns how many were asked."""
        asked = 0
        for connection in list(self._connections):
            if connection.socket.closed:
                continue
            connection.refresh_requested = True
            message = {"type": "disconnect", "reason": reason, "debug_info": {"host": SOCKET_HOST}}
            await connection.socket.send_str(json.dumps(message))
            asked += 1
        return asked

    async def _retire_refreshed(self) -> None:
        """Once the app has reconnected, Slack closes the connections it asked to refresh."""
        for connection in list(self._connections):
            if connection.refresh_requested and not connection.socket.closed:
                await connection.socket.close()

    async def close_all(self) -> None:
        """Close every connection (server shutdown or a test simulating a dropped link)."""
        for connection in list(self._connections):
            await connection.socket.close()
