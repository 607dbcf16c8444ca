"""Google's JSON error shape, and the fault injection every simulated Google API shares.

The client libraries choose their exception class from the HTTP status and
show the ``error.message`` text, so answering with exactly this shape is what
makes a simulated 503 raise ``ServiceUnavailable`` in the bot, like the cloud.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from sim.world import World

# HTTP status -> (canonical status name, legacy "reason" as in the errors[] list).
_CANONICAL: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "badRequest"),
    401: ("UNAUTHENTICATED", "authError"),
    403: ("PERMISSION_DENIED", "forbidden"),
    404: ("NOT_FOUND", "notFound"),
    409: ("ALREADY_EXISTS", "conflict"),
    429: ("RESOURCE_EXHAUSTED", "rateLimitExceeded"),
    500: ("INTERNAL", "backendError"),
    501: ("UNIMPLEMENTED", "notImplemented"),
    503: ("UNAVAILABLE", "backendError"),
    504: ("DEADLINE_EXCEEDED", "deadlineExceeded"),
}

_INJECTED_MESSAGES: dict[int, str] = {
    429: "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'.",
    403: "The caller does not have permission",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
    504: "The request timed out.",
}


class GoogleApiError(Exception):
    """Raised by a handler to answer with Google's error JSON instead of a result."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_body(code: int, message: str) -> dict[str, object]:
    status, reason = _CANONICAL.get(code, ("UNKNOWN", "unknown"))
    return {
        "error": {
            "code": code,
            "message": message,
            "status": status,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
        }
    }


def error_response(code: int, message: str) -> web.Response:
    return web.json_response(error_body(code, message), status=code)


FaultQueue = Callable[[World], list[int]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def google_middleware(
    world: World, fault_queue: FaultQueue, *, exempt: tuple[str, ...] = ()
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Answer an injected fault before the handler runs, and turn ``GoogleApiError`` into JSON.

    Faults are consumed one request at a time so a test can script "503, then
    success" and watch the bot retry; paths under ``exempt`` (helpers that are
    not the API itself) never consume one.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        code = None
        if not (exempt and request.path.startswith(exempt)):
            with world.lock:
                code = world.faults.take(fault_queue(world))
        if code is not None:
            return error_response(code, _INJECTED_MESSAGES.get(code, f"Injected error {code}."))
        try:
            return await handler(request)
        except GoogleApiError as exc:
            return error_response(exc.code, exc.message)
        except web.HTTPNotFound:
            return error_response(404, f"The requested URL {request.path} was not found on this server.")
        except web.HTTPMethodNotAllowed:
            return error_response(405, f"Method {request.method} is not allowed for {request.path}.")

    return middleware
