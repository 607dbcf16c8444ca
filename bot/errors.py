"""One error hierarchy for everything a user can be told went wrong.

Sources raise these (translated from the client libraries' exceptions), the
command layer raises ``BadInput``; the Slack layer turns each into one clear
sentence. Anything else is a bug: it is logged with its trace and the user
gets a short apology with a reference, never the trace itself.
"""

from __future__ import annotations


class ChatOpsError(Exception):
    """Base: ``str(error)`` is a complete sentence fit to show a user."""

    kind = "error"


class BadInput(ChatOpsError):
    """The command line or payload is wrong; ``usage`` says how to write it."""

    kind = "bad_input"

    def __init__(self, message: str, *, usage: str | None = None) -> None:
        super().__init__(message)
        self.usage = usage


class NotFound(ChatOpsError):
    """The named object does not exist (in that cluster, namespace, zone...)."""

    kind = "not_found"


class Forbidden(ChatOpsError):
    """RBAC, IAM or the bot's own access rules refuse this."""

    kind = "forbidden"


# What ``Unreachable.service`` names when the Kubernetes API is the one that did not answer.
KUBERNETES = "kubernetes"


class Unreachable(ChatOpsError):
    """An API did not answer, or answered 5xx; ``reason`` says what is known."""

    kind = "unreachable"

    def __init__(self, message: str, *, service: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.service = service
        self.reason = reason


class NotConfigured(ChatOpsError):
    """The feature needs configuration this cluster lacks (e.g. GKE, Cloud Logging)."""

    kind = "not_configured"
