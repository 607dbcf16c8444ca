"""metav1.Status bodies, the shape every Kubernetes client parses errors from.

Clients show ``message`` to people and branch on ``reason`` and ``code``
(kubectl prints "Error from server (NotFound): ..."), so these follow the
real server's wording closely.
"""

from __future__ import annotations

from typing import Any

from sim.kube.resources import Resource

SERVICE_ACCOUNT = "system:serviceaccount:k8s-chatops:k8s-chatops"

REASONS = {
    400: "BadRequest",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    500: "InternalError",
    503: "ServiceUnavailable",
}


class KubeError(Exception):
    """An API failure to answer as a Status; raised anywhere below the handlers."""

    def __init__(self, code: int, message: str, *, reason: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details

    def body(self) -> dict[str, Any]:
        return status(self.code, self.message, reason=self.reason, details=self.details)


def status(code: int, message: str, *, reason: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


def success(res: Resource, name: str) -> dict[str, Any]:
    """What a DELETE answers when the object is gone at once."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "group": res.group, "kind": res.plural},
    }


def not_found(res: Resource, name: str) -> KubeError:
    return KubeError(404, f'{res.qualified} "{name}" not found', details={"name": name, "group": res.group, "kind": res.plural})


def already_exists(res: Resource, name: str) -> KubeError:
    return KubeError(
        409,
        f'{res.qualified} "{name}" already exists',
        reason="AlreadyExists",
        details={"name": name, "group": res.group, "kind": res.plural},
    )


def conflict(res: Resource, name: str) -> KubeError:
    return KubeError(
        409,
        f'Operation cannot be fulfilled on {res.qualified} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        reason="Conflict",
        details={"name": name, "group": res.group, "kind": res.plural},
    )


def forbidden(
    res: Resource, verb: str, namespace: str | None, name: str | None = None, subresource: str | None = None, *, user: str = SERVICE_ACCOUNT
) -> KubeError:
    target = f"{res.plural}/{subresource}" if subresource else res.plural
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    subject = f'{res.qualified} "{name}"' if name else res.qualified
    message = (
        f'{subject} is forbidden: User "{user}" cannot {verb} resource "{target}" '
        f'in API group "{res.group}" {scope}'
    )
    details: dict[str, Any] = {"group": res.group, "kind": res.plural}
    if name:
        details["name"] = name
    return KubeError(403, message, details=details)


def expired(message: str) -> KubeError:
    return KubeError(410, message, reason="Expired")


def bad_request(message: str) -> KubeError:
    return KubeError(400, message)
