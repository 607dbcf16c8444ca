"""The Kubernetes client's failures as the bot's errors, each one sentence a user can act on.

The API server explains itself in a Status object (for a 403, exactly which
verb on which resource RBAC refused to whom); that message is kept, because
it is what an operator needs to fix the bot's role.

``ApiException`` is the library's, looked up on first use (``except
kube_errors.ApiException``): the reader and its cache can then be built, and
a command that reads no cluster can run, without importing the client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from bot.errors import KUBERNETES, BadInput, ChatOpsError, Forbidden, NotFound, Unreachable

if TYPE_CHECKING:
    from kubernetes.client.exceptions import ApiException as ApiException

SERVICE = KUBERNETES


def __getattr__(name: str) -> Any:
    if name == "ApiException":
        from kubernetes.client.exceptions import ApiException

        return ApiException
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def status_message(exc: ApiException) -> str:
    """The Status object's message, else the HTTP reason."""
    body = exc.body
    if body:
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            decoded = None
        if isinstance(decoded, dict) and decoded.get("message"):
            return str(decoded["message"])
    return str(exc.reason or f"HTTP {exc.status}")


def translate(exc: Exception, *, cluster: str, missing: str = "") -> ChatOpsError:
    """Map a client exception to a ``ChatOpsError``; ``missing`` names the object for a 404."""
    import urllib3
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, ApiException):
        return _from_status(exc, cluster=cluster, missing=missing)
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        reason = _connection_reason(exc)
        return Unreachable(
            f"The Kubernetes API of cluster {cluster} did not answer: {reason}.", service=SERVICE, reason=reason
        )
    if isinstance(exc, orjson.JSONDecodeError | ValueError):
        return Unreachable(
            f"The Kubernetes API of cluster {cluster} sent an answer that is not JSON.",
            service=SERVICE,
            reason="malformed answer",
        )
    raise exc


def _from_status(exc: ApiException, *, cluster: str, missing: str) -> ChatOpsError:
    code = exc.status or 0
    message = status_message(exc)
    if code == 0:  # the client's own wrapper around SSL and request-building failures
        return Unreachable(
            f"The Kubernetes API of cluster {cluster} did not answer: {message}.", service=SERVICE, reason=message
        )
    if code in (401, 403):
        return Forbidden(f"The Kubernetes API of cluster {cluster} refused the bot: {message}")
    if code == 404:
        what = missing or "The requested object"
        return NotFound(f"{what} was not found in cluster {cluster}.")
    if code in (400, 422):
        return BadInput(f"The Kubernetes API of cluster {cluster} rejected the request: {message}")
    if code == 410:
        return Unreachable(
            f"The Kubernetes API of cluster {cluster} expired the listing before it finished: {message}",
            service=SERVICE,
            reason="gone",
        )
    if code == 429:
        return Unreachable(
            f"The Kubernetes API of cluster {cluster} is throttling requests: {message}",
            service=SERVICE,
            reason="throttled",
        )
    return Unreachable(
        f"The Kubernetes API of cluster {cluster} answered {code}: {message}", service=SERVICE, reason=message
    )


def _connection_reason(exc: BaseException) -> str:
    """The innermost useful cause: urllib3 nests the real reason inside MaxRetryError."""
    import urllib3

    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        return _connection_reason(exc.reason)
    if isinstance(exc, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
        return "connection refused"  # checked first: urllib3 derives it from ConnectTimeoutError
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return "timed out"
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return "connection closed"
    return type(exc).__name__
