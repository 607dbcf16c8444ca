"""The simulated Slack server: Web API, file uploads, response_urls and Socket Mode on one app.

Web API calls are authenticated, rate limited and answered the way Slack does
(HTTP 200 with ``ok``/``error``, 429 with ``Retry-After``), and every call,
failed ones included, is recorded so a test can count retries.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from sim.slack.methods import APP_METHODS, BOT_METHODS, CallContext, Method
from sim.slack.records import ApiCall
from sim.slack.response_urls import ResponseUrlEndpoint
from sim.slack.validation import ContentError
from sim.slack.workspace import SlackError
from sim.world import World

MAX_BODY = 50 * 1024 * 1024
_SERVER_ERRORS = {500: "internal_error", 502: "bad_gateway", 503: "service_unavailable", 504: "request_timeout"}


async def read_args(request: web.Request) -> dict[str, Any]:
    """Arguments from the query string and a form or JSON body, as Slack merges them."""
    args: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return args
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.text())
        except ValueError:
            body = None
        if isinstance(body, dict):
            args.update(body)
        else:
            args["__invalid_json__"] = True
    else:
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    return args


def bearer_token(request: web.Request, args: dict[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    token = args.pop("token", None)
    return str(token) if token else None


class WebApi:
    """``/api/{method}``: faults, then authentication, then the method; all recorded."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._workspace = world.slack
        self._stopping: asyncio.Event | None = None  # made on the server's loop, set when it shuts down

    async def release_held(self) -> None:
        """Answer every held-back call now (the server is stopping)."""
        self._held().set()

    def _held(self) -> asyncio.Event:
        if self._stopping is None:
            self._stopping = asyncio.Event()
        return self._stopping

    async def _wait(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._held().wait(), seconds)
        except TimeoutError:
            pass

    async def handle(self, request: web.Request) -> web.Response:
        method_name = request.match_info["method"]
        args = await read_args(request)
        token = bearer_token(request, args)
        faults = self._world.faults
        with self._world.lock:
            stalled = faults.take_one(faults.slack_stalls, method_name)
            stall_seconds = faults.slack_stall_seconds
        if stalled:  # no answer in time: the caller times out; nothing was carried out
            await self._wait(stall_seconds)
            body = {"ok": False, "error": "request_timeout"}
            self._workspace.record_call(ApiCall(method_name, args, 504, body, self._world.clock.now(), answered=False))
            return web.json_response(body, status=504)
        status, body, headers = self._answer(method_name, args, token, request.host)
        accepted = status == 200 and bool(body.get("ok"))
        with self._world.lock:
            drop = accepted and faults.take_one(faults.slack_drop_after_accept, method_name)
            hold = accepted and not drop and faults.take_one(faults.slack_hold_after_accept, method_name)
            hold_seconds = faults.slack_hold_seconds
        now = self._world.clock.now()
        self._workspace.record_call(ApiCall(method_name, args, status, body, now, answered=not (drop or hold)))
        if drop:  # carried out, and the connection closes before the answer: the caller cannot tell
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)  # written nowhere: the connection is gone
        if hold:
            await self._wait(hold_seconds)
        return web.json_response(body, status=status, headers=headers)

    def _answer(
        self, method_name: str, args: dict[str, Any], token: str | None, host: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        faults = self._world.faults
        with self._world.lock:
            if faults.slack_rate_limited > 0:
                faults.slack_rate_limited -= 1
                retry_after = str(faults.slack_retry_after)
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": retry_after}
            if faults.slack_server_errors > 0:
                faults.slack_server_errors -= 1
                return 503, {"ok": False, "error": "service_unavailable"}, {}
            method_status = faults.take(faults.slack_method_errors.get(method_name, []))
            if method_status == 429:
                retry_after = str(faults.slack_retry_after)
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": retry_after}
            if method_status is not None:
                return method_status, {"ok": False, "error": _SERVER_ERRORS.get(method_status, "internal_error")}, {}
        if args.pop("__invalid_json__", False):
            return 200, {"ok": False, "error": "invalid_json"}, {}
        method, error = self._authorize(method_name, token)
        if method is None:
            return 200, {"ok": False, "error": error}, {}
        try:
            result = method(CallContext(self._workspace, host), args)
        except (SlackError, ContentError) as exc:
            body: dict[str, Any] = {"ok": False, "error": exc.code}
            if exc.details:
                body["errors"] = exc.details
                body["response_metadata"] = {"messages": [f"[ERROR] {d}" for d in exc.details]}
            return 200, body, {}
        return 200, {"ok": True, **result}, {}

    def _authorize(self, method_name: str, token: str | None) -> tuple[Method | None, str]:
        ws = self._workspace
        if method_name in BOT_METHODS:
            method, wanted, other = BOT_METHODS[method_name], ws.bot_token, ws.app_token
        elif method_name in APP_METHODS:
            method, wanted, other = APP_METHODS[method_name], ws.app_token, ws.bot_token
        else:
            return None, "unknown_method"
        if not token:
            return None, "not_authed"
        if token == other:
            return None, "not_allowed_token_type"
        if token != wanted:
            return None, "invalid_auth"
        return method, ""


async def upload(request: web.Request) -> web.Response:
    """The upload URL files.getUploadURLExternal hands out: raw bytes or a multipart form."""
    workspace = request.app[WORKSPACE_KEY]
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        part = await reader.next()
        content = await part.read() if part is not None else b""  # type: ignore[union-attr]
    else:
        content = await request.read()
    try:
        workspace.store_upload(request.match_info["file_id"], bytes(content))
    except SlackError:
        return web.Response(status=404, text="file_not_found")
    return web.Response(text=f"OK - {len(content)}")


WORKSPACE_KEY: web.AppKey[Any] = web.AppKey("slack_workspace", object)


def build_app(world: World) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[WORKSPACE_KEY] = world.slack
    web_api = WebApi(world)
    responses = ResponseUrlEndpoint(world.slack)
    app.router.add_route("POST", "/api/{method}", web_api.handle)
    app.router.add_route("GET", "/api/{method}", web_api.handle)
    app.router.add_post("/upload/{file_id}", upload)
    app.router.add_post("/response/{url_id}", responses.handle)
    app.router.add_get("/link/", world.slack.socket.handle)

    async def close_sockets(_: web.Application) -> None:
        await web_api.release_held()
        await world.slack.socket.close_all()

    app.on_shutdown.append(close_sockets)
    return app
