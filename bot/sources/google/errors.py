"""Google API failures as the bot's errors, naming the IAM role that would fix a refusal.

The client libraries raise ``google.api_core`` exceptions for HTTP answers and
let ``requests`` and ``google.auth`` exceptions through for transport trouble;
all of them end up here so each reader shows one kind of sentence per cause.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from google.api_core import exceptions as api
from google.auth import exceptions as auth

from bot.errors import BadInput, ChatOpsError, Forbidden, NotFound, Unreachable

_REQUEST_PREFIX = re.compile(r"^[A-Z]+ \S+: ")

# Exceptions a reader catches and hands to ``translate``.
CAUGHT: tuple[type[BaseException], ...] = (
    api.GoogleAPIError,
    requests.RequestException,
    auth.TransportError,
    auth.RefreshError,
    OSError,
)


@contextmanager
def translated(*, service: str, role: str, missing: str = "") -> Iterator[None]:
    """Around a call: what the client library raises leaves as the bot's error, the library's trace dropped."""
    try:
        yield
    except CAUGHT as exc:
        raise translate(exc, service=service, role=role, missing=missing) from None


def translate(exc: BaseException, *, service: str, role: str, missing: str = "") -> ChatOpsError:
    """``service`` is how users know the API ("The GKE API"); ``role`` the read-only IAM role it needs."""
    if isinstance(exc, api.PermissionDenied | api.Forbidden | api.Unauthenticated | api.Unauthorized | auth.RefreshError):
        detail = _message(exc)
        return Forbidden(f"{service} refused the bot: {detail.rstrip('.')}. Grant its service account {role}.")
    if isinstance(exc, api.NotFound):
        if missing:
            return NotFound(f"{missing} was not found.")
        return NotFound(f"{service} found no such resource: {_message(exc)}")
    if isinstance(exc, api.InvalidArgument | api.BadRequest | api.FailedPrecondition):
        return BadInput(f"{service} rejected the request: {_message(exc)}")
    if isinstance(exc, api.TooManyRequests):
        return Unreachable(f"{service} is throttling the bot: {_message(exc)}", service=service, reason="throttled")
    if isinstance(exc, api.RetryError):
        cause = exc.cause if exc.cause is not None else exc
        reason = _message(cause)
        return Unreachable(f"{service} did not answer in time: {reason}", service=service, reason=reason)
    if isinstance(exc, api.DeadlineExceeded | requests.Timeout):
        return Unreachable(f"{service} did not answer in time.", service=service, reason="timed out")
    if isinstance(exc, api.GoogleAPICallError):
        reason = _message(exc)
        code = exc.code if exc.code is not None else "an error"
        return Unreachable(f"{service} answered {code}: {reason}", service=service, reason=reason)
    if isinstance(exc, requests.ConnectionError | auth.TransportError | OSError):
        return Unreachable(f"{service} could not be reached: {_short(exc)}.", service=service, reason="no connection")
    return Unreachable(f"{service} failed: {_short(exc)}.", service=service, reason=type(exc).__name__)


def _message(exc: BaseException) -> str:
    """The server's explanation, without the "GET https://...: " prefix the REST clients add."""
    if isinstance(exc, api.GoogleAPICallError) and exc.message:
        return _REQUEST_PREFIX.sub("", str(exc.message), count=1)
    return _short(exc)


def _short(exc: BaseException) -> str:
    """The first line of the exception, bounded: urllib3 reasons can run to a paragraph."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
